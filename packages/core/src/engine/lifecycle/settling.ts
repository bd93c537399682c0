/**
 * Settling after every gate open: holding operations and statuses until the 500 answer is
 * acknowledged and quiet, then resolving uncertain id-less statuses with the prefix rule.
 * Body of the `settle` timer.
 */
import {
  beginSightings,
  entryOf,
  groupHasEntries,
  markSighted,
  openEntries,
  sightedNow,
  waitingAllSighted,
  type JournalEntry,
} from "../journal.js";
import { replaceQueued, type OutboxEntry } from "../outbox.js";
import { toArray } from "../queue.js";
import { DURABLE } from "../durable.js";
import { advanceAll, markForCleanup, onStatusDelivered } from "./operations.js";
import { pump } from "./outbox-pump.js";
import { canProbe, probeStart } from "./resync.js";
import { journalKeyOf } from "./statuses.js";
import { maybeFinishStop } from "./stop.js";
import type { SettleState } from "../state.js";
import type { Tx } from "./tx.js";

// The 500 sent when the gate opens is answered asynchronously, line by line, and a live
// push may overtake the answer. Until the 500 is acknowledged and its answer has then been
// quiet for `settleMs` (at most 5×), the engine starts no new operation and sends no
// operation status:
// - operations then start in the order of their latest sighting (the answer lists
//   PENDING operations oldest first), so 501/503 land on the operation they mean;
// - id-less statuses that may already have been applied (in flight at a connection loss,
//   or restored after a crash) are resolved with the prefix rule. Statuses of one
//   (device, fragment) go out in journal order and the platform applies publishes in order,
//   so if the latest operation we announced is no longer PENDING (the answer did not list
//   it), its 501 was applied and so was every row of the operations before it: those rows
//   are dropped instead of re-sent (a replayed 501 would start the next PENDING operation;
//   a replayed 503 or 502 would end it). The rest is re-sent: replaying it is harmless, as
//   no later operation of that fragment is EXECUTING.

/** At gate open: hold operations and statuses until the 500 is acknowledged and its answer is quiet. */
export const startSettling = (tx: Tx): void => {
  tx.set({ journal: beginSightings(tx.s.journal) });
  tx.setSession({ settle: { quiet: false, deadlineMs: Number.MAX_SAFE_INTEGER } });
};

const setSettle = (tx: Tx, settle: SettleState, patch: Partial<SettleState>): void => {
  tx.setSession({ settle: { ...settle, ...patch } });
};

/**
 * The 500 was acknowledged: the platform has it, so its answer is on the way. Only now does
 * silence mean something (a 500 lost with its connection proves nothing about PENDING).
 */
export const on500Acknowledged = (tx: Tx): void => {
  const settle = tx.s.session.settle;
  if (settle === null || tx.s.timers.settle !== undefined) return;
  const { settleMs } = tx.config;
  if (settleMs === 0) {
    endSettling(tx);
    return;
  }
  setSettle(tx, settle, { deadlineMs: tx.now + 5 * settleMs });
  tx.setTimer("settle", tx.now + settleMs);
};

/**
 * Every operation waiting to start is PENDING on the platform, so the answer must list it:
 * once each has been seen again, the answer has also delivered every older PENDING one.
 */
const answerCoversJournal = (tx: Tx): boolean =>
  // In a by-id session `s/ds` lines are skipped: operations known by id are never sighted.
  waitingAllSighted(tx.s.journal, tx.s.session.operationsById);

/** An operation line named journal entry `key`: while settling, the answer is not quiet yet. */
export const onSighted = (tx: Tx, key: string): void => {
  const settle = tx.s.session.settle;
  if (settle === null) return;
  tx.set({ journal: markSighted(tx.s.journal, key) });
  extendSettling(tx, settle);
};

/** After an operation line while settling: end once quiet and covered, else push the quiet deadline. */
const extendSettling = (tx: Tx, settle: SettleState): void => {
  if (tx.s.timers.settle === undefined) return; // the 500 is not acknowledged yet
  if (settle.quiet) {
    if (answerCoversJournal(tx)) endSettling(tx);
    return;
  }
  const at = Math.min(tx.now + tx.config.settleMs, settle.deadlineMs);
  if ((tx.s.timers.settle ?? 0) < at) tx.setTimer("settle", at);
};

/** The `settle` timer: the answer was quiet for `settleMs`, or the deadline is reached. */
export const onSettleTimer = (tx: Tx): void => {
  const settle = tx.s.session.settle;
  if (settle === null) return;
  if (answerCoversJournal(tx) || tx.now >= settle.deadlineMs) endSettling(tx);
  else {
    // Quiet, but not every waiting operation came back in the answer yet: wait for it
    // (a late answer line ends settling) or for the deadline.
    setSettle(tx, settle, { quiet: true });
    tx.setTimer("settle", settle.deadlineMs);
  }
};

const endSettling = (tx: Tx): void => {
  tx.cancelTimer("settle");
  resolveUncertain(tx);
  tx.setSession({ settle: null });
  advanceAll(tx);
  pump(tx);
  maybeFinishStop(tx);
};

/** (device, fragment) a queued `507,<fragment>` row cleans up; undefined for a device-wide one. */
const cleanupGroupOf = (tx: Tx, row: OutboxEntry): readonly [string, string] | undefined => {
  const fragment = row.line.split(",")[1] ?? "";
  if (fragment === "") return undefined;
  const deviceId = row.topic.startsWith("s/us/") ? row.topic.slice("s/us/".length) : tx.config.deviceId;
  return [deviceId, fragment];
};

/** Applies the prefix rule to the queued uncertain statuses (see above). */
const resolveUncertain = (tx: Tx): void => {
  const queued = toArray(tx.s.outbox["operation-status"].queue);
  if (!queued.some((e) => e.uncertain === true || e.template === "507")) return;
  const groupKey = (e: JournalEntry) => `${e.deviceId}\u0000${e.fragment}`;
  // Per (device, fragment): the latest operation the platform no longer lists as PENDING
  // although we announced it: its 501 was applied, and so was every row before it.
  const anchors = new Map<string, JournalEntry>();
  for (const e of openEntries(tx.s.journal)) {
    // Only id-less operations are seen again in the answer (by-id ones skip s/ds lines).
    if (e.stage === "received" || e.operationId !== null || sightedNow(tx.s.journal, e.key)) continue;
    const current = anchors.get(groupKey(e));
    if (current === undefined || e.order > current.order) anchors.set(groupKey(e), e);
  }
  const applied: OutboxEntry[] = [];
  const kept: OutboxEntry[] = [];
  const withdrawn: OutboxEntry[] = [];
  for (const row of queued) {
    const key = journalKeyOf(row);
    const entry = key === undefined ? undefined : entryOf(tx.s.journal, key);
    const anchor = entry === undefined ? undefined : anchors.get(groupKey(entry));
    const wasApplied =
      row.uncertain === true &&
      entry !== undefined &&
      anchor !== undefined &&
      (entry.order < anchor.order || (entry.key === anchor.key && row.template === "501"));
    const cleanup = row.template === "507" ? cleanupGroupOf(tx, row) : undefined;
    if (wasApplied) {
      applied.push(row);
      // Inferred from the answer, which may have come too late to list it: watched too.
      if (row.template === "501" && canProbe(tx)) probeStart(tx, entry);
    } else if (row.uncertain === true && key !== undefined && entry === undefined) {
      // Its operation's terminal status was acknowledged (only that removes an entry), and
      // statuses go out in order: this row was applied before. A stale copy restored after a
      // crash (its deletion was not durable yet); re-sending it would act on another operation.
      withdrawn.push(row);
    } else if (cleanup !== undefined && groupHasEntries(tx.s.journal, cleanup[0], cleanup[1])) {
      // A 507 that may already have been applied (in flight at a connection loss, or restored
      // after a crash) would fail whatever of ours runs in that group now: it goes out afresh
      // once the group is quiet instead.
      withdrawn.push(row);
      markForCleanup(tx, cleanup[0], cleanup[1]);
    } else {
      kept.push(row.uncertain === true ? { ...row, uncertain: false } : row);
      // Re-sending a 501 that may already have been applied can start another PENDING
      // operation of its fragment, one this device never hears of: clean up after the group.
      if (row.uncertain === true && row.template === "501" && entry !== undefined) {
        // A restart recovered after this device rebooted (finished without being handed out).
        const rebooted =
          entry.fragment === "c8y_Restart" &&
          entry.stage === "finished" &&
          !entry.handedOut &&
          entry.failure === null;
        markForCleanup(tx, entry.deviceId, entry.fragment, rebooted);
      }
    }
  }
  tx.set({ outbox: replaceQueued(tx.s.outbox, "operation-status", kept, [...applied, ...withdrawn]) });
  for (const e of withdrawn) tx.persist(DURABLE.outboxKey(e.ref), null);
  if (withdrawn.length > 0) {
    // Stale copies of applied rows, and 507s deferred to a fresh copy: not sent.
    const reason = "operation-status-withdrawn";
    tx.count((c) => ({
      dropped: c.dropped + withdrawn.length,
      droppedByReason: {
        ...c.droppedByReason,
        [reason]: (c.droppedByReason[reason] ?? 0) + withdrawn.length,
      },
    }));
  }
  if (applied.length === 0) return;
  tx.count((c) => ({ delivered: c.delivered + applied.length }));
  for (const e of applied) {
    tx.persist(DURABLE.outboxKey(e.ref), null);
    onStatusDelivered(tx, e);
  }
  tx.report({ kind: "delivered", refs: applied.map((e) => e.ref) });
};
