/** docs/event-log.md shows real output: its examples are regenerated here and must match. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  decodeConfig,
  initialState,
  makeLogHeader,
  makeLogStep,
  parseLog,
  replay,
  step,
  type Event,
} from "@c8ylink/core";

const doc = readFileSync(fileURLToPath(new URL("../../../docs/event-log.md", import.meta.url)), "utf8");
const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? "null") as unknown);

describe("event log documentation", () => {
  const input = { deviceId: "dev1", auth: { mode: "bootstrap", bootstrapPassword: "s3cret" }, seed: 42 };
  const config = decodeConfig(input);
  if (E.isLeft(config)) throw new Error("example config must decode");
  const header = makeLogHeader(input, "0.1.0", 42);
  const event: Event = { type: "start", nowMs: 0, durable: {} };
  const first = makeLogStep(0, event, step(initialState(config.right), event).commands);

  it("shows the header the engine writes for the example configuration", () => {
    expect(blocks[0]).toEqual(header);
  });

  it("shows the first step the engine writes", () => {
    expect(blocks[1]).toEqual(JSON.parse(JSON.stringify(first)));
  });

  it("the documented lines parse and replay without divergence, and the secret is not in them", () => {
    const text = [JSON.stringify(blocks[0]), JSON.stringify(blocks[1])].join("\n");
    expect(text).not.toContain("s3cret");
    const parsed = parseLog(text);
    expect(parsed.problems).toEqual([]);
    const result = replay(parsed.header!, parsed.steps);
    expect(E.isRight(result) && result.right.divergence).toBeNull();
  });

  it("reports corrupt and truncated lines with their numbers instead of failing", () => {
    const text = [
      JSON.stringify(blocks[0]),
      JSON.stringify(blocks[1]),
      '{"kind":"step","seq":1,"ev',
      "[]",
    ].join("\n");
    const parsed = parseLog(text);
    expect(parsed.steps).toHaveLength(1);
    expect(parsed.problems.map((p) => p.line)).toEqual([3, 4]);
  });
});
