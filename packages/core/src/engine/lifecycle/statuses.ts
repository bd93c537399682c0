/**
 * Operation status rows (500, 501/504, 502/503, 505/506, 507): building the terminal row,
 * fitting it into one publish (shortening a failure reason if need be) and queueing it on the
 * target device's topic, durable before it may go out.
 */
import type { OperationOutcome } from "../events.js";
import type { OutboxEntry } from "../outbox.js";
import type { JournalEntry } from "../journal.js";
import { serializeRow } from "../../smartrest/csv.js";
import { MAX_PUBLISH_BYTES, publishPacketBytes } from "../../smartrest/size.js";
import { utf8ByteLength } from "../../smartrest/text.js";
import { staticUp, type ChildId } from "../../smartrest/topics.js";
import type { Row } from "../../smartrest/types.js";
import { enqueue, pump } from "./outbox-pump.js";
import type { Tx } from "./tx.js";

/** Whose status a row is: the target device's topic, and the journal key it marks. */
type StatusTarget = Pick<JournalEntry, "deviceId" | "key"> &
  Partial<Pick<JournalEntry, "operationId" | "fragment">>;

/** 503/502 by fragment, or 506/505 by id when the platform's operation id is known. */
export const terminalStatusRow = (
  entry: Pick<JournalEntry, "operationId" | "fragment">,
  outcome: OperationOutcome,
): Row => {
  const byId = entry.operationId;
  if (outcome.status === "successful") {
    const parameters = outcome.parameters ?? [];
    return byId === null ? ["503", entry.fragment, ...parameters] : ["506", byId, ...parameters];
  }
  return byId === null ? ["502", entry.fragment, outcome.reason] : ["505", byId, outcome.reason];
};

/**
 * Queues an operation status row on the target device's own topic. Statuses are never
 * dropped; if even the operation-status budget is exhausted the row is reported as
 * rejected (the operation then stays EXECUTING on the platform and is failed after restart).
 */
export const enqueueStatus = (
  tx: Tx,
  entry: StatusTarget | undefined,
  row: Row,
  marks: "executing" | "terminal" | undefined,
): void => {
  const deviceId = entry?.deviceId ?? tx.config.deviceId;
  const topic =
    deviceId === tx.config.deviceId ? staticUp("persistent") : staticUp("persistent", deviceId as ChildId);
  const line = fitStatusLine(topic, row);
  if (line === undefined) {
    // A result too large for one publish: the operation fails instead of staying EXECUTING.
    // Not a failure that is itself too large (its fragment or id alone fills the publish): that
    // would fail again, endlessly.
    const failing = row[0] === "502" || row[0] === "505";
    if (
      marks === "terminal" &&
      !failing &&
      entry?.fragment !== undefined &&
      entry.operationId !== undefined
    ) {
      const reason = "operation result exceeds the 16184-byte publish limit";
      const failed = terminalStatusRow(
        { operationId: entry.operationId, fragment: entry.fragment },
        { status: "failed", reason },
      );
      enqueueStatus(tx, entry, failed, marks);
    } else {
      tx.report({ kind: "rejected", reason: `operation status ${row[0] ?? ""} too large to publish` });
    }
    return;
  }
  const status: OutboxEntry = {
    ref: tx.ref(),
    cls: "operation-status",
    topic,
    line,
    bytes: utf8ByteLength(line),
    template: row[0] ?? "",
    ...(entry !== undefined && marks === "terminal" ? { opKey: entry.key } : {}),
    ...(entry !== undefined && marks === "executing" ? { opKey: `${entry.key}#executing` } : {}),
    // Published only once durable: the platform must never be ahead of the journal.
    durableAfter: tx.pendingPersistRef(),
  };
  if (!enqueue(tx, status)) {
    tx.report({ kind: "rejected", reason: `operation status ${line} did not fit the outbox` });
  }
  pump(tx);
};

const fitsAlone = (topic: string, line: string): boolean =>
  publishPacketBytes(topic, utf8ByteLength(line), 1) <= MAX_PUBLISH_BYTES;

/**
 * The serialized status line, if it fits one publish. A failure reason (502/505) that is
 * too long is shortened — measured on the escaped line, never before escaping (thin-edge
 * #3171) — and marked; any other oversized status gives undefined.
 */
const fitStatusLine = (topic: string, row: Row): string | undefined => {
  const line = serializeRow(row);
  if (fitsAlone(topic, line)) return line;
  const reason = row[2];
  if ((row[0] !== "502" && row[0] !== "505") || reason === undefined || row.length !== 3) return undefined;
  const marker = " …(truncated)";
  let lo = 0;
  let hi = reason.length;
  // Largest prefix length whose escaped line still fits.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fitsAlone(topic, serializeRow([row[0], row[1] ?? "", reason.slice(0, mid) + marker]))) lo = mid;
    else hi = mid - 1;
  }
  if (lo > 0 && /[\uD800-\uDBFF]/.test(reason.charAt(lo - 1))) lo--; // never split a surrogate pair
  const shortened = serializeRow([row[0], row[1] ?? "", reason.slice(0, lo) + marker]);
  return fitsAlone(topic, shortened) ? shortened : undefined;
};

export const journalKeyOf = (e: OutboxEntry): string | undefined => e.opKey?.replace(/#executing$/, "");
