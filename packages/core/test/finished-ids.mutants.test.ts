/**
 * Finished operation ids (engine/finished-ids.ts) at their edges: the count limit exactly at
 * `maxCount`, the age limit exactly at `expiredUpTo`, oldest first, and an id finished again
 * counting as young. Written for the outbox chunk of the engine's mutation run.
 */
import { describe, expect, it } from "vitest";
import {
  addFinished,
  emptyFinishedIds,
  evictFinished,
  finishedCount,
  finishedRecord,
  isFinished,
  type FinishedIds,
} from "../src/engine/finished-ids.js";

const add = (...calls: [string, number][]): FinishedIds =>
  calls.reduce((f, [id, at]) => addFinished(f, id, at), emptyFinishedIds);

describe("finished ids", () => {
  it("remembers ids with when they finished", () => {
    const f = add(["1", 5], ["2", 7]);
    expect(isFinished(f, "1")).toBe(true);
    expect(isFinished(f, "2")).toBe(true);
    expect(isFinished(f, "3")).toBe(false);
    expect(finishedCount(f)).toBe(2);
    expect(finishedRecord(f)).toEqual({ "1": 5, "2": 7 });
    expect(finishedCount(emptyFinishedIds)).toBe(0);
    expect(isFinished(emptyFinishedIds, "1")).toBe(false);
  });

  it("keeps exactly maxCount ids, evicting the oldest beyond it", () => {
    const f = add(["a", 1], ["b", 2], ["c", 3]);
    expect(evictFinished(f, 3, 0)).toEqual({ finished: f, evicted: [] });
    const two = evictFinished(f, 2, 0);
    expect(two.evicted).toEqual(["a"]);
    expect(finishedRecord(two.finished)).toEqual({ b: 2, c: 3 });
    expect(evictFinished(f, 1, 0).evicted).toEqual(["a", "b"]);
    expect(evictFinished(f, 0, 0).evicted).toEqual(["a", "b", "c"]);
  });

  it("evicts every id finished at or before expiredUpTo, none after", () => {
    const f = add(["a", 10], ["b", 20], ["c", 30]);
    expect(evictFinished(f, 10, 9).evicted).toEqual([]);
    expect(evictFinished(f, 10, 10).evicted).toEqual(["a"]);
    expect(evictFinished(f, 10, 19).evicted).toEqual(["a"]);
    const r = evictFinished(f, 10, 20);
    expect(r.evicted).toEqual(["a", "b"]);
    expect(finishedRecord(r.finished)).toEqual({ c: 30 });
    expect(isFinished(r.finished, "a")).toBe(false);
    expect(finishedCount(r.finished)).toBe(1);
  });

  it("an id finished again is young again: its earlier time no longer counts", () => {
    const f = add(["a", 1], ["b", 2], ["a", 3]);
    expect(finishedCount(f)).toBe(2);
    expect(finishedRecord(f)).toEqual({ a: 3, b: 2 });
    expect(evictFinished(f, 1, 0).evicted).toEqual(["b"]);
    expect(evictFinished(f, 5, 2).evicted).toEqual(["b"]);
    const r = evictFinished(f, 5, 3);
    expect(r.evicted).toEqual(["b", "a"]);
    expect(finishedCount(r.finished)).toBe(0);
  });

  it("ids finished at the same time leave in id order", () => {
    const f = add(["b", 5], ["a", 5], ["c", 5]);
    expect(evictFinished(f, 1, 0).evicted).toEqual(["a", "b"]);
  });
});
