/**
 * Tombstones (engine/tombstones.ts) at their edges: which tombstone a line finds (the oldest of
 * exactly that line and collection, none for a neighbouring line), which ones an id-less lookup
 * may see, the expiry exactly at `untilMs`, whether expired ones had absorbed a line, and that
 * an expired tombstone is gone from every index. Written for the outbox chunk of the engine's
 * mutation run.
 */
import { describe, expect, it } from "vitest";
import {
  countDuplicate,
  emptyTombstones,
  expire,
  findIdlessTombstone,
  findTombstone,
  layTombstone,
  nextExpiry,
  type Tombstone,
  type Tombstones,
} from "../src/engine/tombstones.js";
import { get } from "../src/engine/pmap.js";

const stone = (raw: string[], untilMs: number, more: Partial<Tombstone> = {}): Tombstone => ({
  raw,
  xid: null,
  untilMs,
  duplicates: 0,
  operationId: null,
  ...more,
});

const lay = (...ts: Tombstone[]): Tombstones => ts.reduce(layTombstone, emptyTombstones);

describe("tombstones", () => {
  it("are numbered from 1 in the order they are laid", () => {
    const ts = lay(stone(["511", "a"], 10), stone(["511", "b"], 5));
    expect(ts.nextId).toBe(3);
    expect(get(ts.byId, 1)?.raw).toEqual(["511", "a"]);
    expect(get(ts.byId, 2)?.raw).toEqual(["511", "b"]);
    expect(emptyTombstones.nextId).toBe(1);
  });

  it("a line finds the oldest tombstone of exactly that line and collection", () => {
    const ts = lay(
      stone(["511", "b"], 10),
      stone(["511", "a", "x"], 10),
      stone(["511", "a"], 10, { xid: "c1" }),
      stone(["511", "a"], 20),
      stone(["511", "a"], 5),
    );
    expect(findTombstone(ts, null, ["511", "a"])).toBe(4);
    expect(findTombstone(ts, "c1", ["511", "a"])).toBe(3);
    expect(findTombstone(ts, null, ["511", "b"])).toBe(1);
    expect(findTombstone(ts, null, ["511", "a", "x"])).toBe(2);
    // Neighbours of existing lines (a prefix, a line sorting between, another collection).
    expect(findTombstone(ts, null, ["511"])).toBeUndefined();
    expect(findTombstone(ts, null, ["511", "aa"])).toBeUndefined();
    expect(findTombstone(ts, "c2", ["511", "a"])).toBeUndefined();
    expect(findTombstone(emptyTombstones, null, ["511", "a"])).toBeUndefined();
  });

  it("an id-less lookup sees only s/ds lines of operations that had no id", () => {
    const ts = lay(
      stone(["511", "a"], 10, { operationId: "7" }),
      stone(["511", "a"], 10, { xid: "c1" }),
      stone(["511", "b"], 10, { xid: "c1", operationId: "8" }),
    );
    expect(findIdlessTombstone(ts, ["511", "a"])).toBeUndefined();
    expect(findIdlessTombstone(ts, ["511", "b"])).toBeUndefined();
    expect(findTombstone(ts, null, ["511", "a"])).toBe(1);
    const withIdless = layTombstone(ts, stone(["511", "a"], 10));
    expect(findIdlessTombstone(withIdless, ["511", "a"])).toBe(4);
    expect(findIdlessTombstone(withIdless, ["511"])).toBeUndefined();
  });

  it("countDuplicate counts on that tombstone only; an unknown id changes nothing", () => {
    const ts = lay(stone(["511", "a"], 10), stone(["511", "b"], 10));
    const once = countDuplicate(ts, 2);
    const twice = countDuplicate(once, 2);
    expect(get(twice.byId, 2)?.duplicates).toBe(2);
    expect(get(twice.byId, 1)?.duplicates).toBe(0);
    expect(get(ts.byId, 2)?.duplicates).toBe(0);
    expect(countDuplicate(ts, 9)).toBe(ts);
  });

  it("expire drops exactly those with untilMs up to now, from every index", () => {
    const ts = lay(stone(["511", "a"], 10), stone(["511", "a"], 20), stone(["511", "b"], 10, { xid: "c" }));
    expect(nextExpiry(ts)).toBe(10);
    const before = expire(ts, 9);
    expect(before.absorbed).toBe(false);
    expect(before.tombstones.byId.size).toBe(3);
    expect(findTombstone(before.tombstones, null, ["511", "a"])).toBe(1);
    const at = expire(ts, 10);
    expect(at.absorbed).toBe(false);
    expect(at.tombstones.byId.size).toBe(1);
    expect(at.tombstones.nextId).toBe(4);
    expect(nextExpiry(at.tombstones)).toBe(20);
    // The younger tombstone of the same line is found now, in both indexes; the other line is gone.
    expect(findTombstone(at.tombstones, null, ["511", "a"])).toBe(2);
    expect(findIdlessTombstone(at.tombstones, ["511", "a"])).toBe(2);
    expect(findTombstone(at.tombstones, "c", ["511", "b"])).toBeUndefined();
    const all = expire(at.tombstones, 25);
    expect(all.tombstones.byId.size).toBe(0);
    expect(all.tombstones.byLine.size).toBe(0);
    expect(all.tombstones.byIdlessLine.size).toBe(0);
    expect(all.tombstones.byExpiry.size).toBe(0);
    expect(findTombstone(all.tombstones, null, ["511", "a"])).toBeUndefined();
    expect(findIdlessTombstone(all.tombstones, ["511", "a"])).toBeUndefined();
    expect(nextExpiry(all.tombstones)).toBeUndefined();
    expect(nextExpiry(emptyTombstones)).toBeUndefined();
  });

  it("expire says whether one of the expired tombstones had absorbed a line", () => {
    const ts = lay(stone(["511", "a"], 10), stone(["511", "b"], 10), stone(["511", "c"], 30));
    const absorbedLater = countDuplicate(ts, 3);
    expect(expire(absorbedLater, 10).absorbed).toBe(false);
    expect(expire(absorbedLater, 30).absorbed).toBe(true);
    // The first of two expiring at once absorbed a line: still true after the second.
    expect(expire(countDuplicate(ts, 1), 10).absorbed).toBe(true);
    expect(expire(countDuplicate(ts, 2), 10).absorbed).toBe(true);
  });

  it("an expired id-less tombstone leaves no stale id-less index entry", () => {
    const ts = lay(stone(["511", "a"], 10), stone(["511", "a"], 20, { operationId: "5" }));
    const { tombstones } = expire(ts, 10);
    expect(findIdlessTombstone(tombstones, ["511", "a"])).toBeUndefined();
    expect(tombstones.byIdlessLine.size).toBe(0);
    expect(findTombstone(tombstones, null, ["511", "a"])).toBe(2);
  });
});
