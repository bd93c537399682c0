/**
 * Storage results: `persisted` (cumulative: every persist up to the ref is durable) unblocks
 * stored credentials, journal stages and durable status rows; `persist-failed` marks what
 * must be written again and arms `persist-retry`, whose body is `retryPersist`.
 */
import type { PersistWaiter } from "../state.js";
import { replaceQueued, type OutboxEntry } from "../outbox.js";
import { toArray } from "../queue.js";
import { entryOf, openEntries, putEntry, toDurable, type JournalEntry } from "../journal.js";
import { DURABLE } from "../durable.js";
import { advanceGroupsOf } from "./operations.js";
import { pump } from "./outbox-pump.js";
import { connect } from "./session.js";
import type { Tx } from "./tx.js";

/** Waiters of every persist up to `ref` (results are cumulative: persists complete in order). */
const takeWaitersUpTo = (tx: Tx, ref: number): PersistWaiter => {
  const done: PersistWaiter[] = [];
  const rest: Record<number, PersistWaiter> = {};
  for (const [key, waiter] of Object.entries(tx.s.persistWaiters)) {
    if (Number(key) <= ref) done.push(waiter);
    else rest[Number(key)] = waiter;
  }
  if (done.length > 0) tx.set({ persistWaiters: rest });
  return { credentials: done.some((w) => w.credentials), journalKeys: done.flatMap((w) => w.journalKeys) };
};

/** Marks the journal stages written by persists up to `ref` durable (null) or failed (NEEDS_RETRY). */
const settleJournalStages = (tx: Tx, keys: readonly string[], ref: number, outcome: null | number): void => {
  for (const key of keys) {
    const entry = entryOf(tx.s.journal, key);
    if (
      entry !== undefined &&
      entry.persistRef !== null &&
      entry.persistRef >= 0 &&
      entry.persistRef <= ref
    ) {
      tx.set({ journal: putEntry(tx.s.journal, { ...entry, persistRef: outcome }) });
    }
  }
};

/** `persisted {ref}`: every persist up to `ref` not reported failed is durable. */
export const onPersisted = (tx: Tx, ref: number): void => {
  if (ref > tx.s.persistedUpTo) tx.set({ persistedUpTo: ref });
  const waiter = takeWaitersUpTo(tx, ref);
  settleJournalStages(tx, waiter.journalKeys, ref, null);
  const phase = tx.s.phase;
  if (waiter.credentials && phase.name === "storing-credentials") {
    // Step 0 done: leave the bootstrap session and come back as the device.
    tx.set({ credentials: phase.credentials, backoffAttempt: 0 });
    tx.cancelTimer("stable");
    tx.emit({ type: "disconnect", connectionId: tx.s.connectionId });
    connect(tx, "credentials stored");
  }
  if (waiter.journalKeys.length > 0) advanceGroupsOf(tx, waiter.journalKeys);
  pump(tx); // statuses that just became durable may go out
};

/** A journal stage whose write failed: not durable, and no later acknowledgement may make it so. */
const NEEDS_RETRY = -1;

/** `persist-failed {ref}`: every persist up to `ref` not yet acknowledged failed. */
export const onPersistFailed = (tx: Tx, ref: number, message: string): void => {
  tx.count((c) => ({ persistFailures: c.persistFailures + 1 }));
  const waiter = takeWaitersUpTo(tx, ref);
  rewriteUndurableStatuses(tx, ref);
  if (!waiter.credentials && waiter.journalKeys.length === 0) {
    // Only outbox or inventory bookkeeping was in it: delivery goes on from memory.
    tx.report({ kind: "persist-failed", ref, message, retryInMs: null });
    return;
  }
  settleJournalStages(tx, waiter.journalKeys, ref, NEEDS_RETRY);
  const retryInMs = tx.config.backoff.floorMs;
  tx.report({ kind: "persist-failed", ref, message, retryInMs });
  if (tx.s.timers["persist-retry"] === undefined) tx.setTimer("persist-retry", tx.now + retryInMs);
};

/** Re-persists everything something is waiting for: stored credentials and non-durable journal stages. */
export const retryPersist = (tx: Tx): void => {
  const phase = tx.s.phase;
  if (phase.name === "storing-credentials") {
    tx.persist(DURABLE.credentials, phase.credentials, { credentials: true });
  }
  for (const entry of openEntries(tx.s.journal)) {
    if (entry.persistRef === null) continue;
    const again: JournalEntry = { ...entry, persistRef: tx.pendingPersistRef() };
    tx.set({ journal: putEntry(tx.s.journal, again) });
    tx.persist(DURABLE.journalKey(entry.key), toDurable(again), { journalKey: entry.key });
  }
  rewriteUndurableStatuses(tx, Number.MAX_SAFE_INTEGER);
};

/**
 * Status rows written in failed batches (up to `failedUpTo`) are written again at once, with
 * a new ref: a later successful batch must not make them look durable (results are
 * cumulative), and they must not go out before they are.
 */
const rewriteUndurableStatuses = (tx: Tx, failedUpTo: number): void => {
  const queued = toArray(tx.s.outbox["operation-status"].queue);
  const undurable = (e: OutboxEntry) =>
    e.durableAfter !== undefined && e.durableAfter > tx.s.persistedUpTo && e.durableAfter <= failedUpTo;
  if (!queued.some(undurable)) return;
  const rewritten = queued.map((e) => {
    if (!undurable(e)) return e;
    const again = { ...e, durableAfter: tx.pendingPersistRef() };
    tx.persist(DURABLE.outboxKey(e.ref), again);
    return again;
  });
  tx.set({ outbox: replaceQueued(tx.s.outbox, "operation-status", rewritten, []) });
};
