/**
 * The operation journal: every operation the engine has taken responsibility for, until
 * the platform has acknowledged its terminal status.
 *
 * Why it exists:
 * - Id-less status updates (501/502/503) act on the *oldest* operation of a fragment, so
 *   operations of one (device, fragment) must run strictly one at a time in arrival order
 *   (thin-edge #1831 "leap-frog"). The journal is that per-fragment FIFO.
 * - Static `s/ds` lines carry no operation id, and `500` re-sends every PENDING operation;
 *   a line equal to an entry the platform still sees as PENDING is a redelivery and is
 *   ignored (and `500` is asked again once that entry ends, in case it was a real twin).
 * - Entries are persisted before an operation is handed out, and stage changes are
 *   persisted atomically with the status row that announces them, so after a crash the
 *   engine knows exactly which operations were executing (see `recoverAfterRestart` in lifecycle/boot.ts).
 */
import * as t from "io-ts";
import type { Operation } from "../smartrest/downstream.js";
import type { Row } from "../smartrest/types.js";
import { ceiling, compareStrings, emptyMap, get, remove, set, values, type PMap } from "./pmap.js";
import {
  emptyIndex,
  firstWithPrefix,
  isSightedNow,
  lineKey,
  newRound,
  reindex,
  sight,
  type JournalIndex,
} from "./journal-index.js";

/** An operation rendered by a custom response template on `s/dc/<xid>`. */
export interface CustomOperation {
  readonly template: "custom";
  readonly xid: string;
  readonly messageId: string;
  readonly fragment: string;
  readonly deviceId: string;
  /** The line's values after the target device id. */
  readonly values: readonly string[];
  /** The platform's operation id, when the template carries it. */
  readonly operationId?: string;
}

export type AnyOperation = Operation | CustomOperation;

export type JournalStage = "received" | "executing" | "finished";

export interface JournalEntry {
  readonly key: string;
  readonly seq: number;
  /**
   * Position in its (device, fragment) queue: the sequence number of the line's latest
   * sighting while not started. A `500` answer lists PENDING operations oldest first, so a
   * line seen again there moves behind lines first seen earlier but older on the platform
   * (a live push can overtake the answer: "push-before-500", found by the fake world).
   */
  readonly order: number;
  readonly deviceId: string;
  readonly fragment: string;
  /** The line as received, for redelivery detection. */
  readonly raw: Row;
  /** The decoded operation, or null when it cannot be executed (see `failure`). */
  readonly operation: AnyOperation | null;
  /** Custom collection the line came from (`s/dc/<xid>`), or null for `s/ds`. */
  readonly xid: string | null;
  /** Platform operation id when known: status then goes by id (504/505/506). */
  readonly operationId: string | null;
  /**
   * The `devicecontrol/notifications` payload the operation came from (by-id mode), or null for
   * a line. `raw` then holds the equivalent static row, so an `s/ds` line for the same operation
   * is recognised as a redelivery.
   */
  readonly json: string | null;
  /** Why the operation will be failed without being handed out (malformed, unsupported). */
  readonly failure: string | null;
  readonly stage: JournalStage;
  /** The platform acknowledged our 501 for it: it is no longer PENDING there. */
  readonly executingAcked: boolean;
  /** `execute-operation` was emitted since this engine started (not persisted). */
  readonly handedOut: boolean;
  /** Ref of the persist that carries this entry's current stage (-1: its write failed, to retry), or null once durable. */
  readonly persistRef: number | null;
  /** Identical lines ignored while this entry was PENDING on the platform. */
  readonly duplicates: number;
  /**
   * Found executing at the start with a resumable fragment: handed out again with `resumed`
   * (in memory only: a crash during the resumption finds it executing again).
   */
  readonly resumed?: true;
}

export interface Journal {
  readonly entries: PMap<string, JournalEntry>;
  readonly nextSeq: number;
  /** Indexes and counts kept with every change (journal-index.ts): each lookup is O(log n). */
  readonly index: JournalIndex;
}

export const emptyJournal: Journal = { entries: emptyMap(compareStrings), nextSeq: 1, index: emptyIndex };

export const journalKey = (seq: number): string => `op-${seq}`;

/** Durable form of an entry (what `persist` writes under `journal/<key>`). */
export const DurableJournalEntryCodec = t.intersection([
  t.type({
    key: t.string,
    seq: t.number,
    deviceId: t.string,
    fragment: t.string,
    raw: t.array(t.string),
    failure: t.union([t.string, t.null]),
    stage: t.union([t.literal("received"), t.literal("executing"), t.literal("finished")]),
  }),
  t.partial({ xid: t.string, order: t.number, json: t.string, operationId: t.string }),
]);
export type DurableJournalEntry = t.TypeOf<typeof DurableJournalEntryCodec>;

export const toDurable = (e: JournalEntry): DurableJournalEntry => ({
  key: e.key,
  seq: e.seq,
  deviceId: e.deviceId,
  fragment: e.fragment,
  raw: [...e.raw],
  failure: e.failure,
  stage: e.stage,
  order: e.order,
  ...(e.xid === null ? {} : { xid: e.xid }),
  ...(e.json === null ? {} : { json: e.json }),
  ...(e.operationId === null ? {} : { operationId: e.operationId }),
});

/** Every entry, in key order. O(n): for session-level passes, snapshots and tests, never per row. */
export const openEntries = (journal: Journal): JournalEntry[] => values(journal.entries);

export const entryOf = (journal: Journal, key: string): JournalEntry | undefined => get(journal.entries, key);

export const sameRow = (a: Row, b: Row): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * The entry a freshly received line duplicates: the same line while its entry is still in
 * the journal (until its terminal status is acknowledged), whatever the stage; the oldest if
 * several. `500` answers are asynchronous and may arrive after our 501 was acknowledged, or
 * after a crash finished the entry locally while the platform still had it PENDING (both
 * found by the fake world). A genuine identical twin is not lost: when an entry that
 * suppressed duplicates ends, the engine asks for PENDING operations (`500`) again.
 */
export const findRedelivered = (journal: Journal, raw: Row, xid: string | null): JournalEntry | undefined =>
  keyed(journal, firstWithPrefix(journal.index.byLine, [lineKey(xid, raw)]));

/** The oldest id-less entry of `s/ds` line `raw` (an operation journaled from its line). */
export const findIdlessLine = (journal: Journal, raw: Row): JournalEntry | undefined =>
  keyed(journal, firstWithPrefix(journal.index.byIdlessLine, [lineKey(null, raw)]));

/** The oldest unfinished entry of (device, fragment): the only one that may run. */
export const headOf = (journal: Journal, deviceId: string, fragment: string): JournalEntry | undefined =>
  keyed(journal, firstWithPrefix(journal.index.queues, [deviceId, fragment]));

/** Whether (device, fragment) has any entry left, finished or not. */
export const groupHasEntries = (journal: Journal, deviceId: string, fragment: string): boolean =>
  firstWithPrefix(journal.index.groups, [deviceId, fragment]) !== undefined;

/** The lowest sequence number of (device, fragment), if it has entries. */
export const groupFirstSeq = (journal: Journal, deviceId: string, fragment: string): number | undefined => {
  const found = ceiling(journal.index.groups, [deviceId, fragment]);
  return found !== undefined && found[0][0] === deviceId && found[0][1] === fragment
    ? (found[0][2] as number)
    : undefined;
};

/** The entry of platform operation `operationId`, whichever channel it came from. */
export const findById = (journal: Journal, operationId: string): JournalEntry | undefined =>
  get(journal.entries, byIdKey(operationId)) ??
  keyed(journal, firstWithPrefix(journal.index.byOperationId, [operationId]));

/** Journal key of an operation that arrived with its id (JSON): stable across redeliveries. */
export const byIdKey = (operationId: string): string => `id-${operationId}`;

export const unfinishedCount = (journal: Journal): number => journal.index.counts.unfinished;

/** Whether any entry has no operation id (its statuses go by fragment). */
export const hasIdlessEntries = (journal: Journal): boolean => journal.index.counts.idless > 0;

const keyed = (journal: Journal, key: string | undefined): JournalEntry | undefined =>
  key === undefined ? undefined : get(journal.entries, key);

export const putEntry = (journal: Journal, entry: JournalEntry): Journal => {
  const before = get(journal.entries, entry.key);
  return {
    entries: set(journal.entries, entry.key, entry),
    nextSeq: Math.max(journal.nextSeq, entry.seq + 1, entry.order + 1),
    index: reindex(journal.index, before, entry),
  };
};

/** Moves a not-yet-started entry behind every entry seen so far (a fresh sighting). */
export const bumpOrder = (journal: Journal, entry: JournalEntry): Journal =>
  putEntry(journal, { ...entry, order: journal.nextSeq });

export const removeEntry = (journal: Journal, key: string): Journal => {
  const before = get(journal.entries, key);
  if (before === undefined) return journal;
  return {
    entries: remove(journal.entries, key),
    nextSeq: journal.nextSeq,
    index: reindex(journal.index, before, undefined),
  };
};

/** Starts a new settling round: sightings of earlier rounds no longer count. */
export const beginSightings = (journal: Journal): Journal => ({ ...journal, index: newRound(journal.index) });

/** Entry `key`'s line was seen again in the current settling round. */
export const markSighted = (journal: Journal, key: string): Journal => {
  const entry = get(journal.entries, key);
  return entry === undefined ? journal : { ...journal, index: sight(journal.index, entry) };
};

/** Whether entry `key` was seen in the current settling round. */
export const sightedNow = (journal: Journal, key: string): boolean => isSightedNow(journal.index, key);

/**
 * Whether every entry waiting to start was seen in the current settling round; in a by-id
 * session only the id-less ones count (lines of operations known by id are skipped).
 */
export const waitingAllSighted = (journal: Journal, byId: boolean): boolean => {
  const c = journal.index.counts;
  return byId
    ? c.receivedIdless === c.sightedIdless
    : c.receivedIdless + c.receivedWithId === c.sightedIdless + c.sightedWithId;
};
