/**
 * The outbox's transitions (engine/outbox.ts) one by one, at their edges: admission exactly at
 * the count and byte limits and one beyond, which rows a full class drops and the exact reason
 * when it cannot, paging beyond `memoryRows`, read-back (order, duplicates, losses), packet
 * taking (priority, readiness, topic, payload size), requeue and release. Written for the
 * outbox chunk of the engine's mutation run; each case states the module's contract.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import type { OutboxClass } from "../src/engine/config.js";
import {
  admit,
  admitInPlace,
  appendLoaded,
  emptyOutbox,
  heldCount,
  loadFailed,
  loadNeeded,
  markLoading,
  markUncertain,
  queuedCount,
  release,
  replaceQueued,
  requeue,
  restore,
  restoreStored,
  sessionRowsLeft,
  takePacket,
  type ClassState,
  type DraftClassState,
  type Outbox,
  type OutboxEntry,
} from "../src/engine/outbox.js";
import { toArray } from "../src/engine/queue.js";

const row = (
  ref: number,
  bytes = 4,
  cls: OutboxClass = "measurement",
  topic = "s/us",
  extra: Partial<OutboxEntry> = {},
): OutboxEntry => ({ ref, cls, topic, line: "x".repeat(bytes), bytes, template: "200", ...extra });

const refs = (c: ClassState): number[] => toArray(c.queue).map((e) => e.ref);

/** Admits every row (all must be admitted), returns the outbox. */
const admitAll = (
  rows: readonly OutboxEntry[],
  limits = { maxMessages: 100, maxBytes: 10_000 },
  memoryRows?: number,
  from: Outbox = emptyOutbox(),
): Outbox =>
  rows.reduce((o, e) => {
    const r = admit(o, e, limits, memoryRows);
    if (!r.ok) throw new Error(r.reason);
    return r.outbox;
  }, from);

const all = () => true;

describe("admit", () => {
  it("refuses a row larger than its class's byte budget, naming both; one exactly at it fits", () => {
    const limits = { maxMessages: 5, maxBytes: 10 };
    expect(admit(emptyOutbox(), row(1, 11), limits)).toEqual({
      ok: false,
      reason: "row of 11 bytes exceeds the measurement budget of 10",
    });
    const ok = admit(emptyOutbox(), row(1, 10), limits);
    expect(ok.ok && ok.dropped).toEqual([]);
    expect(ok.ok && ok.outbox.measurement.bytes).toBe(10);
  });

  it("admits up to maxMessages without a drop, then drops exactly the oldest queued row", () => {
    const limits = { maxMessages: 3, maxBytes: 1_000 };
    const full = admitAll([row(1), row(2), row(3)], limits);
    expect(full.measurement.count).toBe(3);
    expect(refs(full.measurement)).toEqual([1, 2, 3]);
    const r = admit(full, row(4, 5), limits);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.dropped.map((e) => e.ref)).toEqual([1]);
    expect(refs(r.outbox.measurement)).toEqual([2, 3, 4]);
    expect(r.outbox.measurement.count).toBe(3);
    expect(r.outbox.measurement.bytes).toBe(4 + 4 + 5);
    // The other classes are untouched.
    expect(r.outbox.alarm).toBe(full.alarm);
  });

  it("admits up to maxBytes exactly, then drops as many oldest rows as the bytes need", () => {
    const limits = { maxMessages: 100, maxBytes: 10 };
    const full = admitAll([row(1, 3), row(2, 3), row(3, 4)], limits);
    expect(full.measurement.bytes).toBe(10);
    const r = admit(full, row(4, 6), limits);
    if (!r.ok) throw new Error(r.reason);
    expect(r.dropped.map((e) => e.ref)).toEqual([1, 2]);
    expect(refs(r.outbox.measurement)).toEqual([3, 4]);
    expect(r.outbox.measurement.bytes).toBe(10);
    expect(r.outbox.measurement.count).toBe(2);
    const one = admit(full, row(4, 1), limits);
    if (!one.ok) throw new Error(one.reason);
    expect(one.dropped.map((e) => e.ref)).toEqual([1]);
    expect(one.outbox.measurement.bytes).toBe(8);
  });

  it("never drops an operation status: a status that does not fit is refused", () => {
    const limits = { maxMessages: 2, maxBytes: 1_000 };
    const status = (ref: number) => row(ref, 4, "operation-status", "s/us");
    const full = admitAll([status(1), status(2)], limits);
    expect(admit(full, status(3), limits)).toEqual({
      ok: false,
      reason: "operation-status outbox full (statuses are never dropped)",
    });
    const bytes = admitAll([status(1)], { maxMessages: 5, maxBytes: 6 });
    expect(admit(bytes, status(2), { maxMessages: 5, maxBytes: 6 })).toEqual({
      ok: false,
      reason: "operation-status outbox full (statuses are never dropped)",
    });
  });

  it("refuses when every row of the full class is in flight, and says so", () => {
    const limits = { maxMessages: 2, maxBytes: 1_000 };
    const full = admitAll([row(1, 4, "alarm"), row(2, 4, "alarm")], limits);
    const taken = takePacket(full, () => false)!;
    const again = takePacket(taken.outbox, () => false)!;
    expect(again.outbox.alarm.queue.size).toBe(0);
    expect(admit(again.outbox, row(3, 4, "alarm"), limits)).toEqual({
      ok: false,
      reason: "alarm outbox full with every row in flight",
    });
    // One queued row left: it is dropped for the new one.
    const r = admit(taken.outbox, row(3, 4, "alarm"), limits);
    expect(r.ok && r.dropped.map((e) => e.ref)).toEqual([2]);
  });

  it("refuses when the full class's oldest rows are being read back from storage", () => {
    const stored = restoreStored(emptyOutbox(), "event", 2, 8);
    expect(admit(stored, row(9, 4, "event"), { maxMessages: 2, maxBytes: 1_000 })).toEqual({
      ok: false,
      reason: "event outbox full while its oldest rows are read back from storage",
    });
  });

  it("pages beyond memoryRows: counted and stored-only, after the head, until the store is empty", () => {
    const o = admitAll([row(1, 3), row(2, 3), row(3, 5), row(4, 7)], undefined, 2);
    const c = o.measurement;
    expect(refs(c)).toEqual([1, 2]);
    expect(c.headRef).toBe(2);
    expect(c).toMatchObject({ count: 4, bytes: 18, stored: 2, storedBytes: 12 });
    // Once rows are stored-only, new rows go to the store even when the head has room.
    const taken = takePacket(o, () => false)!;
    const more = admitAll([row(5, 2)], undefined, 2, taken.outbox);
    expect(refs(more.measurement)).toEqual([2]);
    expect(more.measurement).toMatchObject({ stored: 3, storedBytes: 14, count: 5, headRef: 2 });
  });

  it("admitInPlace changes the class exactly as admit does when the row fits, else nothing", () => {
    const limits = { maxMessages: 3, maxBytes: 12 };
    const o = admitAll([row(1, 4), row(2, 4)], limits, 2);
    // Fits, beyond memory: stored-only.
    const draft: DraftClassState = { ...o.measurement };
    expect(admitInPlace(draft, row(3, 4), limits, 2)).toBe(true);
    const viaAdmit = admit(o, row(3, 4), limits, 2);
    expect(viaAdmit.ok && viaAdmit.outbox.measurement).toEqual(draft);
    expect(draft).toMatchObject({ count: 3, bytes: 12, stored: 1, storedBytes: 4, headRef: 2 });
    // Full by count, full by bytes, larger than the budget: false, and the draft unchanged.
    const before = { ...draft };
    expect(admitInPlace(draft, row(4, 1), limits, 2)).toBe(false);
    expect(admitInPlace({ ...o.measurement }, row(4, 5), limits, 2)).toBe(false);
    expect(admitInPlace({ ...emptyOutbox().measurement }, row(4, 13), limits)).toBe(false);
    expect(draft).toEqual(before);
    // Into the head (memory unbounded by default): headRef follows.
    const head: DraftClassState = { ...emptyOutbox().alarm };
    expect(admitInPlace(head, row(7, 12, "alarm"), limits)).toBe(true);
    expect(refs(head)).toEqual([7]);
    expect(head).toMatchObject({ count: 1, bytes: 12, stored: 0, storedBytes: 0, headRef: 7 });
  });

  test.prop([
    fc.array(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.constantFrom<OutboxClass>("alarm", "measurement")), {
      minLength: 10,
      maxLength: 40,
    }),
    fc.integer({ min: 2, max: 6 }),
  ])("admitInPlace agrees with admit wherever admit drops nothing", (rows, memoryRows) => {
    const limits = { maxMessages: 5, maxBytes: 16 };
    let o = emptyOutbox();
    rows.forEach(([bytes, cls], i) => {
      const e = row(i + 1, bytes, cls);
      const r = admit(o, e, limits, memoryRows);
      const draft: DraftClassState = { ...o[cls] };
      const inPlace = admitInPlace(draft, e, limits, memoryRows);
      expect(inPlace).toBe(r.ok && r.dropped.length === 0);
      if (inPlace && r.ok) expect(draft).toEqual(r.outbox[cls]);
      if (r.ok) o = r.outbox;
      // Bounds hold after every admission.
      expect(o[cls].count).toBeLessThanOrEqual(limits.maxMessages);
      expect(o[cls].bytes).toBeLessThanOrEqual(limits.maxBytes);
      expect(o[cls].queue.size + o[cls].stored).toBe(o[cls].count);
    });
  });
});

describe("restore and the counts", () => {
  it("restore appends without limits; restoreStored counts rows beyond the head", () => {
    let o = restore(emptyOutbox(), row(5, 3, "event"));
    o = restore(o, row(8, 4, "event"));
    expect(refs(o.event)).toEqual([5, 8]);
    expect(o.event).toMatchObject({ count: 2, bytes: 7, stored: 0, storedBytes: 0, headRef: 8 });
    o = restoreStored(o, "event", 3, 30);
    expect(o.event).toMatchObject({ count: 5, bytes: 37, stored: 3, storedBytes: 30, headRef: 8 });
    expect(refs(o.event)).toEqual([5, 8]);
    expect(o.alarm).toBe(emptyOutbox().alarm);
  });

  it("queuedCount counts queued and stored-only rows of every class, not those in flight", () => {
    let o = admitAll([row(1, 4, "alarm"), row(2, 4, "alarm"), row(3, 4, "measurement")]);
    o = restoreStored(o, "inventory", 4, 40);
    expect(queuedCount(o)).toBe(7);
    expect(heldCount(o)).toBe(7);
    o = takePacket(o, () => false)!.outbox; // one alarm in flight
    expect(queuedCount(o)).toBe(6);
    expect(heldCount(o)).toBe(7);
    expect(queuedCount(emptyOutbox())).toBe(0);
    expect(heldCount(emptyOutbox())).toBe(0);
  });
});

describe("paging: loadNeeded, markLoading, appendLoaded, loadFailed", () => {
  /** Head [1, 2], rows 3..6 stored-only (memoryRows 2). */
  const paged = () => admitAll([row(1), row(2), row(3, 5), row(4, 6), row(5, 7), row(6, 8)], undefined, 2);

  it("asks for rows after headRef once the head is at most half full and none is out", () => {
    const four = admitAll(
      [1, 2, 3, 4, 5].map((r) => row(r)),
      undefined,
      4,
    );
    expect(loadNeeded(four.measurement, 4)).toBeUndefined(); // head full
    const three = takePacket(four, () => false)!.outbox;
    expect(loadNeeded(three.measurement, 4)).toBeUndefined(); // 3 of 4: more than half
    const two = takePacket(three, () => false)!.outbox;
    expect(loadNeeded(two.measurement, 4)).toEqual({ afterRef: 4, max: 2 }); // exactly half
    const one = takePacket(two, () => false)!.outbox;
    expect(loadNeeded(one.measurement, 4)).toEqual({ afterRef: 4, max: 3 });
    const loading = markLoading(one, "measurement");
    expect(loading.measurement.loading).toBe(1);
    expect(loadNeeded(loading.measurement, 4)).toBeUndefined(); // one load at a time
    expect(loadNeeded(loadFailed(loading, "measurement").measurement, 4)).toEqual({ afterRef: 4, max: 3 });
    // Nothing stored: nothing to load, however empty the head.
    expect(loadNeeded(admitAll([row(1)]).measurement, 4)).toBeUndefined();
  });

  it("loadFailed only clears the load", () => {
    const o = markLoading(paged(), "measurement");
    const failed = loadFailed(o, "measurement");
    expect(failed.measurement).toEqual({ ...o.measurement, loading: null });
  });

  it("appends rows after headRef in ref order, skipping the head's, other classes' and extra rows", () => {
    const o = markLoading(paged(), "measurement");
    expect(o.measurement.loading).toBe(4);
    const back = [row(5, 7), row(2), row(4, 6), row(3, 5), row(9, 1, "alarm"), row(6, 8), row(7, 9)];
    const r = appendLoaded(o, "measurement", back, 10);
    expect(r.lost).toBe(0);
    expect(refs(r.outbox.measurement)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.outbox.measurement).toMatchObject({
      count: 6,
      bytes: 4 + 4 + 5 + 6 + 7 + 8,
      stored: 0,
      storedBytes: 0,
      headRef: 6,
      loading: null,
    });
  });

  it("rows read back newest first are appended oldest first", () => {
    const o = markLoading(paged(), "measurement");
    const r = appendLoaded(o, "measurement", [row(6, 8), row(5, 7), row(4, 6), row(3, 5)], 10);
    expect(refs(r.outbox.measurement)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.outbox.measurement).toMatchObject({ stored: 0, storedBytes: 0, headRef: 6 });
  });

  it("a partial load within max is not a loss", () => {
    const o = markLoading(paged(), "measurement");
    const r = appendLoaded(o, "measurement", [row(3, 5), row(4, 6)], 2);
    expect(r.lost).toBe(0);
    expect(refs(r.outbox.measurement)).toEqual([1, 2, 3, 4]);
    expect(r.outbox.measurement).toMatchObject({ stored: 2, storedBytes: 15, headRef: 4, count: 6 });
  });

  it("fewer rows than asked and than were stored: the missing ones are lost, with their bytes", () => {
    const o = markLoading(paged(), "measurement");
    // 4 stored (5+6+7+8 = 26 bytes), only ref 3 comes back: 3 lost, all that is left stored.
    const r = appendLoaded(o, "measurement", [row(3, 5)], 10);
    expect(r.lost).toBe(3);
    expect(r.outbox.measurement).toMatchObject({
      count: 3,
      bytes: 4 + 4 + 5,
      stored: 0,
      storedBytes: 0,
      headRef: 3,
      loading: null,
    });
  });

  it("a loss of some stored rows removes their share of the stored bytes, rounded", () => {
    // Head [1, 2]; 4 stored rows; the load was issued when 2 were stored.
    const base = admitAll([row(1), row(2), row(3, 5), row(4, 6)], undefined, 2);
    const loading = markLoading(base, "measurement");
    const more = admitAll([row(5, 7), row(6, 9)], undefined, 2, loading);
    expect(more.measurement).toMatchObject({ stored: 4, storedBytes: 27, loading: 2 });
    const r = appendLoaded(more, "measurement", [], 10);
    // Expected 2, got 0: 2 lost of 4 stored, 27 * 2 / 4 = 13.5 → 14 bytes.
    expect(r.lost).toBe(2);
    expect(r.outbox.measurement).toMatchObject({ stored: 2, storedBytes: 13, count: 4, bytes: 8 + 13 });
    const one = appendLoaded(more, "measurement", [row(3, 5)], 10);
    // Expected 2, got 1: 1 lost of the 3 left, 22 / 3 = 7.33 → 7 bytes.
    expect(one.lost).toBe(1);
    expect(one.outbox.measurement).toMatchObject({ stored: 2, storedBytes: 15, count: 5, bytes: 8 + 5 + 15 });
  });

  it("no loss is inferred without a load out, nor when max rows came back", () => {
    const o = paged();
    const r = appendLoaded(o, "measurement", [row(3, 5)], 10);
    expect(r.lost).toBe(0);
    expect(r.outbox.measurement).toMatchObject({ stored: 3, count: 6 });
    const full = appendLoaded(markLoading(o, "measurement"), "measurement", [row(3, 5)], 1);
    expect(full.lost).toBe(0);
    expect(full.outbox.measurement).toMatchObject({ stored: 3, count: 6, loading: null });
  });
});

describe("takePacket", () => {
  it("takes from the highest-priority class with a row, then the next", () => {
    const classes: OutboxClass[] = ["measurement", "inventory", "event", "alarm", "operation-status"];
    let o = admitAll(classes.map((cls, i) => row(i + 1, 4, cls, `t/${cls}`)));
    const order: OutboxClass[] = [];
    for (let p = takePacket(o, all); p !== undefined; p = takePacket(o, all)) {
      expect(p.entries).toHaveLength(1);
      order.push(p.entries[0]!.cls);
      o = p.outbox;
    }
    expect(order).toEqual(["operation-status", "alarm", "event", "inventory", "measurement"]);
    // Taken rows stay counted (in flight) until released.
    expect(heldCount(o)).toBe(5);
    expect(queuedCount(o)).toBe(0);
  });

  it("skips the class it is told to skip, and a class whose oldest row is not ready", () => {
    const o = admitAll([
      row(1, 4, "alarm"),
      row(2, 4, "alarm"),
      row(3, 4, "event"),
      row(4, 4, "measurement"),
    ]);
    expect(takePacket(o, all, "alarm")?.entries.map((e) => e.ref)).toEqual([3]);
    const notOne = (e: OutboxEntry) => e.ref !== 1;
    expect(takePacket(o, all, undefined, notOne)?.entries.map((e) => e.ref)).toEqual([3]);
    expect(takePacket(o, all, "event", notOne)?.entries.map((e) => e.ref)).toEqual([4]);
    // Within a class, a row that is not ready ends the packet (FIFO).
    const notTwo = (e: OutboxEntry) => e.ref !== 2;
    expect(takePacket(o, all, undefined, notTwo)?.entries.map((e) => e.ref)).toEqual([1]);
    expect(takePacket(emptyOutbox(), all)).toBeUndefined();
    expect(takePacket(admitAll([row(1, 4, "alarm")]), all, "alarm")).toBeUndefined();
  });

  it("joins rows of the first row's topic while the payload (rows and newlines) fits", () => {
    const o = admitAll([row(1, 4), row(2, 4), row(3, 4), row(4, 4)]);
    const asked: [string, number][] = [];
    const fits = (topic: string, bytes: number) => {
      asked.push([topic, bytes]);
      return bytes <= 9;
    };
    const p = takePacket(o, fits)!;
    expect(p.entries.map((e) => e.ref)).toEqual([1, 2]);
    expect(asked).toEqual([
      ["s/us", 9],
      ["s/us", 14],
    ]);
    expect(refs(p.outbox.measurement)).toEqual([3, 4]);
    expect(p.outbox.measurement.count).toBe(4);
    // The first row alone is always taken, whatever the size check says.
    expect(takePacket(o, () => false)!.entries.map((e) => e.ref)).toEqual([1]);
    expect(takePacket(o, all)!.entries).toHaveLength(4);
  });

  it("stops at a row of another topic", () => {
    const o = admitAll([
      row(1, 4, "event", "s/us"),
      row(2, 4, "event", "s/us/kid"),
      row(3, 4, "event", "s/us"),
    ]);
    const asked: string[] = [];
    const p = takePacket(o, (topic) => {
      asked.push(topic);
      return true;
    })!;
    expect(p.entries.map((e) => e.ref)).toEqual([1]);
    expect(asked).toEqual([]);
  });
});

describe("session rows, requeue, replaceQueued, release", () => {
  it("a session outbox with no queued row left is the shared empty outbox", () => {
    const o = admitAll([row(1, 4, "inventory")]);
    expect(sessionRowsLeft(o)).toBe(o);
    const taken = takePacket(o, all)!.outbox;
    expect(taken.inventory.count).toBe(1);
    expect(sessionRowsLeft(taken)).toBe(emptyOutbox());
    const two = admitAll([row(1, 4, "inventory"), row(2, 4, "measurement")]);
    expect(sessionRowsLeft(takePacket(two, all)!.outbox).measurement.queue.size).toBe(1);
  });

  it("requeue puts rows back before the queued ones of their classes, lowest ref first", () => {
    const o = admitAll([row(1, 4, "alarm"), row(2), row(3), row(4, 4, "alarm"), row(5)]);
    const a = takePacket(o, all)!; // alarms 1, 4
    const m = takePacket(a.outbox, (_, b) => b <= 9)!; // measurements 2, 3
    expect(refs(m.outbox.measurement)).toEqual([5]);
    const back = requeue(m.outbox, [...m.entries, ...a.entries].reverse());
    expect(refs(back.alarm)).toEqual([1, 4]);
    expect(refs(back.measurement)).toEqual([2, 3, 5]);
    expect(back.measurement.count).toBe(3);
    expect(requeue(o, [])).toBe(o);
  });

  it("replaceQueued keeps the given rows and forgets the removed ones' count and bytes", () => {
    const s = (ref: number, bytes: number) => row(ref, bytes, "operation-status");
    const o = admitAll([s(1, 3), s(2, 5), s(3, 7)]);
    const r = replaceQueued(o, "operation-status", [s(3, 7), s(1, 3)], [s(2, 5)]);
    expect(refs(r["operation-status"])).toEqual([3, 1]);
    expect(r["operation-status"]).toMatchObject({ count: 2, bytes: 10 });
    expect(r.alarm).toBe(o.alarm);
  });

  it("release forgets acknowledged rows by class; a class holding nothing becomes the empty one", () => {
    const o = admitAll([row(1, 3, "alarm"), row(2, 5), row(3, 7)]);
    const a = takePacket(o, all)!;
    const m = takePacket(a.outbox, (_, b) => b <= 13)!;
    expect(m.entries.map((e) => e.ref)).toEqual([2, 3]);
    const half = release(m.outbox, [m.entries[0]!]);
    expect(half.measurement).toMatchObject({ count: 1, bytes: 7, headRef: 3 });
    expect(half.alarm).toBe(m.outbox.alarm);
    const both = release(half, [m.entries[1]!]);
    expect(both.measurement).toBe(emptyOutbox().measurement);
    expect(both.alarm.count).toBe(1);
    expect(release(both, a.entries)).toBe(emptyOutbox());
    // One packet of two classes, released at once.
    expect(release(m.outbox, [...a.entries, ...m.entries])).toBe(emptyOutbox());
  });

  it("release keeps a class that still queues or stores rows", () => {
    const o = admitAll([row(1, 3), row(2, 5)]);
    const p = takePacket(o, () => false)!;
    const queued = release(p.outbox, p.entries);
    expect(queued.measurement).toMatchObject({ count: 1, bytes: 5, headRef: 2 });
    expect(refs(queued.measurement)).toEqual([2]);
    const paged = admitAll([row(1, 3), row(2, 5)], undefined, 1);
    const q = takePacket(paged, all)!;
    const stored = release(q.outbox, q.entries);
    expect(stored.measurement).toMatchObject({ count: 1, bytes: 5, stored: 1, headRef: 1 });
  });
});

describe("markUncertain", () => {
  it("marks only id-less operation statuses 501, 502, 503", () => {
    for (const template of ["501", "502", "503"]) {
      expect(markUncertain(row(1, 4, "operation-status", "s/us", { template, opKey: "k" }))).toMatchObject({
        uncertain: true,
        template,
      });
    }
    for (const template of ["500", "504", "5010", "x501", "501x", "50"]) {
      const e = row(1, 4, "operation-status", "s/us", { template, opKey: "k" });
      expect(markUncertain(e)).toBe(e);
    }
    const noKey = row(1, 4, "operation-status", "s/us", { template: "501" });
    expect(markUncertain(noKey)).toBe(noKey);
  });
});
