/**
 * Lines of recently ended operations (tombstones), indexed so that an operation row costs
 * O(log n) however many operations ended within `tombstoneMs`: by line (oldest first), by
 * line among id-less ones, and by expiry.
 */
import { lineKey } from "./journal-index.js";
import {
  ceiling,
  compareNumbers,
  compareTuples,
  emptyMap,
  first,
  get,
  remove,
  set,
  type PMap,
} from "./pmap.js";
import type { Row } from "../smartrest/types.js";

/** A line equal to a recently ended operation's: a stale redelivery, absorbed until `untilMs`. */
export interface Tombstone {
  readonly raw: readonly string[];
  readonly xid: string | null;
  readonly untilMs: number;
  readonly duplicates: number;
  /** The ended operation's id, when it had one (then only its id can match it again). */
  readonly operationId: string | null;
}

type Index = PMap<readonly (string | number)[], number>;

export interface Tombstones {
  /** Tombstones by id, in the order they were laid. */
  readonly byId: PMap<number, Tombstone>;
  /** [line key, id] of every tombstone. */
  readonly byLine: Index;
  /** [line key, id] of tombstones of `s/ds` lines of operations without id. */
  readonly byIdlessLine: Index;
  /** [untilMs, id]. */
  readonly byExpiry: Index;
  readonly nextId: number;
}

export const emptyTombstones: Tombstones = {
  byId: emptyMap(compareNumbers),
  byLine: emptyMap(compareTuples),
  byIdlessLine: emptyMap(compareTuples),
  byExpiry: emptyMap(compareTuples),
  nextId: 1,
};

const idless = (t: Tombstone): boolean => t.xid === null && t.operationId === null;

export const layTombstone = (ts: Tombstones, t: Tombstone): Tombstones => {
  const id = ts.nextId;
  const line = lineKey(t.xid, t.raw);
  return {
    byId: set(ts.byId, id, t),
    byLine: set(ts.byLine, [line, id], id),
    byIdlessLine: idless(t) ? set(ts.byIdlessLine, [line, id], id) : ts.byIdlessLine,
    byExpiry: set(ts.byExpiry, [t.untilMs, id], id),
    nextId: id + 1,
  };
};

/** The smallest [line, id]: the oldest tombstone of that line. */
const firstOf = (index: Index, line: string): number | undefined => {
  const found = ceiling(index, [line]);
  return found !== undefined && found[0][0] === line ? found[1] : undefined;
};

/** The oldest tombstone of `raw` (in custom collection `xid`, or `s/ds` when null). */
export const findTombstone = (ts: Tombstones, xid: string | null, raw: Row): number | undefined =>
  firstOf(ts.byLine, lineKey(xid, raw));

/** The oldest tombstone of `s/ds` line `raw` whose operation had no id. */
export const findIdlessTombstone = (ts: Tombstones, raw: Row): number | undefined =>
  firstOf(ts.byIdlessLine, lineKey(null, raw));

/** Counts one more line absorbed by tombstone `id`. */
export const countDuplicate = (ts: Tombstones, id: number): Tombstones => {
  const t = get(ts.byId, id);
  return t === undefined ? ts : { ...ts, byId: set(ts.byId, id, { ...t, duplicates: t.duplicates + 1 }) };
};

/** Drops the tombstones expired at `nowMs`; says whether one of them had absorbed a line. */
export const expire = (ts: Tombstones, nowMs: number): { tombstones: Tombstones; absorbed: boolean } => {
  let out = ts;
  let absorbed = false;
  for (
    let next = first(out.byExpiry);
    next !== undefined && (next[0][0] as number) <= nowMs;
    next = first(out.byExpiry)
  ) {
    const id = next[1];
    const t = get(out.byId, id)!;
    const line = lineKey(t.xid, t.raw);
    absorbed ||= t.duplicates > 0;
    out = {
      byId: remove(out.byId, id),
      byLine: remove(out.byLine, [line, id]),
      byIdlessLine: idless(t) ? remove(out.byIdlessLine, [line, id]) : out.byIdlessLine,
      byExpiry: remove(out.byExpiry, next[0]),
      nextId: out.nextId,
    };
  }
  return { tombstones: out, absorbed };
};

/** When the next tombstone expires, if any. */
export const nextExpiry = (ts: Tombstones): number | undefined => {
  const next = first(ts.byExpiry);
  return next === undefined ? undefined : (next[0][0] as number);
};
