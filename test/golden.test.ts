/**
 * Golden behaviour: pinned before the lifecycle and the world were split into modules, so a
 * refactor that claims to change nothing can prove it.
 * - Fake worlds (swarm faults, fault-free, 1–10 devices, certificate auth): each seed's trace
 *   hash equals the pinned one. Re-pin with `npm run golden:record` only for a change meant
 *   to alter behaviour, and say so in its commit.
 * - Event logs recorded from the demo and the integration tests replay with zero divergence.
 */
import { readFileSync, readdirSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { parseLog, replay } from "@c8ylink/core";
import { runWorld, type WorldOptions } from "@c8ylink/fake";
import { GOLDEN_WORLDS } from "./golden/worlds.js";

const here = fileURLToPath(new URL("./golden/", import.meta.url));
const pinned = JSON.parse(readFileSync(join(here, "worlds.golden.json"), "utf8")) as {
  options: WorldOptions;
  traceHash: string;
}[];

describe("golden fake worlds", () => {
  it("pins every world of the list", () => {
    expect(pinned.map((p) => p.options)).toEqual(GOLDEN_WORLDS);
  });
  it.each(pinned.map((p) => [JSON.stringify(p.options), p] as const))("%s keeps its trace hash", (_, p) => {
    expect(runWorld(p.options).traceHash).toBe(p.traceHash);
  });
});

describe("golden event logs", () => {
  const logs = readdirSync(join(here, "logs")).filter((f) => f.endsWith(".jsonl.gz"));
  it("has the recorded logs", () => {
    expect(logs.length).toBeGreaterThanOrEqual(10);
  });
  it.each(logs)("%s replays with zero divergence", (name) => {
    const parsed = parseLog(gunzipSync(readFileSync(join(here, "logs", name))).toString("utf8"));
    expect(parsed.problems).toEqual([]);
    expect(parsed.header).not.toBeNull();
    if (parsed.header === null) return;
    const result = replay(parsed.header, parsed.steps);
    if (E.isLeft(result)) throw new Error(result.left);
    expect(result.right.divergence?.seq ?? null).toBeNull();
    expect(result.right.steps).toBe(parsed.steps.length);
    expect(result.right.steps).toBeGreaterThan(5);
  });
});
