/**
 * The persistent structures behind the journal (pmap.ts, journal-index.ts, tombstones.ts,
 * finished-ids.ts), checked against naive array implementations: after every step of a
 * random history, every lookup gives the same answer as a scan would. fast-check prints the
 * seed of a failing history.
 */
import { describe, expect } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import * as P from "../src/engine/pmap.js";
import {
  beginSightings,
  bumpOrder,
  emptyJournal,
  findById,
  findIdlessLine,
  findRedelivered,
  groupFirstSeq,
  groupHasEntries,
  hasIdlessEntries,
  headOf,
  markSighted,
  openEntries,
  putEntry,
  removeEntry,
  sightedNow,
  unfinishedCount,
  waitingAllSighted,
  byIdKey,
  type Journal,
  type JournalEntry,
  type JournalStage,
} from "../src/engine/journal.js";
import {
  countDuplicate,
  emptyTombstones,
  expire,
  findIdlessTombstone,
  findTombstone,
  layTombstone,
  nextExpiry,
  type Tombstone,
} from "../src/engine/tombstones.js";
import { addFinished, emptyFinishedIds, evictFinished, finishedRecord } from "../src/engine/finished-ids.js";

describe("pmap: same answers as a sorted array", () => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("set" as const),
      key: fc.integer({ min: 0, max: 40 }),
      value: fc.integer(),
    }),
    fc.record({ kind: fc.constant("remove" as const), key: fc.integer({ min: 0, max: 40 }) }),
  );
  test.prop([fc.array(op, { maxLength: 300 })])("set/remove/get/first/ceiling/entries", (ops) => {
    let m = P.emptyMap<number, number>(P.compareNumbers);
    const model = new Map<number, number>();
    const versions: [P.PMap<number, number>, [number, number][]][] = [];
    for (const o of ops) {
      if (o.kind === "set") {
        m = P.set(m, o.key, o.value);
        model.set(o.key, o.value);
      } else {
        m = P.remove(m, o.key);
        model.delete(o.key);
      }
      const sorted = [...model.entries()].sort((a, b) => a[0] - b[0]);
      versions.push([m, sorted]);
      expect(m.size).toBe(model.size);
      expect(P.entries(m)).toEqual(sorted);
      expect(P.first(m)).toEqual(sorted[0]);
      for (const probe of [-1, 0, 7, 20, 41]) {
        expect(P.get(m, probe)).toBe(model.get(probe));
        expect(P.ceiling(m, probe)).toEqual(sorted.find(([k]) => k >= probe));
      }
    }
    // Old versions are untouched by later updates.
    for (const [old, sorted] of versions) expect(P.entries(old)).toEqual(sorted);
  });

  test.prop([fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 2_000 })])(
    "stays balanced: height within 1.45 log2(n + 2)",
    (keys) => {
      let m = P.emptyMap<number, boolean>(P.compareNumbers);
      for (const k of keys) m = P.set(m, k, true);
      const height = (m.root as { height: number } | null)?.height ?? 0;
      expect(height).toBeLessThanOrEqual(Math.ceil(1.45 * Math.log2(m.size + 2)));
    },
  );

  test.prop([
    fc.array(fc.tuple(fc.constantFrom("a", "b", "ab"), fc.integer({ min: 0, max: 9 })), { maxLength: 50 }),
  ])("compareTuples orders like a lexicographic sort, prefixes first", (tuples) => {
    const sorted = [...tuples].sort(P.compareTuples);
    for (let i = 1; i < sorted.length; i++) {
      const [a, b] = [sorted[i - 1]!, sorted[i]!];
      expect(a[0] < b[0] || (a[0] === b[0] && a[1] <= b[1])).toBe(true);
    }
    expect(P.compareTuples(["a"], ["a", 0])).toBeLessThan(0);
  });
});

// --- Journal --------------------------------------------------------------------------

const STAGES: readonly JournalStage[] = ["received", "executing", "finished"];

const entryArb = fc.record({
  device: fc.constantFrom("d1", "d2"),
  fragment: fc.constantFrom("c8y_Restart", "c8y_Command"),
  line: fc.constantFrom("a", "b", "c"),
  xid: fc.constantFrom(null, "x"),
  operationId: fc.constantFrom(null, "1", "2"),
  stage: fc.constantFrom(...STAGES),
});

const journalOp = fc.oneof(
  fc.record({ kind: fc.constant("add" as const), entry: entryArb, byIdKey: fc.boolean() }),
  fc.record({ kind: fc.constant("stage" as const), pick: fc.nat(), stage: fc.constantFrom(...STAGES) }),
  fc.record({ kind: fc.constant("bump" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("adopt" as const), pick: fc.nat(), operationId: fc.constantFrom("1", "3") }),
  fc.record({ kind: fc.constant("remove" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("round" as const) }),
  fc.record({ kind: fc.constant("sight" as const), pick: fc.nat() }),
);

/** The lookups as they were written before the indexes: scans over every entry. */
const naive = {
  redelivered: (es: JournalEntry[], raw: readonly string[], xid: string | null) =>
    es.filter((e) => e.xid === xid && e.raw.join() === raw.join()).sort((a, b) => a.seq - b.seq)[0],
  idlessLine: (es: JournalEntry[], raw: readonly string[]) =>
    es
      .filter((e) => e.operationId === null && e.xid === null && e.raw.join() === raw.join())
      .sort((a, b) => a.seq - b.seq)[0],
  head: (es: JournalEntry[], d: string, f: string) =>
    es
      .filter((e) => e.deviceId === d && e.fragment === f && e.stage !== "finished")
      .sort((a, b) => a.order - b.order || a.seq - b.seq)[0],
  byId: (es: JournalEntry[], id: string) =>
    es.find((e) => e.key === byIdKey(id)) ??
    es.filter((e) => e.operationId === id).sort((a, b) => a.seq - b.seq)[0],
};

describe("journal indexes: same answers as scans over the entries", () => {
  test.prop([fc.array(journalOp, { maxLength: 120 })])("after every change", (ops) => {
    let j: Journal = emptyJournal;
    let sighted = new Set<string>();
    const pick = (n: number): JournalEntry | undefined => {
      const es = openEntries(j);
      return es.length === 0 ? undefined : es[n % es.length];
    };
    for (const o of ops) {
      switch (o.kind) {
        case "add": {
          const seq = j.nextSeq;
          const { device, fragment, line, xid, operationId, stage } = o.entry;
          const key = o.byIdKey && operationId !== null ? byIdKey(operationId) : `op-${seq}`;
          if (openEntries(j).some((e) => e.key === key)) break;
          j = putEntry(j, {
            key,
            seq,
            order: seq,
            deviceId: device,
            fragment,
            raw: ["511", device, line],
            operation: null,
            xid,
            operationId,
            json: null,
            failure: null,
            stage,
            executingAcked: false,
            handedOut: false,
            persistRef: null,
            duplicates: 0,
          });
          break;
        }
        case "stage": {
          const e = pick(o.pick);
          if (e !== undefined) j = putEntry(j, { ...e, stage: o.stage });
          break;
        }
        case "bump": {
          const e = pick(o.pick);
          if (e !== undefined) j = bumpOrder(j, { ...e, duplicates: e.duplicates + 1 });
          break;
        }
        case "adopt": {
          const e = pick(o.pick);
          if (e !== undefined) j = putEntry(j, { ...e, operationId: o.operationId });
          break;
        }
        case "remove": {
          const e = pick(o.pick);
          if (e !== undefined) {
            j = removeEntry(j, e.key);
            sighted.delete(e.key);
          }
          break;
        }
        case "round":
          j = beginSightings(j);
          sighted = new Set();
          break;
        case "sight": {
          const e = pick(o.pick);
          if (e !== undefined) {
            j = markSighted(j, e.key);
            sighted.add(e.key);
          }
          break;
        }
      }
      const es = openEntries(j);
      expect(unfinishedCount(j)).toBe(es.filter((e) => e.stage !== "finished").length);
      expect(hasIdlessEntries(j)).toBe(es.some((e) => e.operationId === null));
      for (const byId of [false, true]) {
        expect(waitingAllSighted(j, byId)).toBe(
          es.every((e) => e.stage !== "received" || (byId && e.operationId !== null) || sighted.has(e.key)),
        );
      }
      for (const e of es) expect(sightedNow(j, e.key)).toBe(sighted.has(e.key));
      for (const d of ["d1", "d2"]) {
        for (const f of ["c8y_Restart", "c8y_Command"]) {
          expect(headOf(j, d, f)?.key).toBe(naive.head(es, d, f)?.key);
          const group = es.filter((e) => e.deviceId === d && e.fragment === f);
          expect(groupHasEntries(j, d, f)).toBe(group.length > 0);
          expect(groupFirstSeq(j, d, f)).toBe(
            group.length === 0 ? undefined : Math.min(...group.map((e) => e.seq)),
          );
          for (const line of ["a", "b", "c"]) {
            const raw = ["511", d, line];
            for (const xid of [null, "x"]) {
              expect(findRedelivered(j, raw, xid)?.key).toBe(naive.redelivered(es, raw, xid)?.key);
            }
            expect(findIdlessLine(j, raw)?.key).toBe(naive.idlessLine(es, raw)?.key);
          }
        }
      }
      for (const id of ["1", "2", "3", "4"]) expect(findById(j, id)?.key).toBe(naive.byId(es, id)?.key);
    }
  });
});

// --- Tombstones ------------------------------------------------------------------------

describe("tombstones: same answers as an array", () => {
  const tombOp = fc.oneof(
    fc.record({
      kind: fc.constant("lay" as const),
      line: fc.constantFrom("a", "b"),
      xid: fc.constantFrom(null, "x"),
      operationId: fc.constantFrom(null, "7"),
      lifeMs: fc.integer({ min: 1, max: 50 }),
    }),
    fc.record({
      kind: fc.constant("duplicate" as const),
      line: fc.constantFrom("a", "b"),
      xid: fc.constantFrom(null, "x"),
    }),
    fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 30 }) }),
  );
  test.prop([fc.array(tombOp, { maxLength: 150 })])("lay, find, count, expire", (ops) => {
    let ts = emptyTombstones;
    let model: Tombstone[] = [];
    let now = 0;
    for (const o of ops) {
      if (o.kind === "lay") {
        const t: Tombstone = {
          raw: [o.line],
          xid: o.xid,
          untilMs: now + o.lifeMs,
          duplicates: 0,
          operationId: o.operationId,
        };
        ts = layTombstone(ts, t);
        model = [...model, t];
      } else if (o.kind === "duplicate") {
        const id = findTombstone(ts, o.xid, [o.line]);
        const i = model.findIndex((t) => t.xid === o.xid && t.raw[0] === o.line);
        expect(id === undefined).toBe(i < 0);
        if (id !== undefined) {
          ts = countDuplicate(ts, id);
          model = model.map((t, k) => (k === i ? { ...t, duplicates: t.duplicates + 1 } : t));
        }
      } else {
        now += o.ms;
        const { tombstones, absorbed } = expire(ts, now);
        expect(absorbed).toBe(model.some((t) => t.untilMs <= now && t.duplicates > 0));
        ts = tombstones;
        model = model.filter((t) => t.untilMs > now);
      }
      expect(P.values(ts.byId)).toEqual(model);
      expect(nextExpiry(ts)).toBe(model.length === 0 ? undefined : Math.min(...model.map((t) => t.untilMs)));
      for (const line of ["a", "b"]) {
        const idless = findIdlessTombstone(ts, [line]);
        const i = model.findIndex((t) => t.xid === null && t.operationId === null && t.raw[0] === line);
        expect(idless === undefined ? undefined : P.get(ts.byId, idless)).toEqual(
          i < 0 ? undefined : model[i],
        );
      }
    }
  });
});

// --- Finished ids ----------------------------------------------------------------------

describe("finished ids: same answers as the sort they replace", () => {
  /** The former `rememberFinished`: a record, sorted by age on every call. */
  const naiveRemember = (
    ids: Record<string, number>,
    id: string,
    now: number,
    maxCount: number,
    maxAgeMs: number,
  ) => {
    const out: Record<string, number> = { ...ids, [id]: now };
    const byAge = Object.entries(out).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
    let excess = byAge.length - maxCount;
    const evicted: string[] = [];
    for (const [k, atMs] of byAge) {
      if (excess <= 0 && atMs > now - maxAgeMs) break;
      delete out[k];
      evicted.push(k);
      excess--;
    }
    return { out, evicted };
  };
  test.prop([
    fc.array(fc.tuple(fc.integer({ min: 1, max: 30 }).map(String), fc.integer({ min: 0, max: 20 })), {
      maxLength: 200,
    }),
    fc.integer({ min: 1, max: 10 }),
    fc.integer({ min: 1, max: 100 }),
  ])("remember and evict", (calls, maxCount, maxAgeMs) => {
    let f = emptyFinishedIds;
    let model: Record<string, number> = {};
    let now = 0;
    for (const [id, dt] of calls) {
      now += dt;
      const expected = naiveRemember(model, id, now, maxCount, maxAgeMs);
      const r = evictFinished(addFinished(f, id, now), maxCount, now - maxAgeMs);
      expect(r.evicted).toEqual(expected.evicted);
      expect(finishedRecord(r.finished)).toEqual(expected.out);
      f = r.finished;
      model = expected.out;
    }
  });
});
