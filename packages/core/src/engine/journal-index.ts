/**
 * The journal's indexes and counts, kept up to date with every entry change, so that each
 * lookup an operation row needs (redelivery, head of its queue, open count, coverage of the
 * `500` answer) is O(log n) instead of a scan of the whole journal.
 *
 * Every index maps a tuple ending in the entry's sequence number to the entry's key, so the
 * first match of a prefix is the oldest entry with it. See journal.ts for what they serve.
 */
import type { JournalEntry } from "./journal.js";
import type { Row } from "../smartrest/types.js";
import { ceiling, compareStrings, compareTuples, emptyMap, get, remove, set, type PMap } from "./pmap.js";

type TupleKey = readonly (string | number)[];
type Index = PMap<TupleKey, string>;

export interface JournalCounts {
  /** Entries not finished: bounded by `maxOpenOperations`. */
  readonly unfinished: number;
  /** Entries without an operation id (their statuses go by fragment). */
  readonly idless: number;
  /** Entries waiting to start (stage "received"), without / with an operation id. */
  readonly receivedIdless: number;
  readonly receivedWithId: number;
  /** Of those, the ones seen in the current settling round. */
  readonly sightedIdless: number;
  readonly sightedWithId: number;
}

export interface JournalIndex {
  /** [line key, seq]: every entry by its line (and custom collection). */
  readonly byLine: Index;
  /** [line key, seq]: id-less entries of `s/ds` lines. */
  readonly byIdlessLine: Index;
  /** [operation id, seq]: entries that know their platform id. */
  readonly byOperationId: Index;
  /** [device, fragment, order, seq]: unfinished entries, in queue order per (device, fragment). */
  readonly queues: Index;
  /** [device, fragment, seq]: every entry per (device, fragment). */
  readonly groups: Index;
  /** Journal key → settling round in which its line was last seen. */
  readonly sighted: PMap<string, number>;
  readonly round: number;
  readonly counts: JournalCounts;
}

const emptyTupleIndex: Index = emptyMap(compareTuples);

export const emptyIndex: JournalIndex = {
  byLine: emptyTupleIndex,
  byIdlessLine: emptyTupleIndex,
  byOperationId: emptyTupleIndex,
  queues: emptyTupleIndex,
  groups: emptyTupleIndex,
  sighted: emptyMap(compareStrings),
  round: 0,
  counts: {
    unfinished: 0,
    idless: 0,
    receivedIdless: 0,
    receivedWithId: 0,
    sightedIdless: 0,
    sightedWithId: 0,
  },
};

/** One unambiguous string per (custom collection, line). */
export const lineKey = (xid: string | null, raw: Row): string => JSON.stringify([xid, raw]);

/** The value of the smallest key starting with `prefix`, if any. */
export const firstWithPrefix = (index: Index, prefix: TupleKey): string | undefined => {
  const found = ceiling(index, prefix);
  if (found === undefined) return undefined;
  return prefix.every((p, i) => found[0][i] === p) ? found[1] : undefined;
};

type IndexName = "byLine" | "byIdlessLine" | "byOperationId" | "queues" | "groups";

/** The key of `e` in index `name` (`line`: its line key), or undefined when `e` does not belong to it. */
const keyIn = (name: IndexName, e: JournalEntry, line: () => string): TupleKey | undefined => {
  switch (name) {
    case "byLine":
      return [line(), e.seq];
    case "byIdlessLine":
      return e.operationId === null && e.xid === null ? [line(), e.seq] : undefined;
    case "byOperationId":
      return e.operationId === null ? undefined : [e.operationId, e.seq];
    case "queues":
      return e.stage === "finished" ? undefined : [e.deviceId, e.fragment, e.order, e.seq];
    case "groups":
      return [e.deviceId, e.fragment, e.seq];
  }
};

/** The indexes whose key for an entry may differ between `a` and `b` (most updates change none). */
const changedIndexes = (a: JournalEntry | undefined, b: JournalEntry | undefined): IndexName[] => {
  if (a === undefined || b === undefined || a.key !== b.key || a.seq !== b.seq) {
    return ["byLine", "byIdlessLine", "byOperationId", "queues", "groups"];
  }
  const out: IndexName[] = [];
  const line = a.raw !== b.raw || a.xid !== b.xid;
  if (line) out.push("byLine");
  if (line || a.operationId !== b.operationId) out.push("byIdlessLine");
  if (a.operationId !== b.operationId) out.push("byOperationId");
  const group = a.deviceId !== b.deviceId || a.fragment !== b.fragment;
  if (group || a.order !== b.order || (a.stage === "finished") !== (b.stage === "finished"))
    out.push("queues");
  if (group) out.push("groups");
  return out;
};

const sameKey = (a: TupleKey | undefined, b: TupleKey | undefined): boolean =>
  a === undefined || b === undefined ? a === b : compareTuples(a, b) === 0;

const lazyLineKey = (e: JournalEntry): (() => string) => {
  let cached: string | undefined;
  return () => (cached ??= lineKey(e.xid, e.raw));
};

type MutableCounts = { -readonly [K in keyof JournalCounts]: number };

const count = (c: MutableCounts, e: JournalEntry, sightedNow: boolean, sign: 1 | -1): void => {
  if (e.stage !== "finished") c.unfinished += sign;
  if (e.operationId === null) c.idless += sign;
  if (e.stage !== "received") return;
  if (e.operationId === null) c.receivedIdless += sign;
  else c.receivedWithId += sign;
  if (!sightedNow) return;
  if (e.operationId === null) c.sightedIdless += sign;
  else c.sightedWithId += sign;
};

export const isSightedNow = (index: JournalIndex, key: string): boolean =>
  get(index.sighted, key) === index.round;

/** The index after entry `before` (undefined: none) became `after` (undefined: removed). */
export const reindex = (
  index: JournalIndex,
  before: JournalEntry | undefined,
  after: JournalEntry | undefined,
): JournalIndex => {
  const next: { -readonly [K in keyof JournalIndex]: JournalIndex[K] } = { ...index };
  const beforeLine = before === undefined ? undefined : lazyLineKey(before);
  const afterLine = after === undefined ? undefined : lazyLineKey(after);
  for (const name of changedIndexes(before, after)) {
    const old = before === undefined ? undefined : keyIn(name, before, beforeLine!);
    const now = after === undefined ? undefined : keyIn(name, after, afterLine!);
    if (sameKey(old, now) && before?.key === after?.key) continue;
    if (old !== undefined) next[name] = remove(next[name], old);
    if (now !== undefined && after !== undefined) next[name] = set(next[name], now, after.key);
  }
  const key = (before ?? after)?.key;
  const sightedNow = key !== undefined && isSightedNow(index, key);
  const counts: MutableCounts = { ...index.counts };
  if (before !== undefined) count(counts, before, sightedNow, -1);
  if (after !== undefined) count(counts, after, sightedNow, 1);
  next.counts = counts;
  if (after === undefined && key !== undefined) next.sighted = remove(index.sighted, key);
  return next;
};

/** A new settling round: no entry counts as seen in it yet. */
export const newRound = (index: JournalIndex): JournalIndex => ({
  ...index,
  round: index.round + 1,
  counts: { ...index.counts, sightedIdless: 0, sightedWithId: 0 },
});

/** Entry `e` was seen in the current round. */
export const sight = (index: JournalIndex, e: JournalEntry): JournalIndex => {
  if (isSightedNow(index, e.key)) return index;
  const counts: MutableCounts = { ...index.counts };
  if (e.stage === "received") {
    if (e.operationId === null) counts.sightedIdless++;
    else counts.sightedWithId++;
  }
  return { ...index, sighted: set(index.sighted, e.key, index.round), counts };
};
