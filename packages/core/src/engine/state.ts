/**
 * The engine state: everything `step` knows, as immutable data. Large collections
 * (the outbox) are persistent structures so a step never copies them whole.
 */
import type { EngineConfig } from "./config.js";
import type { Outbox, OutboxEntry } from "./outbox.js";
import { emptyOutbox } from "./outbox.js";
import { toArray } from "./queue.js";
import type { Journal } from "./journal.js";
import { emptyJournal } from "./journal.js";

/** Named timers: one live deadline per key at most. */
export type TimerKey =
  | "reconnect"
  | "connect-timeout"
  | "bootstrap-poll"
  | "resubscribe"
  | "stable"
  | "token-refresh"
  | "persist-retry"
  | "stop-deadline"
  | "settle"
  | "tombstones";

export const TIMER_KEYS: readonly TimerKey[] = [
  "reconnect",
  "connect-timeout",
  "bootstrap-poll",
  "resubscribe",
  "stable",
  "token-refresh",
  "persist-retry",
  "stop-deadline",
  "settle",
  "tombstones",
];

export interface Credentials {
  readonly tenant: string;
  readonly user: string;
  readonly password: string;
}

export interface SubscriptionRequest {
  readonly topic: string;
  readonly qos: 0 | 1 | 2;
}

/** The lifecycle phase; see the theory of operation in step.ts. */
export type Phase =
  | { readonly name: "idle" }
  | { readonly name: "waiting"; readonly reason: string }
  | { readonly name: "connecting"; readonly as: "bootstrap" | "device" }
  | { readonly name: "bootstrapping"; readonly subscribeRef: number; readonly subscribed: boolean }
  | { readonly name: "storing-credentials"; readonly credentials: Credentials }
  | {
      readonly name: "subscribing";
      readonly subscribeRef: number;
      /** Topics asked for in the outstanding SUBSCRIBE (or to re-ask after a refusal). */
      readonly pending: readonly SubscriptionRequest[];
    }
  | { readonly name: "online" }
  | { readonly name: "stopping" }
  | { readonly name: "stopped" };

export type PhaseName = Phase["name"];

/** Phases with a live MQTT connection (CONNACK received, not yet lost). */
export const isConnected = (phase: Phase): boolean =>
  phase.name === "bootstrapping" ||
  phase.name === "storing-credentials" ||
  phase.name === "subscribing" ||
  phase.name === "online" ||
  phase.name === "stopping";

/** Past the SUBACK gate: every subscription granted, so anything may be published. */
export const gateOpen = (phase: Phase): boolean => phase.name === "online" || phase.name === "stopping";

/** A QoS 1 publish waiting for its PUBACK. `session` rows are regenerated on the next session. */
export interface InflightPacket {
  readonly source: "outbox" | "session";
  readonly entries: readonly OutboxEntry[];
}

export interface Counters {
  /** Application submissions accepted / rejected. */
  readonly accepted: number;
  readonly rejected: number;
  /** Rows that entered the outbox (accepted, engine-generated statuses, restored after a restart). */
  readonly admitted: number;
  readonly delivered: number;
  readonly dropped: number;
  /** Drops by reason (`<class>-overflow`); the values add up to `dropped`. */
  readonly droppedByReason: Readonly<Record<string, number>>;
  /** Refused submissions by reason kind (`invalid`, `too-large`, `outbox-full`, `not-running`). */
  readonly rejectedByReason: Readonly<Record<string, number>>;
  readonly platformErrors: Readonly<Record<string, number>>;
  readonly operationsReceived: number;
  readonly operationsDuplicate: number;
  readonly operationsFailed: number;
  readonly connects: number;
  readonly connectionLosses: number;
  readonly persistFailures: number;
  readonly invalidInputs: number;
}

export const zeroCounters: Counters = {
  accepted: 0,
  rejected: 0,
  admitted: 0,
  delivered: 0,
  dropped: 0,
  droppedByReason: {},
  rejectedByReason: {},
  platformErrors: {},
  operationsReceived: 0,
  operationsDuplicate: 0,
  operationsFailed: 0,
  connects: 0,
  connectionLosses: 0,
  persistFailures: 0,
  invalidInputs: 0,
};

/** What a `persisted` result unblocks. */
export interface PersistWaiter {
  readonly credentials: boolean;
  readonly journalKeys: readonly string[];
}

/** A line equal to a recently ended operation's: a stale redelivery, absorbed until `untilMs`. */
export interface Tombstone {
  readonly raw: readonly string[];
  readonly xid: string | null;
  readonly untilMs: number;
  readonly duplicates: number;
}

export interface EngineState {
  readonly config: EngineConfig;
  readonly phase: Phase;
  /** Id of the current (or last) connection; results for other ids are stale and ignored. */
  readonly connectionId: number;
  readonly nextRef: number;
  /** PRNG state (see prng.ts). */
  readonly rng: number;
  readonly timers: Readonly<Partial<Record<TimerKey, number>>>;
  /** Credentials obtained through bootstrap (only in bootstrap auth mode). */
  readonly credentials: Credentials | null;
  /** Consecutive CONNACK 4 refusals of the stored credentials. */
  readonly credentialRejects: number;
  /** Consecutive failed connection attempts since the last stable session. */
  readonly backoffAttempt: number;
  readonly outbox: Outbox;
  /** Per-session rows: 100/101 may go before the SUBACK gate, the rest only after it. */
  readonly registrationRows: Outbox;
  readonly afterGateRows: Outbox;
  readonly inflight: Readonly<Record<number, InflightPacket>>;
  readonly journal: Journal;
  /** Inventory rows (topic + line, keyed by topic and template) last acknowledged by the platform. */
  readonly inventoryAcked: Readonly<Record<string, string>>;
  /** Recently published rows (template id and ref), newest last, for `s/e` correlation. */
  readonly recent: readonly { readonly template: string; readonly ref: number }[];
  readonly persistWaiters: Readonly<Record<number, PersistWaiter>>;
  /** Every persist up to this ref is durable (results are cumulative). */
  readonly persistedUpTo: number;
  /** Lines of recently ended operations. */
  readonly tombstones: readonly Tombstone[];
  /** Online, but the `500` answer may still be arriving (see "Settling" in step.ts). */
  readonly settling: boolean;
  /** The answer went quiet but not every waiting operation was seen again yet. */
  readonly settleQuiet: boolean;
  /** When settling ends at the latest (nowMs). */
  readonly settleDeadlineMs: number;
  /** Journal keys whose line was seen while settling: still PENDING on the platform. */
  readonly sighted: readonly string[];
  readonly counters: Counters;
}

export const initialState = (config: EngineConfig): EngineState => ({
  config,
  phase: { name: "idle" },
  connectionId: 0,
  nextRef: 1,
  rng: config.seed,
  timers: {},
  credentials: null,
  credentialRejects: 0,
  backoffAttempt: 0,
  outbox: emptyOutbox(),
  registrationRows: emptyOutbox(),
  afterGateRows: emptyOutbox(),
  inflight: {},
  journal: emptyJournal,
  inventoryAcked: {},
  recent: [],
  persistWaiters: {},
  persistedUpTo: 0,
  tombstones: [],
  settling: false,
  settleQuiet: false,
  settleDeadlineMs: 0,
  sighted: [],
  counters: zeroCounters,
});

/**
 * A plain-JSON view of a state (queues as arrays), for `replay --at`, debugging and
 * snapshots. O(n) in the outbox size: never on the hot path.
 */
export const snapshotState = (state: EngineState): unknown => {
  const outbox = (o: Outbox) =>
    Object.fromEntries(
      Object.entries(o).map(([cls, c]) => [
        cls,
        { count: c.count, bytes: c.bytes, queued: toArray(c.queue) },
      ]),
    );
  return {
    ...state,
    config: { ...state.config, auth: { mode: state.config.auth.mode } },
    // Secrets stay out of snapshots: they are printed and logged.
    phase:
      state.phase.name === "storing-credentials"
        ? {
            name: state.phase.name,
            tenant: state.phase.credentials.tenant,
            user: state.phase.credentials.user,
          }
        : state.phase,
    credentials:
      state.credentials === null ? null : { tenant: state.credentials.tenant, user: state.credentials.user },
    outbox: outbox(state.outbox),
    registrationRows: outbox(state.registrationRows),
    afterGateRows: outbox(state.afterGateRows),
  };
};
