/** Reads an event log written by the recorder and replays it through the core. */
import { readFile } from "node:fs/promises";
import * as E from "fp-ts/lib/Either.js";
import { parseLog, replay, type Command, type LogStep } from "@c8ylink/core";
import { expect } from "vitest";

export interface ReplayCheck {
  readonly steps: readonly LogStep[];
  readonly commands: readonly Command[];
}

/** Asserts: no unreadable line, a header, and zero divergence over every step. */
export const expectReplays = async (path: string): Promise<ReplayCheck> => {
  const log = parseLog(await readFile(path, "utf8"));
  expect(log.problems).toEqual([]);
  expect(log.header).not.toBeNull();
  if (log.header === null) throw new Error("no header");
  const result = replay(log.header, log.steps);
  if (E.isLeft(result)) throw new Error(result.left);
  const d = result.right.divergence;
  if (d !== null) {
    throw new Error(
      `replay diverged at seq ${d.seq} (${d.event.type}):\nrecorded ${JSON.stringify(d.recorded)}\nreplayed ${JSON.stringify(d.replayed)}`,
    );
  }
  expect(result.right.steps).toBe(log.steps.length);
  expect(log.steps.map((s) => s.seq)).toEqual(log.steps.map((_, i) => i + 1));
  return { steps: log.steps, commands: log.steps.flatMap((s) => s.commands) };
};
