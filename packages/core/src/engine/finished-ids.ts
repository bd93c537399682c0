/**
 * Ids of operations whose terminal status the platform acknowledged, with when (nowMs), by id
 * and by age: remembering one and evicting the oldest is O(log n), not a sort per operation.
 */
import {
  compareStrings,
  compareTuples,
  emptyMap,
  first,
  get,
  remove,
  set,
  entries,
  type PMap,
} from "./pmap.js";

export interface FinishedIds {
  readonly byId: PMap<string, number>;
  /** [atMs, id]: oldest first. */
  readonly byAge: PMap<readonly (string | number)[], string>;
}

export const emptyFinishedIds: FinishedIds = {
  byId: emptyMap(compareStrings),
  byAge: emptyMap(compareTuples),
};

export const isFinished = (f: FinishedIds, id: string): boolean => get(f.byId, id) !== undefined;

export const finishedCount = (f: FinishedIds): number => f.byId.size;

/** Remembers `id` as finished at `atMs` (again: its age restarts). */
export const addFinished = (f: FinishedIds, id: string, atMs: number): FinishedIds => {
  const before = get(f.byId, id);
  const byAge = before === undefined ? f.byAge : remove(f.byAge, [before, id]);
  return { byId: set(f.byId, id, atMs), byAge: set(byAge, [atMs, id], id) };
};

/** Forgets the oldest ids beyond `maxCount` and every id not newer than `expiredUpTo`; returns the forgotten ids. */
export const evictFinished = (
  f: FinishedIds,
  maxCount: number,
  expiredUpTo: number,
): { finished: FinishedIds; evicted: string[] } => {
  let out = f;
  const evicted: string[] = [];
  for (let oldest = first(out.byAge); oldest !== undefined; oldest = first(out.byAge)) {
    const [key, id] = oldest;
    if (out.byId.size <= maxCount && (key[0] as number) > expiredUpTo) break;
    out = { byId: remove(out.byId, id), byAge: remove(out.byAge, key) };
    evicted.push(id);
  }
  return { finished: out, evicted };
};

/** Id → atMs as a plain record: for snapshots and tests. O(n). */
export const finishedRecord = (f: FinishedIds): Record<string, number> => Object.fromEntries(entries(f.byId));
