/**
 * The engine state: everything `step` knows, as immutable data. Large collections
 * (the outbox) are persistent structures so a step never copies them whole.
 */
import type { EngineConfig } from "./config.js";
import type { Outbox } from "./outbox.js";
import { emptyOutbox } from "./outbox.js";
import { toArray } from "./queue.js";
import type { Journal } from "./journal.js";
import { emptyInflight, inflightPackets, type Inflight } from "./inflight.js";
import { emptyRecent, recentRows, type Recent } from "./recent.js";

export type { Recent } from "./recent.js";
import { emptyJournal, openEntries } from "./journal.js";
import { emptyTombstones, type Tombstones } from "./tombstones.js";
import { emptyFinishedIds, finishedRecord, type FinishedIds } from "./finished-ids.js";
import { values } from "./pmap.js";
import type { Probe } from "./lifecycle/resync.js";

/**
 * Every named timer, with what arms it and what a fire does. One live deadline per key at
 * most; a fire whose deadline was moved or cancelled is ignored. `onTimer` in step.ts
 * switches over these keys exhaustively.
 */
export const TIMERS = {
  reconnect: "armed after a failed attempt or lost connection (backoff); fire: connect again",
  "connect-timeout": "armed with each CONNECT; fire: no CONNACK in time, the attempt failed",
  "bootstrap-poll": "armed after each empty s/ucr poll (jittered); fire: poll for credentials again",
  resubscribe: "armed when the broker refused a subscription (backoff); fire: SUBSCRIBE the refused topics",
  stable: "armed at CONNACK; fire: the session held stableMs, so the backoff attempt counter resets",
  "token-refresh": "armed when a JWT arrives (half its lifetime); fire: request a new token",
  "persist-retry": "armed when a persist that something waits for failed; fire: write it again",
  "stop-deadline": "armed by stop while online; fire: stop with whatever is still undelivered",
  settle: "armed when the 500 is acknowledged, pushed by answer lines; fire: end settling if quiet",
  tombstones: "armed at the earliest tombstone expiry; fire: expire tombstones (and ask 500 again)",
} as const satisfies Readonly<Record<string, string>>;

/** Named timers: one live deadline per key at most. */
export type TimerKey = keyof typeof TIMERS;

export const TIMER_KEYS = Object.keys(TIMERS) as readonly TimerKey[];

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
  /** Operation lines on `s/ds` skipped in a by-id session: the JSON notification carries each one. */
  readonly operationsStaticSkipped: number;
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
  operationsStaticSkipped: 0,
  operationsFailed: 0,
  connects: 0,
  connectionLosses: 0,
  persistFailures: 0,
  invalidInputs: 0,
};

/**
 * Settling after a gate open (see lifecycle/settling.ts): the `500` answer may still be
 * arriving, so operations and statuses wait.
 */
export interface SettleState {
  /** The answer went quiet but not every waiting operation was seen again yet. */
  readonly quiet: boolean;
  /** When settling ends at the latest (nowMs). */
  readonly deadlineMs: number;
  // Entries whose line was seen while settling (still PENDING on the platform) are marked in
  // the journal's current sighting round (journal.ts `markSighted`): O(log n) per line.
}

/**
 * The connection's own state: created empty for each connection and dropped with it (in-flight
 * outbox rows go back to the outbox first; session rows are rebuilt on the next session).
 */
export interface SessionState {
  /** QoS 1 publishes waiting for their PUBACK, oldest first (see inflight.ts). */
  readonly inflight: Inflight;
  /** Registration rows (100/101): may go before the SUBACK gate. */
  readonly registrationRows: Outbox;
  /** Changed inventory and 500: only after the SUBACK gate. */
  readonly afterGateRows: Outbox;
  /** Non-null while settling (online, the 500 answer may still be arriving). */
  readonly settle: SettleState | null;
  /**
   * Operations arrive by id (JSON on `devicecontrol/notifications`) in this session: `s/ds`
   * operation lines are then skipped. False in `static` mode, and after the platform refused
   * the JSON subscription (fallback for this session).
   */
  readonly operationsById: boolean;
}

/**
 * Immutable parts every fresh state (and session) starts with, shared by all engines of a
 * process (a fleet of 10k engines would otherwise hold 10k copies of each). The core never
 * mutates a state. Records that steps copy by spreading (timers, waiters, acked inventory) are
 * not frozen: V8 spreads a frozen object into a larger, slower shape that every later copy keeps.
 */
const IDLE: Phase = Object.freeze({ name: "idle" });
const NO_TIMERS: EngineState["timers"] = {};
const NO_CLEANUP_GROUPS: EngineState["cleanupGroups"] = Object.freeze([]);
const NO_PROBES: EngineState["probes"] = Object.freeze([]);
const NO_INVENTORY_ACKED: EngineState["inventoryAcked"] = {};
const NO_PERSIST_WAITERS: EngineState["persistWaiters"] = {};

export const emptySession = (): SessionState => ({
  inflight: emptyInflight(),
  registrationRows: emptyOutbox(),
  afterGateRows: emptyOutbox(),
  settle: null,
  operationsById: false,
});

/** What a `persisted` result unblocks. */
export interface PersistWaiter {
  readonly credentials: boolean;
  readonly journalKeys: readonly string[];
}

export type { Tombstone } from "./tombstones.js";

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
  /** What lives and dies with the current connection (see `SessionState`). */
  readonly session: SessionState;
  readonly journal: Journal;
  /** Inventory rows (topic + line, keyed by topic and template) last acknowledged by the platform. */
  readonly inventoryAcked: Readonly<Record<string, string>>;
  /** Recently published rows (template id and ref), newest last, for `s/e` correlation. */
  readonly recent: Recent;
  readonly persistWaiters: Readonly<Record<number, PersistWaiter>>;
  /** Every persist up to this ref is durable (results are cumulative). */
  readonly persistedUpTo: number;
  /** Lines of recently ended operations. */
  readonly tombstones: Tombstones;
  /**
   * Ids of operations whose terminal status the platform acknowledged, with when (nowMs):
   * a redelivered id is never run again. Durable; bounded by `config.finishedOperations`.
   */
  readonly finishedIds: FinishedIds;
  /**
   * (device, fragment) groups whose id-less 501 was re-sent while it may already have been
   * applied (lifecycle/settling.ts): once the group has no open operation, `507,<fragment>`
   * fails whatever EXECUTING operation that replay may have started. In memory: a restart
   * re-derives it from the restored statuses.
   */
  readonly cleanupGroups: readonly (readonly [deviceId: string, fragment: string, afterReboot: boolean])[];
  /** Operations whose uncertain 501 was taken as applied, watched for `s/e` (lifecycle/resync.ts). */
  readonly probes: readonly Probe[];
  readonly counters: Counters;
}

export const initialState = (config: EngineConfig): EngineState => ({
  config,
  phase: IDLE,
  connectionId: 0,
  nextRef: 1,
  rng: config.seed,
  timers: NO_TIMERS,
  credentials: null,
  credentialRejects: 0,
  backoffAttempt: 0,
  outbox: emptyOutbox(),
  session: emptySession(),
  journal: emptyJournal,
  inventoryAcked: NO_INVENTORY_ACKED,
  recent: emptyRecent,
  persistWaiters: NO_PERSIST_WAITERS,
  persistedUpTo: 0,
  tombstones: emptyTombstones,
  finishedIds: emptyFinishedIds,
  cleanupGroups: NO_CLEANUP_GROUPS,
  probes: NO_PROBES,
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
    recent: recentRows(state.recent),
    journal: {
      nextSeq: state.journal.nextSeq,
      entries: Object.fromEntries(openEntries(state.journal).map((e) => [e.key, e])),
    },
    tombstones: values(state.tombstones.byId),
    finishedIds: finishedRecord(state.finishedIds),
    session: {
      ...state.session,
      inflight: inflightPackets(state.session.inflight),
      registrationRows: outbox(state.session.registrationRows),
      afterGateRows: outbox(state.session.afterGateRows),
    },
  };
};
