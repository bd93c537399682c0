/**
 * Operations by id, as a property over FRESH worlds: every run of `npm test` draws new seeds
 * (no fixed fast-check seed), so over time the suite explores worlds nobody picked. In by-id
 * mode nothing is a known issue: any violation — an operation executed twice, a result on the
 * wrong operation, an operation left open, a `c8y_Restart` stuck EXECUTING, a broken law of
 * the core — fails the world. A failure prints the world's seed and the command that
 * reproduces it exactly.
 */
import { afterAll, describe, expect } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { explain, reproduceCommand, runWorld } from "../src/index.js";

const totals = { worlds: 0, messages: 0, operations: 0, crashes: 0, faultKinds: 0 };

afterAll(() => {
  if (totals.worlds === 0) return; // filtered run
  // Coverage guard: fresh swarms must still reach operations, crashes and several faults.
  expect(totals.messages).toBeGreaterThan(totals.worlds * 20);
  expect(totals.operations).toBeGreaterThan(totals.worlds * 3);
  expect(totals.crashes).toBeGreaterThan(totals.worlds / 2);
  expect(totals.faultKinds / totals.worlds).toBeGreaterThan(3);
});

describe("by-id worlds, fresh seeds every run", () => {
  test.prop(
    [
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 30, max: 150 }).map((s) => s * 1000),
    ],
    // 75 fresh worlds a run (was 150): the seeds are new every run, so the worlds explored
    // add up over runs; 75 keep the coverage guard above meaningful in one run.
    { numRuns: 75 },
  )("keep every invariant through a swarm of faults, with no tolerance", (seed, devices, faultMs) => {
    const r = runWorld({ seed, devices, faultMs, healMs: 300_000, operationsMode: "by-id" });
    totals.worlds++;
    totals.messages += r.messages.accepted;
    totals.operations += r.operations.created;
    totals.crashes += r.stats["crashes"] ?? 0;
    totals.faultKinds += r.faults === "none" ? 0 : r.faults.split(" ").length;
    const fault = faultMs === 120_000 ? "" : ` --fault-ms ${faultMs}`;
    const why = `${explain(r)}\nreproduce: ${reproduceCommand(r, fault)}`;
    expect(r.rules, why).toBe("by-id");
    expect(r.ok, why).toBe(true);
    expect(r.knownIssues, why).toEqual([]);
    expect(r.drainedAtMs, why).not.toBeNull();
    expect(r.operations.open, why).toBe(0);
  });
});
