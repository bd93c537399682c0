/**
 * The 600-world swarm property of world.properties.test.ts, shared by its shards: the same
 * fixed-seed sequence of 600 worlds (seed, devices, fault phase) is generated in every shard,
 * and shard k of n runs the worlds whose seed is k modulo n. The shards together run exactly
 * the 600 worlds of the single property they replace, in parallel test files (vitest runs
 * files, not tests, in parallel). Each shard bounds its own known-issue count.
 *
 * The static-mode regression (id-less `s/ds` operations): for any seed (and so any swarm of faults, any device mix),
 * after the fault phase and the healing phase every invariant holds — liveness (online,
 * drained, every operation terminal) and safety (no accepted message lost except by policy or
 * before it was durable at a crash, no status on the wrong operation, valid operation
 * histories, the size law, the SUBACK gate, at-most-once execution).
 *
 * Violations that match a known issue of the id-less mode (README "Known issues") are
 * tolerated and counted here, so this property keeps guarding everything else, and their
 * number is bounded: more of them is a regression too. By-id worlds, where nothing is
 * tolerated, are by-id.properties.test.ts.
 */
import { afterAll, describe, expect } from "vitest";
import { fc, test } from "../../../../test/support/property.js";
import { explain, reproduceCommand, runWorld } from "../../src/index.js";

export interface SwarmShard {
  /** This shard, 0-based. */
  readonly shard: number;
  readonly shards: number;
  /**
   * Known issues tolerated by this shard at the fixed seed: measured (see the shard files).
   * More fails; fewer means an engine fix landed and the bound should come down with it.
   */
  readonly knownBound: number;
}

const worldSeed = (): { seed?: number } => {
  const given = process.env.WORLD_SEED;
  if (given === "random") return {};
  return { seed: given !== undefined && /^-?\d+$/.test(given) ? Number(given) : 20261125 };
};

export const swarmProperty = ({ shard, shards, knownBound }: SwarmShard): void => {
  const totals = {
    worlds: 0,
    messages: 0,
    operations: 0,
    crashes: 0,
    restarts: 0,
    known: 0,
    drops: 0,
    faultKinds: 0,
  };
  const name = `world.properties ${shard + 1}/${shards}`;

  afterAll(() => {
    if (totals.worlds === 0) return; // filtered run
    console.info(`[${name}] ${totals.worlds} worlds, ${totals.known} known-issue violations tolerated`);
    // Coverage guard: the swarm must actually reach the interesting parts.
    expect(totals.messages).toBeGreaterThan(totals.worlds * 20);
    expect(totals.operations).toBeGreaterThan(totals.worlds * 3);
    expect(totals.crashes).toBeGreaterThan(totals.worlds / 2);
    expect(totals.restarts).toBeGreaterThan(totals.worlds / 10);
    expect(totals.drops).toBeGreaterThan(totals.worlds / 2);
    expect(totals.faultKinds / totals.worlds).toBeGreaterThan(3);
    expect(totals.known, `known issues tolerated over ${totals.worlds} static worlds`).toBeLessThanOrEqual(
      knownBound,
    );
  });

  describe(`the world, for any seed (${name})`, () => {
    test.prop(
      [
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 30, max: 150 }).map((s) => s * 1000),
      ],
      // A fixed seed by default so `npm test` is reproducible: the id-less status limit (see
      // README, "Still open") can surface in about 1 of 3000 fresh swarm worlds, and a gate
      // must not flip on luck. Explore fresh worlds with WORLD_SEED=random, or
      // `npm run simulate`; a failure prints the seed either way.
      { numRuns: 600, ...worldSeed() },
    )(
      "converges and keeps every safety invariant through a swarm of faults",
      (seed, devices, faultMs) => {
        if (seed % shards !== shard) return; // another shard's world
        const r = runWorld({
          seed,
          devices,
          faultMs,
          healMs: 300_000,
          operationsMode: "static",
          tolerateKnown: true,
        });
        totals.worlds++;
        totals.messages += r.messages.accepted;
        totals.operations += r.operations.created;
        totals.crashes += r.stats["crashes"] ?? 0;
        totals.restarts += r.stats["restartOperations"] ?? 0;
        totals.drops += r.stats["connectionsBroken"] ?? 0;
        totals.known += r.knownIssues.length;
        totals.faultKinds += r.faults === "none" ? 0 : r.faults.split(" ").length;
        const fault = `${faultMs === 120_000 ? "" : ` --fault-ms ${faultMs}`} --tolerate-known`;
        expect(r.ok, `${explain(r)}\nreproduce: ${reproduceCommand(r, fault)}`).toBe(true);
        expect(r.drainedAtMs).not.toBeNull();
        expect(r.stats["oversizeDisconnects"]).toBe(0);
      },
      // Whole worlds, CPU-bound and bounded: on a shared, loaded machine they outlast the
      // default 60 s without anything being wrong.
      300_000,
    );
  });
};
