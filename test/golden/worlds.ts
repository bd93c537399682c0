/** The fake worlds whose trace hashes are pinned: swarm faults, fault-free, 1–10 devices. */
import type { WorldOptions } from "@c8ylink/fake";

const swarm = (seed: number, devices: number): WorldOptions => ({
  seed,
  devices,
  faultMs: 60_000,
  tolerateKnown: true,
});

export const GOLDEN_WORLDS: readonly WorldOptions[] = [
  ...Array.from({ length: 24 }, (_, i) => swarm(1000 + i * 7919, 1 + (i % 3))),
  ...Array.from({ length: 6 }, (_, i) => swarm(500_000 + i * 131, 10)),
  ...Array.from({ length: 6 }, (_, i) => ({ ...swarm(77 + i, 2), faults: "none" as const })),
  ...Array.from({ length: 4 }, (_, i) => ({ ...swarm(9000 + i, 3), auth: "certificate" as const })),
];
