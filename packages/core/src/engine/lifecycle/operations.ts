/**
 * Step B, operations: journaling an incoming operation line (absorbing redeliveries and
 * tombstoned lines), running one operation per (device, fragment) at a time, finishing it on
 * the application's result, and forgetting it once its terminal status is delivered (kept a
 * while as a tombstone). See journal.ts for why.
 */
import * as E from "fp-ts/lib/Either.js";
import type { OperationOutcome } from "../events.js";
import type { OutboxEntry } from "../outbox.js";
import {
  bumpOrder,
  entryOf,
  findRedelivered,
  groupFirstSeq,
  groupHasEntries,
  headOf,
  journalKey,
  openEntries,
  putEntry,
  removeEntry,
  toDurable,
  unfinishedCount,
  type JournalEntry,
} from "../journal.js";
import { gateOpen } from "../state.js";
import {
  countDuplicate,
  expire,
  findTombstone,
  layTombstone,
  nextExpiry,
  type Tombstone,
} from "../tombstones.js";
import { DURABLE } from "../durable.js";
import { validateChildId } from "../../smartrest/topics.js";
import type { Row } from "../../smartrest/types.js";
import { customCandidate, idlessTwinRow, staticCandidate } from "./candidates.js";
import { rememberFinished } from "./by-id.js";
import { onLineForProbes, onProbedTerminalDelivered } from "./resync.js";
import { enqueueStatus, terminalStatusRow } from "./statuses.js";
import type { Tx } from "./tx.js";

/**
 * Journals an operation line, or absorbs it as a redelivery. Returns the journal key of the
 * operation the line names (new or redelivered) so the router can note the sighting while
 * settling; undefined when the line was ignored or buried.
 */
export const onOperationLine = (tx: Tx, row: Row, xid: string | null): string | undefined => {
  const decoded = xid === null ? staticCandidate(tx.config, row) : customCandidate(tx.config, xid, row);
  if ("report" in decoded) {
    tx.report(decoded.report);
    return undefined;
  }
  if (xid === null && tx.s.session.operationsById) {
    // The same operation arrives with its id on devicecontrol/notifications (lifecycle/by-id.ts).
    tx.count((c) => ({ operationsStaticSkipped: c.operationsStaticSkipped + 1 }));
    return undefined;
  }
  const { deviceId, fragment, operation, failure, operationId } = decoded.candidate;
  if (deviceId !== tx.config.deviceId && E.isLeft(validateChildId(deviceId))) {
    // Its status would need a topic level this id cannot be: nothing safe to answer.
    tx.report({
      kind: "operation-ignored",
      reason: `target device id "${deviceId}" is not a valid topic level`,
      raw: row,
    });
    return undefined;
  }
  tx.count((c) => ({ operationsReceived: c.operationsReceived + 1 }));
  if (xid === null && tx.s.probes.length > 0) onLineForProbes(tx, deviceId, row);
  expireTombstones(tx);
  const buried = findTombstone(tx.s.tombstones, xid, row);
  if (buried !== undefined) {
    tx.count((c) => ({ operationsDuplicate: c.operationsDuplicate + 1 }));
    tx.set({ tombstones: countDuplicate(tx.s.tombstones, buried) });
    return undefined;
  }
  const sibling = xid === null ? siblingOf(tx, idlessTwinRow(operation)) : undefined;
  if (sibling !== undefined) return sibling.key;
  const twin = findRedelivered(tx.s.journal, row, xid);
  if (twin !== undefined) {
    tx.count((c) => ({ operationsDuplicate: c.operationsDuplicate + 1 }));
    const counted = { ...twin, duplicates: twin.duplicates + 1 };
    // Seen again while not started: it is still PENDING, behind what was seen before.
    tx.set({
      journal: twin.stage === "received" ? bumpOrder(tx.s.journal, counted) : putEntry(tx.s.journal, counted),
    });
    return twin.key;
  }
  if (unfinishedCount(tx.s.journal) >= tx.config.maxOpenOperations) {
    // Not journaled: it stays PENDING on the platform and comes back with a later 500.
    tx.report({ kind: "operation-ignored", reason: "too many open operations", raw: row });
    return undefined;
  }
  const seq = tx.s.journal.nextSeq;
  const entry: JournalEntry = {
    key: journalKey(seq),
    seq,
    order: seq,
    deviceId,
    fragment,
    raw: row,
    operation,
    xid,
    operationId,
    json: null,
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

/**
 * The operation an id-less twin line belongs to (a 531 after its 527): journaled (its key), or
 * ended (buried, no key). Not counted as a duplicate: the platform sends both lines for one
 * operation every time, nothing was redelivered.
 */
const siblingOf = (tx: Tx, twinRow: Row | undefined): { key: string | undefined } | undefined => {
  if (twinRow === undefined) return undefined;
  const journaled = findRedelivered(tx.s.journal, twinRow, null);
  if (journaled !== undefined) return { key: journaled.key };
  return findTombstone(tx.s.tombstones, null, twinRow) === undefined ? undefined : { key: undefined };
};

/** Starts whatever operation may run now, for every (device, fragment). */
export const advanceAll = (tx: Tx): void => {
  const seen = new Set<string>();
  for (const e of openEntries(tx.s.journal).sort((a, b) => a.seq - b.seq)) {
    const k = `${e.deviceId}\u0000${e.fragment}`;
    if (seen.has(k)) continue;
    seen.add(k);
    advance(tx, e.deviceId, e.fragment);
  }
};

/**
 * Starts whatever may run now in the (device, fragment) groups of `keys`, in the order
 * `advanceAll` would visit them: after a persist, only groups whose entries just became
 * durable can have changed (O(k log n), not a pass over the whole journal).
 */
export const advanceGroupsOf = (tx: Tx, keys: readonly string[]): void => {
  const groups = new Map<string, { deviceId: string; fragment: string; firstSeq: number }>();
  for (const key of keys) {
    const e = entryOf(tx.s.journal, key);
    if (e === undefined) continue;
    const k = `${e.deviceId}\u0000${e.fragment}`;
    if (groups.has(k)) continue;
    const firstSeq = groupFirstSeq(tx.s.journal, e.deviceId, e.fragment) ?? e.seq;
    groups.set(k, { deviceId: e.deviceId, fragment: e.fragment, firstSeq });
  }
  for (const g of [...groups.values()].sort((a, b) => a.firstSeq - b.firstSeq))
    advance(tx, g.deviceId, g.fragment);
};

export const advance = (tx: Tx, deviceId: string, fragment: string): void => {
  for (;;) {
    const head = headOf(tx.s.journal, deviceId, fragment);
    if (head === undefined || head.persistRef !== null) return;
    // Id-less operations start only once the 500 answer has settled on an open gate: until
    // then an older PENDING operation may yet show up (and 501 would land on it). Operations
    // known by id need no such wait: their status names them.
    const waitForSettling = head.operationId === null && tx.s.session.settle !== null;
    if (head.stage === "received" && (waitForSettling || !gateOpen(tx.s.phase))) return;
    if (head.stage === "executing") {
      if (!head.handedOut && head.operation !== null) {
        tx.set({ journal: putEntry(tx.s.journal, { ...head, handedOut: true }) });
        tx.emit({
          type: "execute-operation",
          key: head.key,
          deviceId,
          fragment,
          operation: head.operation,
          ...(head.resumed === true ? { resumed: true as const } : {}),
        });
      }
      return;
    }
    // stage "received", durable: announce EXECUTING together with the stage change.
    enqueueStatus(
      tx,
      head,
      head.operationId === null ? ["501", fragment] : ["504", head.operationId],
      "executing",
    );
    if (head.failure !== null || head.operation === null) {
      const reason = head.failure ?? "operation could not be decoded";
      tx.count((c) => ({ operationsFailed: c.operationsFailed + 1 }));
      tx.report({ kind: "operation-failed", key: head.key, fragment, reason });
      finishOperation(tx, head, { status: "failed", reason });
      continue; // the next operation of this fragment may start
    }
    const executing: JournalEntry = { ...head, stage: "executing", persistRef: tx.pendingPersistRef() };
    tx.set({ journal: putEntry(tx.s.journal, executing) });
    tx.persist(DURABLE.journalKey(head.key), toDurable(executing), { journalKey: head.key });
    return;
  }
};

/** Queues the terminal status (persisted with the stage change) and lets the next operation start. */
export const finishOperation = (tx: Tx, entry: JournalEntry, outcome: OperationOutcome): void => {
  const row = terminalStatusRow(entry, outcome);
  const finished: JournalEntry = { ...entry, stage: "finished", persistRef: null };
  tx.set({ journal: putEntry(tx.s.journal, finished) });
  tx.persist(DURABLE.journalKey(entry.key), toDurable(finished));
  enqueueStatus(tx, finished, row, "terminal");
};

export const onStatusDelivered = (tx: Tx, status: OutboxEntry): void => {
  const opKey = status.opKey ?? "";
  if (opKey.endsWith("#executing")) {
    const entry = entryOf(tx.s.journal, opKey.slice(0, -"#executing".length));
    if (entry !== undefined) tx.set({ journal: putEntry(tx.s.journal, { ...entry, executingAcked: true }) });
    return;
  }
  const entry = entryOf(tx.s.journal, opKey);
  if (entry === undefined || entry.stage !== "finished") return;
  tx.set({ journal: removeEntry(tx.s.journal, opKey) });
  tx.persist(DURABLE.journalKey(opKey), null);
  if (entry.operationId !== null) rememberFinished(tx, entry.operationId);
  onProbedTerminalDelivered(tx, entry.key, status.line);
  cleanUpIfQuiet(tx, entry);
  // Keep the line a while: a 500 answer produced before our statuses were processed can
  // still be on its way (found by the fake world). In memory only: bounded by time.
  const tombstone: Tombstone = {
    raw: entry.raw,
    xid: entry.xid,
    untilMs: tx.now + tx.config.tombstoneMs,
    duplicates: entry.duplicates,
    operationId: entry.operationId,
  };
  tx.set({ tombstones: layTombstone(tx.s.tombstones, tombstone) });
  scheduleTombstones(tx);
};

/**
 * Notes that (device, fragment) needs a cleanup once quiet (see `cleanupGroups`). `afterReboot`:
 * the 501 that may have started a stray is a restart's, re-sent after this device rebooted.
 */
export const markForCleanup = (tx: Tx, deviceId: string, fragment: string, afterReboot = false): void => {
  const i = tx.s.cleanupGroups.findIndex(([d, f]) => d === deviceId && f === fragment);
  const marks = i < 0 ? tx.s.cleanupGroups : tx.s.cleanupGroups.filter((_, k) => k !== i);
  const both = i < 0 ? afterReboot : afterReboot && tx.s.cleanupGroups[i]![2];
  tx.set({ cleanupGroups: [...marks, [deviceId, fragment, both]] });
};

/**
 * Once a marked group has no open operation, `507,<fragment>` fails any EXECUTING operation of
 * that fragment on that device: none is ours (every one of ours has ended and its status was
 * acknowledged), so it can only be one a replayed 501 started. Statuses go out in order, so a
 * later operation's 501 cannot be overtaken by this 507.
 */
const cleanUpIfQuiet = (tx: Tx, ended: JournalEntry): void => {
  const marked = tx.s.cleanupGroups.findIndex(([d, f]) => d === ended.deviceId && f === ended.fragment);
  if (marked < 0) return;
  if (groupHasEntries(tx.s.journal, ended.deviceId, ended.fragment)) return;
  const afterReboot = tx.s.cleanupGroups[marked]![2];
  tx.set({ cleanupGroups: tx.s.cleanupGroups.filter((_, i) => i !== marked) });
  // A stray restart that a 501 re-sent right after this device rebooted started was PENDING
  // when the first session after that reboot settled: the device has just restarted, so it
  // ends SUCCESSFUL (a restart is executed by restarting); any other stray is failed.
  const row =
    afterReboot && ended.fragment === RESTART
      ? ["503", RESTART]
      : ["507", ended.fragment, "c8ylink: a status row may have been applied twice"];
  enqueueStatus(tx, ended, row, undefined);
};

const RESTART = "c8y_Restart";

/**
 * Drops expired tombstones. One that absorbed identical lines may have hidden a genuine
 * second operation: then the engine asks for PENDING operations (500) again.
 */
export const expireTombstones = (tx: Tx): void => {
  const next = nextExpiry(tx.s.tombstones);
  if (next === undefined || next > tx.now) return;
  const { tombstones, absorbed } = expire(tx.s.tombstones, tx.now);
  tx.set({ tombstones });
  if (absorbed) enqueueStatus(tx, undefined, ["500"], undefined);
};

export const scheduleTombstones = (tx: Tx): void => {
  const next = nextExpiry(tx.s.tombstones);
  if (next === undefined) tx.cancelTimer("tombstones");
  else if (tx.s.timers.tombstones !== next) tx.setTimer("tombstones", next);
};

export const onOperationResult = (tx: Tx, key: string, outcome: OperationOutcome): void => {
  const entry = entryOf(tx.s.journal, key);
  if (entry === undefined || entry.stage !== "executing" || !entry.handedOut) {
    tx.count((c) => ({ invalidInputs: c.invalidInputs + 1 }));
    tx.report({
      kind: "invalid-input",
      source: "operation-result",
      reason:
        entry === undefined
          ? `unknown operation ${key}`
          : `operation ${key} is not executing (${entry.stage})`,
    });
    return;
  }
  if (outcome.status === "failed") tx.count((c) => ({ operationsFailed: c.operationsFailed + 1 }));
  finishOperation(tx, entry, outcome);
  advance(tx, entry.deviceId, entry.fragment);
};
