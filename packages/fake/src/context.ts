/**
 * The world's shared records and the `WorldContext` every module works through.
 *
 * Owns: the constants of the simulated tenant, the records of devices, connections, messages
 * and operations, the agenda `Item` union, and the context interface (clock, the one `Rng`,
 * the fault plan, scheduling, tracing, violations, statistics). `World` (world.ts) implements
 * the context; devices, network, broker, workload, chaos, checkers and verdict are free
 * functions taking it, as the platform model's modules take its `Tx`.
 */
import type {
  AnyOperation,
  DistributiveOmit,
  EngineConfig,
  EngineState,
  EventInput,
  InvariantChecker,
} from "@c8ylink/core";
import type { PlatformInput, PlatformState } from "@c8ylink/platform";
import type { FaultPlan } from "./faults.js";
import type { Rng, TraceHash } from "./prng.js";

export type ClientInput = DistributiveOmit<PlatformInput, "nowMs">;

/** Virtual time 0 is this wall-clock instant (2025-01-01T00:00:00Z), for ISO timestamps. */
export const EPOCH_MS = 1_735_689_600_000;
export const TENANT = "t100";
export const BOOTSTRAP_PASSWORD = "bs-secret";
export const SUPPORTED = ["c8y_Restart", "c8y_Command", "c8y_Configuration"];
export const RESTART_REASON = "restarted while the operation was executing";

export type OperationKind = "c8y_Restart" | "c8y_Command" | "c8y_Configuration" | "c8y_Relay";
/** How the engines take operations (their config's `operations`). */
export type OperationsMode = "by-id" | "static";
export type AuthKind = "bootstrap" | "password" | "certificate";

/** A switch that names every case ends here; a new case is a compile error, not a silent no-op. */
export const assertNever = (x: never): never => {
  throw new Error(`unhandled case ${JSON.stringify(x)}`);
};

export interface Violation {
  readonly invariant: string;
  readonly explanation: string;
  readonly atMs: number;
  /** Set when the violation matches a known issue (README "Known issues"). */
  readonly known?: string;
}

/** An operation status row the platform processed more than once (see README, known issues). */
export interface StatusReplay {
  readonly atMs: number;
  readonly dev: string;
  readonly topic: string;
  readonly line: string;
  readonly id: string;
}

export interface Conn {
  readonly key: string;
  readonly dev: Device;
  readonly life: number;
  readonly id: number;
  /**
   * open; device-closed (the engine sent DISCONNECT: downstream is ignored, upstream already
   * sent still arrives); broker-closed (refused or closed by the platform: packets already sent
   * downstream still arrive, upstream is discarded); broken (network: everything in flight lost).
   */
  state: "open" | "device-closed" | "broker-closed" | "broken";
  upTail: number;
  /** Arrival of the last downstream packet (everything), of the last ack, per topic. */
  tailAll: number;
  tailAcks: number;
  readonly tailTopic: Map<string, number>;
  /** Topics of each SUBSCRIBE by its ref, so the broker knows which topic a fault refuses. */
  readonly subscribeRefs: Map<number, readonly string[]>;
  /**
   * The JSON operation topic while the broker refused its subscription on this connection
   * (fault): nothing of it is delivered, as a broker that answered 0x80 delivers nothing.
   */
  jsonRefused: boolean;
}

export interface SentRow {
  readonly id: string;
  readonly topic: string;
  readonly line: string;
}

export interface PendingPersist {
  readonly ref: number;
  readonly changes: readonly { readonly key: string; readonly value: unknown }[];
  readonly fail: boolean;
}

export interface Device {
  readonly index: number;
  readonly id: string;
  readonly auth: AuthKind;
  readonly children: readonly string[];
  readonly config: EngineConfig;
  life: number;
  up: boolean;
  state: EngineState;
  /** What the disk holds. Values are the engine's own (immutable) objects. */
  readonly storage: Map<string, unknown>;
  /** Local monotonic clock = virtual time + offset (clock jumps only move it forward). */
  offset: number;
  readonly timers: Map<string, number>;
  conns: Map<number, Conn>;
  persists: PendingPersist[];
  storageTail: number;
  /** Outbox ref → message tag, for the current life. */
  refTags: Map<number, string>;
  readonly pendingOps: Set<string>;
  /**
   * Outbox ref → identity of the row across restarts (`<life>:<ref>` of the life that first
   * held it; restored rows keep theirs), so a row re-sent after a lost PUBACK or a crash is
   * recognised when the platform processes it again.
   */
  rowIds: Map<number, string>;
  /** Identities of operation status rows the platform has processed. */
  readonly processedStatus: Set<string>;
  /** The core's laws (`createInvariantChecker`), fresh for every life of the engine. */
  laws: InvariantChecker;
  /** This device's entries of the world's `messages`, in submission order (a crash walks them). */
  readonly submitted: Message[];
}

export interface Message {
  readonly tag: string;
  readonly dev: string;
  readonly kind: "measurement" | "event" | "alarm";
  readonly n: number;
  readonly submittedMs: number;
  acceptedMs: number | null;
  rejected: string | null;
  dropped: boolean;
  /** A persist carrying its outbox record completed. */
  durable: boolean;
  /** PUBACKed (reported `delivered`). */
  acked: boolean;
  /** Lost legitimately: not yet durable (nor on the platform) when its process crashed. */
  excused: string | null;
}

export interface CreatedOperation {
  readonly id: string;
  readonly fragment: OperationKind;
  readonly target: string;
  readonly dev: string;
  readonly text: string;
}

/** Where a platform input came from, so its outputs travel back the right way. */
export interface OutputContext {
  conn?: Conn;
  ref?: number;
  qos?: number;
  /** Input the world injected on a device's behalf (fault): no PUBACK goes back. */
  injected?: boolean;
}

export type ChaosKind = "drop" | "crash" | "clock" | "repush";

/** What the agenda holds: everything that will happen, at a virtual instant. */
export type Item =
  | {
      readonly k: "up";
      readonly conn: Conn;
      readonly input: ClientInput;
      readonly ref?: number;
      readonly qos?: number;
      /** Identities of the outbox rows in a publish (see `Device.rowIds`). */
      readonly rows?: readonly SentRow[];
    }
  | { readonly k: "down"; readonly conn: Conn; readonly event: EventInput }
  | { readonly k: "local"; readonly dev: Device; readonly life: number; readonly event: EventInput }
  | { readonly k: "persist"; readonly dev: Device; readonly life: number; readonly ref: number }
  | {
      readonly k: "timer";
      readonly dev: Device;
      readonly life: number;
      readonly key: string;
      readonly atLocal: number;
    }
  | { readonly k: "submit"; readonly dev: Device; readonly life: number }
  | {
      readonly k: "op-done";
      readonly dev: Device;
      readonly life: number;
      readonly key: string;
      readonly op: AnyOperation;
    }
  | { readonly k: "boot"; readonly dev: Device }
  | { readonly k: "detect"; readonly key: string }
  | { readonly k: "chaos"; readonly dev: Device; readonly what: ChaosKind }
  | { readonly k: "admin-op" }
  | { readonly k: "admin-accept" }
  | { readonly k: "heal" }
  | { readonly k: "check" };

/** The options of a world with their defaults filled in. */
export interface Settings {
  readonly devices: number;
  readonly faultMs: number;
  readonly healMs: number;
  readonly messageEveryMs: number;
  readonly operationEveryMs: number;
  readonly operations: readonly OperationKind[];
  readonly trace: boolean;
  /** What the engines are configured with. */
  readonly operationsMode: OperationsMode;
  /** Whether the platform grants `devicecontrol/notifications` (its `jsonOperations`). */
  readonly platformJson: boolean;
  /**
   * The rules the world judges operations by: `by-id` only when the engines run by id against
   * a platform that speaks JSON; a by-id engine refused JSON falls back to static and is
   * judged as static. Only static rules know known issues.
   */
  readonly rules: OperationsMode;
}

/** What the on-the-spot checkers remember to classify later violations (checkers.ts). */
export interface Findings {
  readonly replays: StatusReplay[];
  /** Platform operation (see `checkHandOut`) → where it was handed out first. */
  readonly handedOut: Map<string, string>;
  /** Operations handed out twice (by target and fragment, to classify later violations). */
  readonly doubles: { readonly target: string; readonly fragment: string }[];
  readonly finishedTwins: Map<string, string>;
  /** Operation line → order of its first arrival at its device. */
  readonly arrivals: Map<string, number>;
}

/** The world as its modules see it: state, the one clock and `Rng`, scheduling and judging. */
export interface WorldContext {
  readonly seed: number;
  readonly settings: Settings;
  readonly plan: FaultPlan;
  readonly rng: Rng;
  readonly autoAccept: boolean;
  readonly tolerateKnown: boolean;
  readonly sabotage: "lying-disk" | undefined;
  /** Virtual time in ms since the start of the run. */
  readonly now: number;
  /** The healing phase: faults off, no new work. */
  readonly healing: boolean;
  readonly faultsOn: boolean;
  /** Set by the first violation or when everything drained: the loop stops. */
  readonly finished: boolean;
  readonly drainedAtMs: number | null;
  platform: PlatformState;
  readonly devices: readonly Device[];
  /** Connections by client key. */
  readonly conns: Map<string, Conn>;
  readonly messages: Map<string, Message>;
  readonly created: CreatedOperation[];
  /** Outcomes the application chose, per unique operation text. */
  readonly decisions: Map<string, Set<string>>;
  /** World-unique number for messages and operation texts. */
  nextN: number;
  readonly stats: Record<string, number>;
  readonly findings: Findings;
  readonly violation: Violation | null;
  readonly knownIssues: readonly string[];
  readonly hash: TraceHash;
  readonly tail: readonly string[];
  readonly fullTrace: readonly string[] | null;
  /** Schedules `item` `delayMs` from now (rounded, never in the past). */
  at(delayMs: number, item: Item): void;
  /** Schedules `item` at the absolute virtual instant `atMs`. */
  atTime(atMs: number, item: Item): void;
  trace(line: string): void;
  /**
   * Traces an input as `<who>.<life> <- <json>` (`<who> <- <json>` when `life` is null), the
   * same line `trace` would get, without building it.
   */
  traceInput(who: string, life: number | null, json: string): void;
  /**
   * Records the first violation and stops the world (or, with `known` and `tolerateKnown`,
   * notes it). `known` is dropped under by-id rules: there, every violation is a failure.
   */
  violate(invariant: string, explanation: string, known?: string): void;
}
