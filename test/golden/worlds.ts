/**
 * The fake worlds whose trace hashes are pinned: swarm faults, fault-free, 1–10 devices. The
 * first 40 were pinned before operations by id existed: they are static worlds. The by-id
 * worlds after them (3 and 10 devices, one against a platform without JSON) were added with the
 * by-id mode; their hashes move when the engine's by-id behaviour does.
 */
import type { WorldOptions } from "@c8ylink/fake";

const swarm = (seed: number, devices: number): WorldOptions => ({
  seed,
  devices,
  faultMs: 60_000,
  operationsMode: "static",
  tolerateKnown: true,
});

/** A by-id world: every violation fails it, so none is tolerated. */
const byId = (seed: number, devices: number): WorldOptions => ({
  seed,
  devices,
  faultMs: 60_000,
  operationsMode: "by-id",
});

export const GOLDEN_WORLDS: readonly WorldOptions[] = [
  ...Array.from({ length: 24 }, (_, i) => swarm(1000 + i * 7919, 1 + (i % 3))),
  ...Array.from({ length: 6 }, (_, i) => swarm(500_000 + i * 131, 10)),
  ...Array.from({ length: 6 }, (_, i) => ({ ...swarm(77 + i, 2), faults: "none" as const })),
  ...Array.from({ length: 4 }, (_, i) => ({ ...swarm(9000 + i, 3), auth: "certificate" as const })),
  ...Array.from({ length: 5 }, (_, i) => byId(700_001 + i * 104_729, 3)),
  ...Array.from({ length: 3 }, (_, i) => byId(900_001 + i * 613, 10)),
  { ...byId(31, 3), faults: "none" },
  { ...byId(4242, 3), platformJson: false },
];
