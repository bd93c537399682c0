/**
 * Seeded fault injection, swarm style: each seed enables a random subset of the faults, each
 * with a random intensity. Every fault stays inside what MQTT over TCP and a crash-consistent
 * disk can actually do (see README "Faults"): packets of one connection keep their order
 * (a delay spike holds back everything behind it), only messages on *different* topics may
 * overtake each other, a lost PUBACK means the connection died right after the platform took
 * the publish, a duplicate is a QoS 1 redelivery, a crash keeps an in-order prefix of the
 * writes that were in progress.
 */
import type { Rng } from "./prng.js";

export interface FaultPlan {
  /** Probability that the broker refuses a CONNECT itself (CONNACK 3 or 5). */
  readonly refuseConnect: number;
  /** Network drops of a device's live connection, per device and virtual minute. */
  readonly dropConnection: number;
  /** Probability that a PUBACK is lost because the connection dies right after the platform took the publish. */
  readonly losePuback: number;
  /** Probability that a downstream packet (and, TCP-like, everything behind it) is held back 1–15 s. */
  readonly delayDownstream: number;
  /** Probability that a QoS 1 downstream message is delivered twice. */
  readonly duplicateDownstream: number;
  /** Probability that a downstream message may overtake earlier messages on other topics. */
  readonly reorderDownstream: number;
  /** Unsolicited re-pushes of PENDING operations (an extra `500` answer), per device and minute. */
  readonly redeliverOperations: number;
  /** Probability that the broker refuses one topic of a SUBSCRIBE (0x80). */
  readonly refuseSubscription: number;
  /** Probability that a `persist` fails (nothing written). */
  readonly persistFail: number;
  /** Process crashes (restart from storage), per device and virtual minute. */
  readonly crash: number;
  /** Forward jumps of a device's monotonic clock, per device and virtual minute. */
  readonly clockJump: number;
}

export const NO_FAULTS: FaultPlan = {
  refuseConnect: 0,
  dropConnection: 0,
  losePuback: 0,
  delayDownstream: 0,
  duplicateDownstream: 0,
  reorderDownstream: 0,
  redeliverOperations: 0,
  refuseSubscription: 0,
  persistFail: 0,
  crash: 0,
  clockJump: 0,
};

export type FaultName = keyof FaultPlan;
export const FAULT_NAMES = Object.keys(NO_FAULTS) as FaultName[];

/** Short labels for one-line summaries. */
export const FAULT_LABELS: Readonly<Record<FaultName, string>> = {
  refuseConnect: "refuse",
  dropConnection: "drop",
  losePuback: "puback",
  delayDownstream: "delay",
  duplicateDownstream: "dup",
  reorderDownstream: "reorder",
  redeliverOperations: "repush",
  refuseSubscription: "suback",
  persistFail: "persist",
  crash: "crash",
  clockJump: "clock",
};

/** Intensity ranges a swarm draws from (probabilities, or rates per device-minute). */
const RANGES: Readonly<Record<FaultName, readonly [number, number]>> = {
  refuseConnect: [0.05, 0.5],
  dropConnection: [0.2, 3],
  losePuback: [0.005, 0.05],
  delayDownstream: [0.005, 0.05],
  duplicateDownstream: [0.02, 0.3],
  reorderDownstream: [0.05, 0.5],
  redeliverOperations: [0.2, 3],
  refuseSubscription: [0.02, 0.3],
  persistFail: [0.01, 0.2],
  crash: [0.1, 1.5],
  clockJump: [0.1, 2],
};

/** Each fault on with probability 1/2, at a random intensity in its range. */
export const swarmPlan = (rng: Rng): FaultPlan => {
  const plan: Record<string, number> = {};
  for (const name of FAULT_NAMES) {
    const [lo, hi] = RANGES[name];
    plan[name] = rng.chance(0.5) ? Math.round((lo + rng.next() * (hi - lo)) * 1000) / 1000 : 0;
  }
  return plan as unknown as FaultPlan;
};

export const enabledFaults = (plan: FaultPlan): FaultName[] => FAULT_NAMES.filter((n) => plan[n] > 0);

export const describePlan = (plan: FaultPlan): string => {
  const on = enabledFaults(plan);
  return on.length === 0 ? "none" : on.map((n) => `${FAULT_LABELS[n]}=${plan[n]}`).join(" ");
};
