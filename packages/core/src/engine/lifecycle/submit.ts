/**
 * Step A, the application's side: validating a submission (static template or custom row),
 * choosing its topic and priority class, refusing what cannot fit one publish, and admitting
 * it into the outbox.
 */
import * as E from "fp-ts/lib/Either.js";
import type { OutboxClass } from "../config.js";
import type { OutboxEntry } from "../outbox.js";
import type { BatchRow } from "../events.js";
import { serializeRow } from "../../smartrest/csv.js";
import { MAX_PUBLISH_BYTES, publishPacketBytes } from "../../smartrest/size.js";
import { utf8ByteLength } from "../../smartrest/text.js";
import {
  customUp,
  staticUp,
  validateChildId,
  validateXid,
  type ChildId,
  type ProcessingMode,
} from "../../smartrest/topics.js";
import { encodeUpstreamLine, priorityClassOf, type UpstreamMessage } from "../../smartrest/upstream.js";
import { templateErrorText } from "../../smartrest/types.js";
import { enqueue, pump } from "./outbox-pump.js";
import type { Tx } from "./tx.js";

/** What to send: a static-template message or a custom row (a batch row has exactly these keys). */
type Submission =
  { readonly message: UpstreamMessage } | { readonly xid: string; readonly values: readonly string[] };

type Why = "not-running" | "invalid" | "too-large" | "outbox-full";
/** Why a row was not admitted. (An admitted row is its ref: a number, no object per row.) */
type Refusal = { readonly why: Why; readonly reason: string };

const refused = (why: Why, reason: string): Refusal => ({ why, reason });

/** Why the engine takes no submission now (before `start` stored refs could collide). */
const notRunning = (tx: Tx): string | undefined =>
  tx.s.phase.name === "idle"
    ? "engine not started"
    : tx.s.phase.name === "stopping"
      ? "engine is stopping"
      : undefined;

export const onSubmit = (
  tx: Tx,
  submission: Submission,
  child: string | undefined,
  mode: ProcessingMode | undefined,
  tag: string | undefined,
  priority: OutboxClass | undefined,
): void => {
  const stopped = notRunning(tx);
  const result =
    stopped !== undefined
      ? refused("not-running", stopped)
      : admitRow(tx, submission, child, mode, tag, priority, undefined, newTopics());
  if (typeof result !== "number") {
    countRejected(tx, new Map([[result.why, 1]]));
    const reason = result.reason;
    tx.report(tag === undefined ? { kind: "rejected", reason } : { kind: "rejected", reason, tag });
    return;
  }
  tx.count((c) => ({ accepted: c.accepted + 1 }));
  tx.report(tag === undefined ? { kind: "accepted", ref: result } : { kind: "accepted", ref: result, tag });
  pump(tx);
};

/** Many rows in one step: each validated and admitted alone, one report and one pump for all. */
export const onSubmitBatch = (tx: Tx, rows: readonly BatchRow[]): void => {
  const firstRef = tx.s.nextRef;
  // Every row owns a ref, refused or not, so row i is always `firstRef + i`.
  tx.set({ nextRef: firstRef + rows.length });
  const stopped = notRunning(tx);
  const rejected: { index: number; reason: string; tag?: string }[] = [];
  const byWhy = new Map<Why, number>();
  const topics = newTopics();
  for (let index = 0; index < rows.length; index++) {
    const row = rows[index] as BatchRow;
    const priority = "priority" in row ? row.priority : undefined;
    const result =
      stopped !== undefined
        ? refused("not-running", stopped)
        : admitRow(tx, row, row.child, row.mode, row.tag, priority, firstRef + index, topics);
    if (typeof result === "number") continue;
    byWhy.set(result.why, (byWhy.get(result.why) ?? 0) + 1);
    rejected.push(
      row.tag === undefined
        ? { index, reason: result.reason }
        : { index, reason: result.reason, tag: row.tag },
    );
  }
  if (byWhy.size > 0) countRejected(tx, byWhy);
  const accepted = rows.length - rejected.length;
  if (accepted > 0) tx.count((c) => ({ accepted: c.accepted + accepted }));
  tx.report({ kind: "batch", firstRef, rows: rows.length, accepted, rejected });
  if (accepted > 0) pump(tx);
};

const countRejected = (tx: Tx, byWhy: ReadonlyMap<Why, number>): void =>
  tx.count((c) => {
    const byReason = { ...c.rejectedByReason };
    let n = 0;
    for (const [why, k] of byWhy) {
      byReason[why] = (byReason[why] ?? 0) + k;
      n += k;
    }
    return { rejected: c.rejected + n, rejectedByReason: byReason };
  });

/**
 * The static topic of the last (mode, child) a batch used, and its child's validation: rows of
 * one batch usually share both, so the child id is checked and the topic built (and held in
 * memory by every queued row) once, not once per row.
 */
interface Topics {
  mode: ProcessingMode | undefined;
  child: string | undefined;
  result: { readonly topic: string; readonly childId: ChildId | undefined } | Refusal | undefined;
}

const newTopics = (): Topics => ({ mode: undefined, child: undefined, result: undefined });

const childAndStaticTopic = (
  tx: Tx,
  child: string | undefined,
  processing: ProcessingMode,
  cache: Topics,
): { readonly topic: string; readonly childId: ChildId | undefined } | Refusal => {
  if (cache.result !== undefined && cache.mode === processing && cache.child === child) return cache.result;
  let childId: ChildId | undefined;
  let result: Topics["result"];
  if (child !== undefined && child !== tx.config.deviceId) {
    const valid = validateChildId(child);
    if (E.isLeft(valid)) result = refused("invalid", valid.left.reason);
    else childId = valid.right;
  }
  result ??= { topic: staticUp(processing, childId), childId };
  cache.mode = processing;
  cache.child = child;
  cache.result = result;
  return result;
};

/**
 * Validates one row, chooses its topic and class and admits it into the outbox (persisted).
 * The row gets `ref`, or (undefined) the next ref once it is known to be admissible.
 */
const admitRow = (
  tx: Tx,
  submission: Submission,
  child: string | undefined,
  mode: ProcessingMode | undefined,
  tag: string | undefined,
  priority: OutboxClass | undefined,
  ref: number | undefined,
  topics: Topics,
): number | Refusal => {
  const processing = mode ?? "persistent";
  const where = childAndStaticTopic(tx, child, processing, topics);
  if ("why" in where) return where;
  let line: string;
  let topic: string;
  let cls: OutboxClass;
  let template: string;
  if ("message" in submission) {
    const encoded = encodeUpstreamLine(submission.message);
    if (E.isLeft(encoded)) return refused("invalid", templateErrorText(encoded.left));
    line = encoded.right;
    topic = where.topic;
    template = submission.message.template;
    cls = priorityClassOf(submission.message.template);
  } else {
    const xid = validateXid(submission.xid);
    if (E.isLeft(xid)) return refused("invalid", xid.left.reason);
    if (submission.values.length === 0) return refused("invalid", "custom row needs a message id");
    line = serializeRow(submission.values);
    topic = customUp(xid.right, processing, where.childId);
    template = submission.values[0] ?? "";
    cls = priority ?? "event";
  }
  const bytes = utf8ByteLength(line);
  const packetBytes = publishPacketBytes(topic, bytes, 1);
  if (packetBytes > MAX_PUBLISH_BYTES) {
    return refused(
      "too-large",
      `row-too-large: template ${template} needs ${packetBytes} bytes, limit ${MAX_PUBLISH_BYTES}`,
    );
  }
  const entryRef = ref ?? tx.ref();
  // Two literals, not a conditional spread: a spread copies at run time, once per row.
  const entry: OutboxEntry =
    tag === undefined
      ? { ref: entryRef, cls, topic, line, bytes, template }
      : { ref: entryRef, cls, topic, line, bytes, template, tag };
  if (!enqueue(tx, entry)) return refused("outbox-full", "outbox full");
  return entryRef;
};
