/**
 * Commands: what `step` asks the outside world to do, as plain serializable data.
 * Interpreters execute them in order and report each result back as an event
 * (connect → connected/connect-failed, subscribe → subscribed, publish → published,
 * persist → persisted/persist-failed, timer-set → timer-fired).
 */
import * as t from "io-ts";
import type { AnyOperation } from "./journal.js";
import type { Report } from "./reports.js";

const Qos = t.union([t.literal(0), t.literal(1), t.literal(2)]);

const command = <T extends string, P extends t.Props>(type: T, props: P) =>
  t.type({ type: t.literal(type), ...props });

/** A change to durable storage: `value: null` deletes the key. */
export const DurableChangeCodec = t.type({ key: t.string, value: t.unknown });
export type DurableChange = t.TypeOf<typeof DurableChangeCodec>;

export const ReportCodec = t.type({ kind: t.string }, "Report");

export const CommandCodec = t.union([
  command("connect", {
    connectionId: t.number,
    clientId: t.string,
    username: t.union([t.string, t.null]),
    password: t.union([t.string, t.null]),
    keepAliveSeconds: t.number,
    cleanSession: t.literal(true),
    timeoutMs: t.number,
  }),
  command("disconnect", { connectionId: t.number }),
  command("subscribe", {
    connectionId: t.number,
    ref: t.number,
    topics: t.array(t.type({ topic: t.string, qos: Qos })),
  }),
  command("publish", { connectionId: t.number, ref: t.number, topic: t.string, payload: t.string, qos: Qos }),
  command("timer-set", { key: t.string, atMs: t.number }),
  command("timer-cancel", { key: t.string }),
  /** Apply all changes atomically, then report `persisted` (or `persist-failed`) with `ref`. */
  command("persist", { ref: t.number, changes: t.array(DurableChangeCodec) }),
  /**
   * Read up to `max` stored outbox rows of class `cls` with a ref above `afterRef`, in ref
   * order, after every persist issued before; answer `outbox-loaded` (or `outbox-load-failed`).
   */
  command("load-outbox", { cls: t.string, afterRef: t.number, max: t.number }),
  /**
   * Hand an operation to the application; it answers with an `operation-result` event.
   * `resumed: true` (only then present): it was executing when the process stopped and its
   * fragment is in `resumableOperations`, so the application continues it from its own progress.
   */
  t.intersection([
    command("execute-operation", {
      key: t.string,
      deviceId: t.string,
      fragment: t.string,
      operation: t.unknown,
    }),
    t.partial({ resumed: t.literal(true) }),
  ]),
  /** Tell the application something (see `Report` in reports.ts); no result event. */
  command("report", { report: ReportCodec }),
]);

type Loose = t.TypeOf<typeof CommandCodec>;
type Precise<K extends Loose["type"], Extra> = Omit<Extract<Loose, { type: K }>, keyof Extra> & Extra;

/** The precise command type produced by `step` (the codec above checks the shape when reading logs). */
export type Command =
  | Exclude<Loose, { type: "execute-operation" | "report" }>
  | Precise<"execute-operation", { operation: AnyOperation }>
  | Precise<"report", { report: Report }>;
