/**
 * The operation journal and its indexes (journal.ts, journal-index.ts), transition by
 * transition: what each lookup answers after each kind of change, written out for small
 * hand-made journals (journal-structures.test.ts checks the same against scans over random
 * histories). Also the durable form each entry is persisted as.
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  DurableJournalEntryCodec,
  beginSightings,
  bumpOrder,
  byIdKey,
  emptyJournal,
  entryOf,
  findById,
  findIdlessLine,
  findRedelivered,
  groupFirstSeq,
  groupHasEntries,
  hasIdlessEntries,
  headOf,
  journalKey,
  markSighted,
  openEntries,
  putEntry,
  removeEntry,
  sameRow,
  sightedNow,
  toDurable,
  unfinishedCount,
  waitingAllSighted,
  type Journal,
  type JournalEntry,
} from "../src/engine/journal.js";
import { emptyIndex, firstWithPrefix, lineKey } from "../src/engine/journal-index.js";
import * as P from "../src/engine/pmap.js";

const entry = (seq: number, change: Partial<JournalEntry> = {}): JournalEntry => ({
  key: journalKey(seq),
  seq,
  order: seq,
  deviceId: "d",
  fragment: "c8y_Restart",
  raw: ["510", "d"],
  operation: null,
  xid: null,
  operationId: null,
  json: null,
  failure: null,
  stage: "received",
  executingAcked: false,
  handedOut: false,
  persistRef: null,
  duplicates: 0,
  ...change,
});

const journalOf = (...entries: JournalEntry[]): Journal => entries.reduce(putEntry, emptyJournal);

describe("keys and rows", () => {
  it("names entries op-<seq> and id-<operation id>", () => {
    expect(journalKey(7)).toBe("op-7");
    expect(byIdKey("123")).toBe("id-123");
  });

  it("sameRow: the same values in the same order, nothing more or less", () => {
    expect(sameRow(["510", "d"], ["510", "d"])).toBe(true);
    expect(sameRow([], [])).toBe(true);
    expect(sameRow(["510", "d"], ["510", "e"])).toBe(false);
    expect(sameRow(["510", "d"], ["510"])).toBe(false);
    expect(sameRow(["510"], ["510", "d"])).toBe(false);
    expect(sameRow(["510", ""], ["510"])).toBe(false);
  });

  it("lineKey tells a custom collection's line from the static one and from other splits", () => {
    expect(lineKey(null, ["a", "b"])).toBe('[null,["a","b"]]');
    expect(lineKey("x", ["a", "b"])).toBe('["x",["a","b"]]');
    expect(lineKey(null, ["a,b"])).not.toBe(lineKey(null, ["a", "b"]));
  });
});

describe("the durable form", () => {
  it("writes every field, and xid, json and operationId only when known", () => {
    const plain = entry(3, { order: 9, failure: "unsupported", stage: "executing", handedOut: true });
    expect(toDurable(plain)).toStrictEqual({
      key: "op-3",
      seq: 3,
      deviceId: "d",
      fragment: "c8y_Restart",
      raw: ["510", "d"],
      failure: "unsupported",
      stage: "executing",
      order: 9,
    });
    const full = entry(4, { xid: "x", json: '{"id":"7"}', operationId: "7", stage: "finished" });
    expect(toDurable(full)).toStrictEqual({
      key: "op-4",
      seq: 4,
      deviceId: "d",
      fragment: "c8y_Restart",
      raw: ["510", "d"],
      failure: null,
      stage: "finished",
      order: 4,
      xid: "x",
      json: '{"id":"7"}',
      operationId: "7",
    });
    // A copy of the row, not the entry's own array.
    expect(toDurable(full).raw).not.toBe(full.raw);
  });

  it("decodes every stage and refuses what is not one", () => {
    for (const stage of ["received", "executing", "finished"] as const) {
      const durable = toDurable(entry(1, { stage }));
      const decoded = DurableJournalEntryCodec.decode(durable);
      expect(E.isRight(decoded) && decoded.right).toEqual(durable);
    }
    const bad = (change: Record<string, unknown>) =>
      E.isLeft(DurableJournalEntryCodec.decode({ ...toDurable(entry(1)), ...change }));
    expect(bad({ stage: "done" })).toBe(true);
    expect(bad({ stage: "" })).toBe(true);
    expect(bad({ raw: [1] })).toBe(true);
    expect(bad({ failure: undefined })).toBe(true);
    expect(bad({ xid: null })).toBe(true);
    expect(bad({ order: "1" })).toBe(true);
    expect(bad({ json: 5 })).toBe(true);
    expect(bad({ operationId: 7 })).toBe(true);
    expect(bad({ key: 1 })).toBe(true);
    expect(bad({ seq: "1" })).toBe(true);
    expect(bad({ deviceId: null })).toBe(true);
    expect(bad({ fragment: 0 })).toBe(true);
  });
});

describe("putEntry and nextSeq", () => {
  it("starts at 1 and stays above every seq and order put", () => {
    expect(emptyJournal.nextSeq).toBe(1);
    expect(journalOf(entry(5, { order: 3 })).nextSeq).toBe(6);
    expect(journalOf(entry(2, { order: 9 })).nextSeq).toBe(10);
    expect(journalOf(entry(9), entry(1)).nextSeq).toBe(10);
  });

  it("replaces the entry of the same key", () => {
    const j = journalOf(entry(1), entry(1, { stage: "executing" }));
    expect(openEntries(j).map((e) => [e.key, e.stage])).toEqual([["op-1", "executing"]]);
    expect(entryOf(j, "op-1")?.stage).toBe("executing");
    expect(entryOf(j, "op-2")).toBeUndefined();
  });
});

describe("queues: the head of (device, fragment)", () => {
  it("is the lowest order, then the lowest seq, of the unfinished entries", () => {
    const j = journalOf(entry(1, { order: 5 }), entry(2, { order: 3 }), entry(3, { order: 3 }));
    expect(headOf(j, "d", "c8y_Restart")?.key).toBe("op-2");
    const after = putEntry(j, { ...entryOf(j, "op-2")!, stage: "finished" });
    expect(headOf(after, "d", "c8y_Restart")?.key).toBe("op-3");
    // Finished, then received again (a restart's recovery): back in its queue.
    expect(headOf(putEntry(after, entry(2, { order: 3 })), "d", "c8y_Restart")?.key).toBe("op-2");
    expect(headOf(j, "d", "c8y_Command")).toBeUndefined();
    expect(headOf(j, "e", "c8y_Restart")).toBeUndefined();
  });

  it("bumpOrder moves an entry behind every entry seen so far", () => {
    const j = journalOf(entry(1), entry(2));
    const bumped = bumpOrder(j, entryOf(j, "op-1")!);
    expect(entryOf(bumped, "op-1")?.order).toBe(3);
    expect(bumped.nextSeq).toBe(4);
    expect(headOf(bumped, "d", "c8y_Restart")?.key).toBe("op-2");
    expect(headOf(j, "d", "c8y_Restart")?.key).toBe("op-1");
  });

  it("follows an entry moved to another device or fragment", () => {
    const j = journalOf(entry(1), entry(2, { fragment: "c8y_Command" }));
    const moved = putEntry(j, { ...entryOf(j, "op-1")!, deviceId: "e" });
    expect(headOf(moved, "d", "c8y_Restart")).toBeUndefined();
    expect(headOf(moved, "e", "c8y_Restart")?.key).toBe("op-1");
    expect(groupHasEntries(moved, "d", "c8y_Restart")).toBe(false);
    expect(groupHasEntries(moved, "e", "c8y_Restart")).toBe(true);
    const refiled = putEntry(j, { ...entryOf(j, "op-1")!, fragment: "c8y_Command" });
    expect(headOf(refiled, "d", "c8y_Command")?.key).toBe("op-1");
    expect(groupFirstSeq(refiled, "d", "c8y_Restart")).toBeUndefined();
  });
});

describe("groups", () => {
  it("count finished entries too, and give the lowest seq of exactly that (device, fragment)", () => {
    const j = journalOf(
      entry(4, { stage: "finished" }),
      entry(6),
      entry(2, { deviceId: "c" }),
      entry(3, { fragment: "c8y_Restart2" }),
    );
    expect(groupHasEntries(j, "d", "c8y_Restart")).toBe(true);
    expect(groupFirstSeq(j, "d", "c8y_Restart")).toBe(4);
    expect(groupFirstSeq(j, "c", "c8y_Restart")).toBe(2);
    expect(groupFirstSeq(j, "d", "c8y_Restart2")).toBe(3);
    // The next group in key order is not a match.
    expect(groupFirstSeq(j, "d", "c8y_Re")).toBeUndefined();
    expect(groupFirstSeq(j, "b", "c8y_Restart")).toBeUndefined();
    expect(groupFirstSeq(j, "c", "c8y_Restart2")).toBeUndefined();
    expect(groupHasEntries(j, "d", "c8y_Re")).toBe(false);
    expect(groupHasEntries(removeEntry(j, "op-2"), "c", "c8y_Restart")).toBe(false);
  });
});

describe("lines and ids", () => {
  it("finds the oldest entry of a line in its collection, whatever its stage", () => {
    const raw = ["510", "d"];
    const j = journalOf(
      entry(1, { stage: "finished", raw: [...raw] }),
      entry(2, { raw: [...raw] }),
      entry(3, { raw: [...raw], xid: "x" }),
    );
    expect(findRedelivered(j, raw, null)?.key).toBe("op-1");
    expect(findRedelivered(j, raw, "x")?.key).toBe("op-3");
    expect(findRedelivered(j, raw, "y")).toBeUndefined();
    expect(findRedelivered(j, ["510"], null)).toBeUndefined();
    expect(findRedelivered(j, ["510", "d", ""], null)).toBeUndefined();
  });

  it("finds id-less s/ds lines only: not custom ones, not those with an id", () => {
    const raw = ["510", "d"];
    const j = journalOf(entry(1, { xid: "x" }), entry(2, { operationId: "7" }), entry(3));
    expect(findIdlessLine(j, raw)?.key).toBe("op-3");
    const adopted = putEntry(j, { ...entryOf(j, "op-3")!, operationId: "8" });
    expect(findIdlessLine(adopted, raw)).toBeUndefined();
    expect(findById(adopted, "8")?.key).toBe("op-3");
    expect(findIdlessLine(putEntry(j, { ...entryOf(j, "op-1")!, xid: null }), raw)?.key).toBe("op-1");
  });

  it("follows a changed line", () => {
    const j = journalOf(entry(1));
    const changed = putEntry(j, { ...entryOf(j, "op-1")!, raw: ["511", "d", "x"] });
    expect(findRedelivered(changed, ["510", "d"], null)).toBeUndefined();
    expect(findRedelivered(changed, ["511", "d", "x"], null)?.key).toBe("op-1");
    expect(findIdlessLine(changed, ["510", "d"])).toBeUndefined();
    expect(findIdlessLine(changed, ["511", "d", "x"])?.key).toBe("op-1");
    // An equal row in a new array is the same line.
    const same = putEntry(changed, {
      ...entryOf(changed, "op-1")!,
      raw: ["511", "d", "x"],
      stage: "executing",
    });
    expect(findRedelivered(same, ["511", "d", "x"], null)?.key).toBe("op-1");
    const custom = putEntry(j, { ...entryOf(j, "op-1")!, xid: "x" });
    expect(findRedelivered(custom, ["510", "d"], null)).toBeUndefined();
    expect(findRedelivered(custom, ["510", "d"], "x")?.key).toBe("op-1");
  });

  it("finds an operation by id under its by-id key, or by an id it learned later", () => {
    const j = journalOf(entry(1, { key: byIdKey("7"), operationId: "7" }), entry(2, { operationId: "9" }));
    expect(findById(j, "7")?.key).toBe("id-7");
    expect(findById(j, "9")?.key).toBe("op-2");
    expect(findById(j, "5")).toBeUndefined();
    expect(findById(putEntry(j, { ...entryOf(j, "op-2")!, operationId: "5" }), "9")).toBeUndefined();
    expect(findById(removeEntry(j, "op-2"), "9")).toBeUndefined();
  });
});

describe("counts", () => {
  it("counts unfinished and id-less entries through every change", () => {
    let j = journalOf(entry(1), entry(2, { operationId: "7" }), entry(3, { stage: "finished" }));
    expect(unfinishedCount(j)).toBe(2);
    expect(hasIdlessEntries(j)).toBe(true);
    j = putEntry(j, { ...entryOf(j, "op-1")!, stage: "executing" });
    expect(unfinishedCount(j)).toBe(2);
    j = putEntry(j, { ...entryOf(j, "op-1")!, stage: "finished" });
    expect(unfinishedCount(j)).toBe(1);
    j = removeEntry(j, "op-3");
    expect(hasIdlessEntries(j)).toBe(true);
    j = putEntry(j, { ...entryOf(j, "op-1")!, operationId: "8" });
    expect(hasIdlessEntries(j)).toBe(false);
    expect(unfinishedCount(j)).toBe(1);
    j = removeEntry(j, "op-2");
    expect(unfinishedCount(j)).toBe(0);
    expect(j.index.counts).toEqual(emptyIndex.counts);
  });

  it("removing an unknown key changes nothing", () => {
    const j = journalOf(entry(1));
    expect(removeEntry(j, "op-9")).toBe(j);
    const removed = removeEntry(j, "op-1");
    expect(removed.nextSeq).toBe(2);
    expect(openEntries(removed)).toEqual([]);
    expect(findRedelivered(removed, ["510", "d"], null)).toBeUndefined();
    expect(headOf(removed, "d", "c8y_Restart")).toBeUndefined();
  });
});

describe("settling rounds: sightings", () => {
  it("counts entries waiting to start that were seen this round, once each", () => {
    let j = journalOf(entry(1), entry(2, { operationId: "7" }), entry(3, { stage: "executing" }));
    j = beginSightings(j);
    expect(waitingAllSighted(j, false)).toBe(false);
    expect(waitingAllSighted(j, true)).toBe(false);
    j = markSighted(markSighted(j, "op-1"), "op-1");
    expect(sightedNow(j, "op-1")).toBe(true);
    expect(sightedNow(j, "op-2")).toBe(false);
    // By id, only id-less entries are waited for.
    expect(waitingAllSighted(j, true)).toBe(true);
    expect(waitingAllSighted(j, false)).toBe(false);
    j = markSighted(j, "op-2");
    expect(waitingAllSighted(j, false)).toBe(true);
    expect(j.index.counts).toMatchObject({
      receivedIdless: 1,
      receivedWithId: 1,
      sightedIdless: 1,
      sightedWithId: 1,
    });
    // Seeing an executing entry counts for nothing.
    j = markSighted(j, "op-3");
    expect(j.index.counts).toMatchObject({ sightedIdless: 1, sightedWithId: 1 });
    // A new round forgets every sighting.
    j = beginSightings(j);
    expect(sightedNow(j, "op-1")).toBe(false);
    expect(waitingAllSighted(j, true)).toBe(false);
    expect(j.index.counts).toMatchObject({ sightedIdless: 0, sightedWithId: 0 });
  });

  it("keeps the counts when a sighted entry starts, changes or is removed", () => {
    let j = beginSightings(journalOf(entry(1), entry(2)));
    j = markSighted(j, "op-1");
    expect(waitingAllSighted(j, true)).toBe(false);
    // The unsighted one starts: only sighted ones remain waiting.
    j = putEntry(j, { ...entryOf(j, "op-2")!, stage: "executing" });
    expect(waitingAllSighted(j, true)).toBe(true);
    // The sighted one learns its id: counted with the id now, still sighted.
    j = putEntry(j, { ...entryOf(j, "op-1")!, operationId: "7" });
    expect(j.index.counts).toMatchObject({
      receivedIdless: 0,
      receivedWithId: 1,
      sightedIdless: 0,
      sightedWithId: 1,
    });
    expect(waitingAllSighted(j, false)).toBe(true);
    j = removeEntry(j, "op-1");
    expect(j.index.counts).toMatchObject({ receivedWithId: 0, sightedWithId: 0 });
  });

  it("a removed entry's sighting does not carry over to a new entry of the same key", () => {
    let j = beginSightings(journalOf(entry(1, { key: byIdKey("7"), operationId: "7" })));
    j = markSighted(j, "id-7");
    j = removeEntry(j, "id-7");
    j = putEntry(j, entry(2, { key: byIdKey("7"), operationId: "7" }));
    expect(sightedNow(j, "id-7")).toBe(false);
    expect(waitingAllSighted(j, false)).toBe(false);
    expect(j.index.counts).toMatchObject({ receivedWithId: 1, sightedWithId: 0 });
  });

  it("marking an unknown key changes nothing", () => {
    const j = beginSightings(journalOf(entry(1)));
    expect(markSighted(j, "op-9")).toBe(j);
  });
});

describe("firstWithPrefix", () => {
  const index = [
    [["ab", 1], "k1"],
    [["b", "c", 2], "k2"],
  ].reduce(
    (m, [k, v]) => P.set(m, k as readonly (string | number)[], v as string),
    P.emptyMap<readonly (string | number)[], string>(P.compareTuples),
  );

  it("answers only a key that starts with every element of the prefix", () => {
    expect(firstWithPrefix(index, ["ab"])).toBe("k1");
    expect(firstWithPrefix(index, ["a"])).toBeUndefined();
    expect(firstWithPrefix(index, ["b", "c"])).toBe("k2");
    expect(firstWithPrefix(index, ["b", "d"])).toBeUndefined();
    expect(firstWithPrefix(index, ["c"])).toBeUndefined();
  });
});
