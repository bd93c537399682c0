/**
 * Step A, the application's side: validating a submission (static template or custom row),
 * choosing its topic and priority class, refusing what cannot fit one publish, and admitting
 * it into the outbox.
 */
import * as E from "fp-ts/lib/Either.js";
import type { OutboxClass } from "../config.js";
import type { OutboxEntry } from "../outbox.js";
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

export const onSubmit = (
  tx: Tx,
  submission: Submission,
  child: string | undefined,
  mode: ProcessingMode | undefined,
  tag: string | undefined,
  priority: OutboxClass | undefined,
): void => {
  type Why = "not-running" | "invalid" | "too-large" | "outbox-full";
  const reject = (why: Why, reason: string) => {
    tx.count((c) => ({
      rejected: c.rejected + 1,
      rejectedByReason: { ...c.rejectedByReason, [why]: (c.rejectedByReason[why] ?? 0) + 1 },
    }));
    tx.report(tag === undefined ? { kind: "rejected", reason } : { kind: "rejected", reason, tag });
  };
  // Before `start` the stored outbox is not restored yet: refs could collide with stored ones.
  if (tx.s.phase.name === "idle") return reject("not-running", "engine not started");
  if (tx.s.phase.name === "stopping") return reject("not-running", "engine is stopping");
  let childId: ChildId | undefined;
  if (child !== undefined && child !== tx.config.deviceId) {
    const valid = validateChildId(child);
    if (E.isLeft(valid)) return reject("invalid", valid.left.reason);
    childId = valid.right;
  }
  const processing = mode ?? "persistent";
  let row: Row;
  let topic: string;
  let cls: OutboxClass;
  if (submission.kind === "static") {
    const encoded = encodeUpstream(submission.message);
    if (E.isLeft(encoded)) {
      return reject("invalid", templateErrorText(encoded.left));
    }
    row = encoded.right;
    topic = staticUp(processing, childId);
    cls = priorityClassOf(submission.message.template);
  } else {
    const xid = validateXid(submission.xid);
    if (E.isLeft(xid)) return reject("invalid", xid.left.reason);
    if (submission.values.length === 0) return reject("invalid", "custom row needs a message id");
    row = submission.values;
    topic = customUp(xid.right, processing, childId);
    cls = priority ?? "event";
  }
  const line = serializeRow(row);
  const bytes = utf8ByteLength(line);
  const packetBytes = publishPacketBytes(topic, bytes, 1);
  if (packetBytes > MAX_PUBLISH_BYTES) {
    return reject(
      "too-large",
      `row-too-large: template ${row[0] ?? ""} needs ${packetBytes} bytes, limit ${MAX_PUBLISH_BYTES}`,
    );
  }
  const ref = tx.ref();
  const entry: OutboxEntry = {
    ref,
    cls,
    topic,
    line,
    bytes,
    template: row[0] ?? "",
    ...(tag === undefined ? {} : { tag }),
  };
  if (!enqueue(tx, entry)) return reject("outbox-full", "outbox full");
  tx.count((c) => ({ accepted: c.accepted + 1 }));
  tx.report(tag === undefined ? { kind: "accepted", ref } : { kind: "accepted", ref, tag });
  pump(tx);
};
