/**
 * Step B by id (`operations: "by-id"`, the default): operations that arrive as JSON on
 * `devicecontrol/notifications`, each with the platform's operation id.
 *
 * - The journal key is the id (`id-<operationId>`), so a redelivery (the platform re-publishes
 *   PENDING operations on every `500`, TE #3403) is recognised exactly, whatever its stage.
 * - Ids whose terminal status the platform acknowledged are remembered durably (`finishedIds`,
 *   bounded by `config.finishedOperations`): such an id is never handed out again, across
 *   crashes and restarts.
 * - The platform sends each operation on `s/ds` too (TE #1718): in a by-id session those lines
 *   are skipped (`operationsStaticSkipped`). An id-less entry journaled from such a line before
 *   (a static session, a fallback) is the same operation when its row equals the JSON's static
 *   equivalent: it adopts the id instead of running twice.
 * - An id the platform already lists EXECUTING but this device has no record of is never run:
 *   it is failed by id (the engine cannot know whether a lost life started it).
 * Status goes by id (504/505/506, lifecycle/statuses.ts) on the target device's own topic.
 */
import * as E from "fp-ts/lib/Either.js";
import {
  byIdKey,
  findById,
  findIdlessLine,
  putEntry,
  toDurable,
  unfinishedCount,
  type JournalEntry,
} from "../journal.js";
import { addFinished, evictFinished, isFinished } from "../finished-ids.js";
import { countDuplicate, findIdlessTombstone } from "../tombstones.js";
import { DURABLE } from "../durable.js";
import { validateChildId } from "../../smartrest/topics.js";
import { notificationCandidate } from "./candidates.js";
import { expireTombstones } from "./operations.js";
import type { Tx } from "./tx.js";

/** Journals a JSON operation, or absorbs it as a redelivery. Returns the journal key, if any. */
export const onOperationNotification = (tx: Tx, payload: string): string | undefined => {
  const decoded = notificationCandidate(tx.config, payload);
  if ("report" in decoded) {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report(decoded.report);
    return undefined;
  }
  const { candidate, staticRow, status } = decoded;
  const { deviceId, operationId } = candidate;
  if (deviceId !== tx.config.deviceId && E.isLeft(validateChildId(deviceId))) {
    tx.report({
      kind: "operation-ignored",
      reason: `operation ${operationId}: target device id "${deviceId}" is not a valid topic level`,
      raw: [payload],
    });
    return undefined;
  }
  tx.count((c) => ({ operationsReceived: c.operationsReceived + 1 }));
  const known = findById(tx.s.journal, operationId);
  if (known !== undefined) return absorb(tx, known);
  if (isFinished(tx.s.finishedIds, operationId)) {
    tx.count((c) => ({ operationsDuplicate: c.operationsDuplicate + 1 }));
    return undefined;
  }
  const twin = staticRow.length === 0 ? undefined : findIdlessLine(tx.s.journal, staticRow);
  if (twin !== undefined && twin.stage !== "received") {
    // A line-born operation with this content has had an id-less status (501 acts on "the
    // oldest PENDING" of the fragment): whether it was this id cannot be known. Not run now;
    // counted on the entry, so when it ends the engine asks for PENDING operations again (500)
    // and this id, if still PENDING, comes back and runs (lifecycle/operations.ts, tombstones).
    return absorb(tx, twin);
  }
  if (twin !== undefined) {
    // The same operation, journaled from its `s/ds` line and not started: it takes the id, so
    // its statuses go by id and later redeliveries match by id.
    const adopted: JournalEntry = { ...twin, operationId, json: payload, persistRef: tx.pendingPersistRef() };
    tx.set({ journal: putEntry(tx.s.journal, adopted) });
    tx.persist(DURABLE.journalKey(twin.key), toDurable(adopted), { journalKey: twin.key });
    return absorb(tx, adopted);
  }
  expireTombstones(tx);
  const buried = staticRow.length === 0 ? undefined : findIdlessTombstone(tx.s.tombstones, staticRow);
  if (buried !== undefined) {
    // A line-born operation that ended a moment ago: a stale notification of it. Absorbed like
    // its line would be (a genuine twin comes back with the 500 sent when the tombstone expires).
    tx.count((c) => ({ operationsDuplicate: c.operationsDuplicate + 1 }));
    tx.set({ tombstones: countDuplicate(tx.s.tombstones, buried) });
    return undefined;
  }
  if (status === "SUCCESSFUL" || status === "FAILED") {
    tx.report({
      kind: "operation-ignored",
      reason: `operation ${operationId} is already ${status}`,
      raw: [payload],
    });
    return undefined;
  }
  if (unfinishedCount(tx.s.journal) >= tx.config.maxOpenOperations) {
    // Not journaled: it stays PENDING on the platform and comes back with a later 500.
    tx.report({ kind: "operation-ignored", reason: "too many open operations", raw: [payload] });
    return undefined;
  }
  const failure =
    status === "EXECUTING"
      ? "the platform lists it EXECUTING but this device has no record of starting it: not run again"
      : candidate.failure;
  const seq = tx.s.journal.nextSeq;
  const entry: JournalEntry = {
    key: byIdKey(operationId),
    seq,
    order: seq,
    deviceId,
    fragment: candidate.fragment,
    raw: staticRow,
    operation: candidate.operation,
    xid: null,
    operationId,
    json: payload,
    failure,
    stage: "received",
    executingAcked: false,
    handedOut: false,
    persistRef: tx.pendingPersistRef(),
    duplicates: 0,
  };
  tx.set({ journal: putEntry(tx.s.journal, entry) });
  tx.persist(DURABLE.journalKey(entry.key), toDurable(entry), { journalKey: entry.key });
  return entry.key;
};

const absorb = (tx: Tx, entry: JournalEntry): string => {
  tx.count((c) => ({ operationsDuplicate: c.operationsDuplicate + 1 }));
  tx.set({ journal: putEntry(tx.s.journal, { ...entry, duplicates: entry.duplicates + 1 }) });
  return entry.key;
};

/**
 * The platform acknowledged the terminal status of `operationId`: remember it (durably), and
 * forget the oldest or expired ids beyond `config.finishedOperations`.
 */
export const rememberFinished = (tx: Tx, operationId: string): void => {
  const { maxCount, maxAgeMs } = tx.config.finishedOperations;
  tx.persist(DURABLE.finishedKey(operationId), { atMs: tx.now });
  const added = addFinished(tx.s.finishedIds, operationId, tx.now);
  const { finished, evicted } = evictFinished(added, maxCount, tx.now - maxAgeMs);
  for (const id of evicted) tx.persist(DURABLE.finishedKey(id), null);
  tx.set({ finishedIds: finished });
};
