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
import { encodeUpstream, priorityClassOf, type UpstreamMessage } from "../../smartrest/upstream.js";
import { templateErrorText, type Row } from "../../smartrest/types.js";
import { enqueue, pump } from "./outbox-pump.js";
import type { Tx } from "./tx.js";

type Submission =
  | { readonly kind: "static"; readonly message: UpstreamMessage }
  | { readonly kind: "custom"; readonly xid: string; readonly values: readonly string[] };

type Why = "not-running" | "invalid" | "too-large" | "outbox-full";
type Admission =
  | { readonly ok: true; readonly ref: number }
  | { readonly ok: false; readonly why: Why; readonly reason: string };

const refused = (why: Why, reason: string): Admission => ({ ok: false, why, reason });

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
      : admitRow(tx, submission, child, mode, tag, priority, () => tx.ref());
  if (!result.ok) {
    countRejected(tx, new Map([[result.why, 1]]));
    const reason = result.reason;
    tx.report(tag === undefined ? { kind: "rejected", reason } : { kind: "rejected", reason, tag });
    return;
  }
  tx.count((c) => ({ accepted: c.accepted + 1 }));
  tx.report(
    tag === undefined ? { kind: "accepted", ref: result.ref } : { kind: "accepted", ref: result.ref, tag },
  );
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
  rows.forEach((row, index) => {
    const submission: Submission =
      "message" in row
        ? { kind: "static", message: row.message }
        : { kind: "custom", xid: row.xid, values: row.values };
    const priority = "priority" in row ? row.priority : undefined;
    const result =
      stopped !== undefined
        ? refused("not-running", stopped)
        : admitRow(tx, submission, row.child, row.mode, row.tag, priority, () => firstRef + index);
    if (result.ok) return;
    byWhy.set(result.why, (byWhy.get(result.why) ?? 0) + 1);
    rejected.push(
      row.tag === undefined
        ? { index, reason: result.reason }
        : { index, reason: result.reason, tag: row.tag },
    );
  });
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

/** Validates one row, chooses its topic and class and admits it into the outbox (persisted). */
const admitRow = (
  tx: Tx,
  submission: Submission,
  child: string | undefined,
  mode: ProcessingMode | undefined,
  tag: string | undefined,
  priority: OutboxClass | undefined,
  refFor: () => number,
): Admission => {
  let childId: ChildId | undefined;
  if (child !== undefined && child !== tx.config.deviceId) {
    const valid = validateChildId(child);
    if (E.isLeft(valid)) return refused("invalid", valid.left.reason);
    childId = valid.right;
  }
  const processing = mode ?? "persistent";
  let row: Row;
  let topic: string;
  let cls: OutboxClass;
  if (submission.kind === "static") {
    const encoded = encodeUpstream(submission.message);
    if (E.isLeft(encoded)) return refused("invalid", templateErrorText(encoded.left));
    row = encoded.right;
    topic = staticUp(processing, childId);
    cls = priorityClassOf(submission.message.template);
  } else {
    const xid = validateXid(submission.xid);
    if (E.isLeft(xid)) return refused("invalid", xid.left.reason);
    if (submission.values.length === 0) return refused("invalid", "custom row needs a message id");
    row = submission.values;
    topic = customUp(xid.right, processing, childId);
    cls = priority ?? "event";
  }
  const line = serializeRow(row);
  const bytes = utf8ByteLength(line);
  const packetBytes = publishPacketBytes(topic, bytes, 1);
  if (packetBytes > MAX_PUBLISH_BYTES) {
    return refused(
      "too-large",
      `row-too-large: template ${row[0] ?? ""} needs ${packetBytes} bytes, limit ${MAX_PUBLISH_BYTES}`,
    );
  }
  const ref = refFor();
  const template = row[0] ?? "";
  // Two literals, not a conditional spread: a spread copies at run time, once per row.
  const entry: OutboxEntry =
    tag === undefined
      ? { ref, cls, topic, line, bytes, template }
      : { ref, cls, topic, line, bytes, template, tag };
  if (!enqueue(tx, entry)) return refused("outbox-full", "outbox full");
  return { ok: true, ref };
};
