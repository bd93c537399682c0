/**
 * Events: everything that can happen to an engine, as plain serializable data. They are
 * what `step` consumes and what the event log stores, so every event has an io-ts codec.
 * Every event carries `nowMs`: the interpreter's monotonic clock, the core's only time.
 */
import * as t from "io-ts";
import { isExactUpstreamMessage, UpstreamMessageCodec } from "../smartrest/upstream.js";

/**
 * Version of the event-log schema. 2: operations by id became the default (`operations`
 * absent from a version-1 header means the id-less mode of that time; see `configOfHeader`).
 * 3: `submit-batch` events, and long command lists recorded as a digest (docs/event-log.md).
 */
export const SCHEMA_VERSION = 3;

const Ms = t.number;
const ConnectionId = t.number;
const ProcessingModeCodec = t.union([
  t.literal("persistent"),
  t.literal("transient"),
  t.literal("quiescent"),
  t.literal("cep"),
]);

/** Why a connection attempt or an established connection ended. */
export const CauseCodec = t.union([
  /** CONNACK with a non-zero return code (at connect time or mid-session). */
  t.type({ kind: t.literal("refused"), code: t.number }),
  /** Socket, TLS, DNS or protocol failure, with the library's message. */
  t.type({ kind: t.literal("network"), message: t.string }),
  /** The engine asked for it (disconnect command). */
  t.type({ kind: t.literal("requested") }),
]);
export type Cause = t.TypeOf<typeof CauseCodec>;

const OutcomeCodec = t.union([
  t.intersection([t.type({ status: t.literal("successful") }), t.partial({ parameters: t.array(t.string) })]),
  t.type({ status: t.literal("failed"), reason: t.string }),
]);
export type OperationOutcome = t.TypeOf<typeof OutcomeCodec>;

const event = <T extends string, P extends t.Props>(type: T, props: P) =>
  t.type({ type: t.literal(type), nowMs: Ms, ...props });

const SubmitOptions = t.partial({
  /** Child (or service) external id: the row goes to `s/us/<child>`. */
  child: t.string,
  mode: ProcessingModeCodec,
  /** Opaque application tag, echoed in reports about this message. */
  tag: t.string,
});

const PriorityCodec = t.union([
  t.literal("operation-status"),
  t.literal("alarm"),
  t.literal("event"),
  t.literal("inventory"),
  t.literal("measurement"),
]);

/** One row of a `submit-batch`: a static-template message or a custom-template row. */
export const BatchRowCodec = t.union([
  t.intersection([t.type({ message: UpstreamMessageCodec }), SubmitOptions]),
  t.intersection([
    t.type({ xid: t.string, values: t.array(t.string) }),
    SubmitOptions,
    t.partial({ priority: PriorityCodec }),
  ]),
]);
export type BatchRow = t.TypeOf<typeof BatchRowCodec>;

const isObject = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/**
 * True when `BatchRowCodec.decode(u)` succeeds and gives `u` itself, checked without the codec's
 * generic walk: a batch of 100,000 rows read from a log is decoded row by row. For a JSON value;
 * false says nothing (run the codec, which also says why).
 */
export const isExactBatchRow = (u: unknown): u is BatchRow => {
  if (!isObject(u)) return false;
  const { child, mode, tag } = u;
  if (child !== undefined && typeof child !== "string") return false;
  if (mode !== undefined && !ProcessingModeCodec.is(mode)) return false;
  if (tag !== undefined && typeof tag !== "string") return false;
  // The codec tries the static form first, then the custom one. A message that is not exact
  // may still decode (changed) and win: only the codec knows.
  const { message, xid, values, priority } = u;
  if (message !== undefined) return isExactUpstreamMessage(message);
  return (
    typeof xid === "string" &&
    Array.isArray(values) &&
    values.every((v) => typeof v === "string") &&
    (priority === undefined || PriorityCodec.is(priority))
  );
};

export const EventCodec = t.union([
  /**
   * Boot. `durable` is every record the storage holds (key → value), decoded by the core;
   * with a paging store, only the oldest `outboxMemoryRows` outbox rows of each class, and
   * `outboxStored` counts the rows of each class it holds beyond them.
   */
  t.intersection([
    event("start", { durable: t.record(t.string, t.unknown) }),
    t.partial({
      outboxStored: t.record(t.string, t.type({ count: t.number, bytes: t.number, lastRef: t.number })),
    }),
  ]),
  event("connected", { connectionId: ConnectionId }),
  event("connect-failed", { connectionId: ConnectionId, cause: CauseCodec }),
  event("disconnected", { connectionId: ConnectionId, cause: CauseCodec }),
  /** SUBACK: granted QoS per requested topic, in request order (128 = refused). */
  event("subscribed", { connectionId: ConnectionId, ref: t.number, granted: t.array(t.number) }),
  /** PUBACK for QoS 1, or "written" for QoS 0. */
  event("published", { connectionId: ConnectionId, ref: t.number }),
  event("message", { connectionId: ConnectionId, topic: t.string, payload: t.string }),
  event("timer-fired", { key: t.string }),
  /**
   * Storage results are cumulative, because persists complete in command order: `persisted`
   * acknowledges every persist up to `ref` not already reported failed, and `persist-failed`
   * fails every persist up to `ref` not yet acknowledged. An interpreter may batch writes.
   */
  event("persisted", { ref: t.number }),
  event("persist-failed", { ref: t.number, message: t.string }),
  /** Answer to `load-outbox`: the next stored rows of the class, in ref order (fewer: no more). */
  event("outbox-loaded", { cls: t.string, max: t.number, rows: t.array(t.unknown) }),
  event("outbox-load-failed", { cls: t.string, message: t.string }),
  t.intersection([event("submit", { message: UpstreamMessageCodec }), SubmitOptions]),
  t.intersection([
    event("submit-custom", { xid: t.string, values: t.array(t.string) }),
    SubmitOptions,
    t.partial({ priority: PriorityCodec }),
  ]),
  /**
   * Many rows at once: validated row by row (refusals reported per row), but one `batch`
   * report, one persist and one pump for the whole batch. Row i gets ref `firstRef + i`.
   */
  event("submit-batch", { rows: t.array(BatchRowCodec) }),
  /** The application finished an operation handed out with `execute-operation`. */
  event("operation-result", { key: t.string, outcome: OutcomeCodec }),
  /** Graceful stop: flush within the deadline, then disconnect. */
  event("stop", {}),
]);
export type Event = t.TypeOf<typeof EventCodec>;

/** `Omit` applied to each member of a union (plain `Omit` would merge the members). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** An event before an interpreter stamps it with its clock. */
export type EventInput = DistributiveOmit<Event, "nowMs">;
export type EventType = Event["type"];
