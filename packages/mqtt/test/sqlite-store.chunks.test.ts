/**
 * The SQLite store's chunked outbox (outbox-chunks.ts): runs of plain queued rows stored as
 * one row per run must behave exactly like one key-value entry per row. Model-based: random
 * batches of puts (plain rows in runs, rows that cannot be chunked, rewrites of stored refs)
 * and range deletes (acknowledged packets, partly covering chunks on either side or cutting
 * one in the middle) go to the store and to a Map; after every batch `load`, `loadOutbox`
 * and `outboxStats` must agree with the Map, and so must `load` after a reopen, and `loadPaged`.
 * Failures print the seed and the path.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import { fc, test } from "../../../test/support/property.js";
import { describe, expect, it } from "vitest";
import type { StoreProblem } from "../src/file-store.js";
import { SqliteStore } from "../src/sqlite-store.js";
import { CHUNK_ROWS, isCompactRow } from "../src/outbox-chunks.js";

const Database = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;

const key = (ref: number) => `outbox/${String(ref).padStart(12, "0")}`;
const CLASSES = ["measurement", "event", "alarm"] as const;
type Cls = (typeof CLASSES)[number];

/** A plain queued row as the core writes it (chunkable). */
const plain = (ref: number, cls: Cls, text = `v${ref}`) => {
  const line = `200,c8y_T,T,${text},C`;
  return { ref, cls, topic: "s/us", line, bytes: line.length, template: "200" };
};

type Op =
  | { readonly k: "run"; readonly from: number; readonly n: number; readonly cls: Cls; readonly text: string }
  | { readonly k: "tagged"; readonly ref: number; readonly cls: Cls }
  | { readonly k: "unicode"; readonly ref: number; readonly cls: Cls }
  | { readonly k: "delete"; readonly from: number; readonly n: number }
  | { readonly k: "record"; readonly name: string };

const REFS = 120;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant("run" as const),
      from: fc.integer({ min: 1, max: REFS }),
      n: fc.integer({ min: 1, max: 40 }),
      cls: fc.constantFrom(...CLASSES),
      text: fc.constantFrom("a", "long text", "x,y"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("tagged" as const),
      ref: fc.integer({ min: 1, max: REFS }),
      cls: fc.constantFrom(...CLASSES),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("unicode" as const),
      ref: fc.integer({ min: 1, max: REFS }),
      cls: fc.constantFrom(...CLASSES),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant("delete" as const),
      from: fc.integer({ min: 1, max: REFS }),
      n: fc.integer({ min: 1, max: 30 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("record" as const), name: fc.constantFrom("a", "b") }) },
);

const changesOf = (op: Op): { key: string; value: unknown }[] => {
  switch (op.k) {
    case "run":
      return Array.from({ length: op.n }, (_, i) => ({
        key: key(op.from + i),
        value: plain(op.from + i, op.cls, op.text),
      }));
    case "tagged":
      return [{ key: key(op.ref), value: { ...plain(op.ref, op.cls), tag: "t" } }];
    case "unicode": {
      const line = "200,c8y_T,T,é,C";
      return [
        {
          key: key(op.ref),
          value: { ref: op.ref, cls: op.cls, topic: "s/us", line, bytes: 16, template: "200" },
        },
      ];
    }
    case "delete":
      return Array.from({ length: op.n }, (_, i) => ({ key: key(op.from + i), value: null }));
    case "record":
      return [{ key: op.name, value: { n: op.name } }];
  }
};

const statsOf = (model: Map<string, unknown>) => {
  const out: Record<string, { count: number; bytes: number; lastRef: number }> = {};
  for (const [k, v] of model) {
    if (!k.startsWith("outbox/")) continue;
    const { cls, bytes, ref } = v as { cls: string; bytes: number; ref: number };
    const s = (out[cls] ??= { count: 0, bytes: 0, lastRef: 0 });
    s.count++;
    s.bytes += bytes;
    s.lastRef = Math.max(s.lastRef, ref);
  }
  return out;
};

const outboxOf = (model: Map<string, unknown>, cls: string) =>
  [...model.entries()]
    .filter(([k, v]) => k.startsWith("outbox/") && (v as { cls: string }).cls === cls)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, v]) => v);

/** Sorted by key: the store returns outbox rows in ref order, the model in insertion order. */
const sorted = (records: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(records).sort(([a], [b]) => (a < b ? -1 : 1)));

describe("the chunked outbox of the SQLite store", () => {
  test.prop(
    [
      fc.array(fc.array(opArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 0, max: REFS }),
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 30 }),
    ],
    { numRuns: 40 },
  )(
    "reads back exactly what a key-value map holds, across reopens",
    async (batches, afterRef, max, memoryRows) => {
      const dir = await mkdtemp(join(tmpdir(), "c8ylink-chunks-"));
      const problems: StoreProblem[] = [];
      const onProblem = (p: StoreProblem) => problems.push(p);
      try {
        const model = new Map<string, unknown>();
        let store = new SqliteStore(dir, { fsync: false, onProblem });
        await store.load();
        for (const batch of batches) {
          const changes = batch.flatMap(changesOf);
          for (const { key: k, value } of changes) {
            if (value === null) model.delete(k);
            else model.set(k, value);
          }
          await store.apply(changes);
          for (const cls of CLASSES) {
            const want = outboxOf(model, cls).filter((v) => (v as { ref: number }).ref > afterRef);
            expect(await store.loadOutbox(cls, afterRef, max)).toEqual(want.slice(0, max));
          }
          expect(await store.outboxStats()).toEqual(statsOf(model));
          await store.close();
          store = new SqliteStore(dir, { fsync: false, onProblem });
          expect(sorted(await store.load())).toEqual(sorted(Object.fromEntries(model)));
        }
        await store.close();
        const paged = new SqliteStore(dir, { fsync: false, onProblem });
        const { records, outboxStored } = await paged.loadPaged(memoryRows);
        await paged.close();
        const wantRecords = new Map([...model].filter(([k]) => !k.startsWith("outbox/")));
        const wantStored: Record<string, { count: number; bytes: number; lastRef: number }> = {};
        for (const cls of CLASSES) {
          const rows = outboxOf(model, cls) as { ref: number; bytes: number }[];
          for (const r of rows.slice(0, memoryRows)) wantRecords.set(key(r.ref), r);
          const rest = rows.slice(memoryRows);
          if (rest.length > 0)
            wantStored[cls] = {
              count: rest.length,
              bytes: rest.reduce((s, r) => s + r.bytes, 0),
              lastRef: rest.at(-1)!.ref,
            };
        }
        expect(sorted(records)).toEqual(sorted(Object.fromEntries(wantRecords)));
        expect(outboxStored).toEqual(wantStored);
        expect(problems).toEqual([]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );

  it("stores a run of plain rows as chunks, and other rows as JSON rows", async () => {
    const dir = await mkdtemp(join(tmpdir(), "c8ylink-chunks-"));
    try {
      const store = new SqliteStore(dir);
      await store.load();
      const n = CHUNK_ROWS + 10;
      await store.apply([
        ...Array.from({ length: n }, (_, i) => ({ key: key(i + 1), value: plain(i + 1, "measurement") })),
        { key: key(n + 1), value: { ...plain(n + 1, "measurement"), tag: "t" } },
      ]);
      // An acknowledged packet cutting into the first chunk.
      await store.apply(Array.from({ length: 5 }, (_, i) => ({ key: key(i + 1), value: null })));
      await store.close();
      const db = new Database(join(dir, "store.db"), { readonly: true });
      const chunks = db.prepare("SELECT ref, last FROM outbox_chunks ORDER BY ref").all();
      const json = db.prepare("SELECT ref FROM outbox").all();
      db.close();
      expect(chunks).toEqual([
        { ref: 6, last: CHUNK_ROWS },
        { ref: CHUNK_ROWS + 1, last: n },
      ]);
      expect(json).toEqual([{ ref: n + 1 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports a corrupt chunk and starts without its rows", async () => {
    const dir = await mkdtemp(join(tmpdir(), "c8ylink-chunks-"));
    try {
      const a = new SqliteStore(dir);
      await a.load();
      await a.apply([1, 2, 3].map((ref) => ({ key: key(ref), value: plain(ref, "event") })));
      await a.apply([{ key: key(10), value: plain(10, "event") }]);
      await a.close();
      const db = new Database(join(dir, "store.db"));
      db.prepare("UPDATE outbox_chunks SET lines = 'only one line' WHERE ref = 1").run();
      db.close();
      const problems: StoreProblem[] = [];
      const b = new SqliteStore(dir, { onProblem: (p) => problems.push(p) });
      expect(await b.load()).toEqual({ [key(10)]: plain(10, "event") });
      await b.close();
      expect(problems.map((p) => p.reason)).toEqual([
        "outbox chunk 1..3: its lines do not match its refs, ignored",
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("chunks only values that read back exactly", () => {
    const row = plain(7, "event");
    expect(isCompactRow(7, row)).toBe(true);
    expect(isCompactRow(8, row)).toBe(false);
    expect(isCompactRow(7, { ...row, tag: "x" })).toBe(false);
    expect(isCompactRow(7, { ...row, bytes: row.bytes + 1 })).toBe(false);
    expect(isCompactRow(7, { ...row, line: "a\nb", bytes: 3 })).toBe(false);
    expect(isCompactRow(7, { ...row, topic: 5 })).toBe(false);
    expect(isCompactRow(7, Object.assign(Object.create(null) as object, row))).toBe(false);
    expect(isCompactRow(7, [row])).toBe(false);
  });
});
