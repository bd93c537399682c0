/**
 * Paging of the outbox (at most `outboxMemoryRows` queued rows per class in memory, the rest
 * read back from storage with `load-outbox`) never loses, reorders or duplicates rows.
 *
 * Model-based: the same random moves (submissions of three classes, storage writes, load
 * answers, PUBACKs, crashes with a restart from what storage holds) drive a paged engine
 * (2–5 rows per class in memory; its restart reads only that head plus counts, as the SQLite
 * store's `loadPaged` does) and an unpaged one. After healing, in each class and in both
 * engines: every row that was ever durable was delivered, first deliveries come in submission
 * order, no row twice in one life, and the outboxes are empty. Without crashes both engines
 * deliver exactly the same rows (all of them). With crashes they may differ only in rows that
 * were never durable: the unpaged engine may have sent such a row from memory, the paged one
 * sends rows beyond its head only once read back from storage. Failures print the seed and path.
 */
import { describe, expect } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { DURABLE, type Command, type EventInput } from "@c8ylink/core";
import { Harness } from "./support/harness.js";

type Cls = "measurement" | "event" | "alarm";
const CLASSES: readonly Cls[] = ["measurement", "event", "alarm"];

const config = (memoryRows: number) => ({
  deviceId: "dev",
  auth: { mode: "password", tenant: "t", user: "u", password: "p" },
  inflightWindow: 2,
  outboxMemoryRows: memoryRows,
  backoff: { floorMs: 1000, capMs: 30_000, stableMs: 20_000, configErrorDelayMs: 60_000 },
  settleMs: 0,
});

const message = (cls: Cls, seq: number): EventInput => {
  switch (cls) {
    case "measurement":
      return {
        type: "submit",
        message: { template: "200", fragment: "f", series: "s", value: seq, unit: "u" },
      };
    case "event":
      return { type: "submit", message: { template: "400", type: "e", text: `e${seq}` } };
    case "alarm":
      return { type: "submit", message: { template: "301", type: "a", text: `a${seq}` } };
  }
};

/** The class and sequence number of a delivered row, or undefined for session rows. */
const identify = (line: string): { cls: Cls; seq: number } | undefined => {
  const m = /^200,f,s,(\d+),u$/.exec(line) ?? null;
  if (m !== null) return { cls: "measurement", seq: Number(m[1]) };
  const e = /^400,e,e(\d+)$/.exec(line);
  if (e !== null) return { cls: "event", seq: Number(e[1]) };
  const a = /^301,a,a(\d+)/.exec(line);
  if (a !== null) return { cls: "alarm", seq: Number(a[1]) };
  return undefined;
};

type Load = Extract<Command, { type: "load-outbox" }>;

/** One engine with its storage across lives; records every acknowledged row. */
class World {
  h: Harness;
  readonly storage = new Map<string, unknown>();
  loads: Load[] = [];
  /** Per class, the seqs in order of acknowledgement, per life. */
  readonly lives: Record<Cls, number[]>[] = [];
  /** Rows that were in storage at some point (durable). */
  readonly everDurable: Record<Cls, Set<number>> = {
    measurement: new Set(),
    event: new Set(),
    alarm: new Set(),
  };

  noteDurable(): void {
    for (const [key, value] of this.storage) {
      if (!key.startsWith(DURABLE.outboxPrefix)) continue;
      const id = identify((value as { line: string }).line);
      if (id !== undefined) this.everDurable[id.cls].add(id.seq);
    }
  }

  constructor(private readonly memoryRows: number | undefined) {
    this.h = this.boot();
  }

  private boot(): Harness {
    const h = new Harness(config(this.memoryRows ?? 1_000_000));
    // The harness's storage is this world's (it survives crashes).
    (h as { storage: Map<string, unknown> }).storage = this.storage;
    h.observers.push((_e, commands) => {
      for (const c of commands) if (c.type === "load-outbox") this.loads.push(c);
    });
    const ack = h.ackOldest.bind(h);
    h.ackOldest = () => {
      const p = h.inflight[0];
      const out = ack();
      if (p !== undefined) {
        const life = this.lives.at(-1)!;
        for (const line of p.payload.split("\n")) {
          const id = identify(line);
          if (id !== undefined) life[id.cls].push(id.seq);
        }
      }
      return out;
    };
    this.lives.push({ measurement: [], event: [], alarm: [] });
    this.loads = [];
    const durable: Record<string, unknown> = {};
    const stored: Record<string, { count: number; bytes: number; lastRef: number }> = {};
    const byRef = [...this.storage].sort((a, b) => a[0].localeCompare(b[0]));
    const head: Record<string, number> = {};
    for (const [key, value] of byRef) {
      const row = value as { cls?: string; ref: number; bytes: number };
      if (
        this.memoryRows !== undefined &&
        key.startsWith(DURABLE.outboxPrefix) &&
        row.cls !== "operation-status"
      ) {
        const cls = row.cls ?? "";
        head[cls] = (head[cls] ?? 0) + 1;
        if (head[cls] > this.memoryRows) {
          const s = stored[cls] ?? { count: 0, bytes: 0, lastRef: 0 };
          stored[cls] = { count: s.count + 1, bytes: s.bytes + row.bytes, lastRef: row.ref };
          continue;
        }
      }
      durable[key] = value;
    }
    h.send({ type: "start", durable, outboxStored: stored });
    for (let i = 0; i < 20 && h.state.phase.name !== "online"; i++) {
      if (h.pendingConnect !== null) h.connack();
      else if (h.pendingSubscribes.length > 0) h.suback();
      else break;
    }
    if (h.state.phase.name !== "online") throw new Error(`not online: ${h.state.phase.name}`);
    return h;
  }

  /** Answers the oldest load after every write issued before it landed. */
  answerLoad(): void {
    const load = this.loads.shift();
    if (load === undefined) return;
    this.h.persistAll();
    this.noteDurable();
    const rows = [...this.storage]
      .filter(([k, v]) => k.startsWith(DURABLE.outboxPrefix) && (v as { cls?: string }).cls === load.cls)
      .map(([, v]) => v as { ref: number })
      .filter((v) => v.ref > load.afterRef)
      .sort((a, b) => a.ref - b.ref)
      .slice(0, load.max);
    this.h.send({ type: "outbox-loaded", cls: load.cls, max: load.max, rows });
  }

  crash(): void {
    this.h = this.boot(); // pending writes and loads are lost with the process
  }

  heal(): void {
    for (let i = 0; i < 500; i++) {
      if (this.h.pendingPersists.length > 0) {
        this.h.persistAll();
        this.noteDurable();
      } else if (this.loads.length > 0) this.answerLoad();
      else if (this.h.inflight.length > 0) this.h.ackOldest();
      else return;
    }
  }
}

type Move =
  | { k: "submit"; cls: Cls; n: number }
  | { k: "batch"; classes: readonly Cls[] }
  | { k: "persist" }
  | { k: "load" }
  | { k: "ack"; n: number }
  | { k: "crash" };

const moveArb: fc.Arbitrary<Move> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant("submit" as const),
      cls: fc.constantFrom(...CLASSES),
      n: fc.integer({ min: 1, max: 6 }),
    }),
  },
  {
    // One `submit-batch` event, larger than the in-memory window, classes mixed.
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("batch" as const),
      classes: fc.array(fc.constantFrom(...CLASSES), { minLength: 1, maxLength: 14 }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ k: "persist" as const }) },
  { weight: 2, arbitrary: fc.constant({ k: "load" as const }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("ack" as const), n: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: "crash" as const }) },
);

describe("outbox paging", () => {
  test.prop([fc.integer({ min: 2, max: 5 }), fc.array(moveArb, { maxLength: 80 })], { numRuns: 150 })(
    "never loses, reorders or duplicates rows against an unpaged engine, across crashes",
    (memoryRows, moves) => {
      const paged = new World(memoryRows);
      const model = new World(undefined);
      let seq = 0;
      for (const m of moves) {
        for (const w of [paged, model]) {
          switch (m.k) {
            case "submit":
              for (let i = 0; i < m.n; i++) w.h.send(message(m.cls, seq + i));
              break;
            case "batch":
              w.h.send({
                type: "submit-batch",
                rows: m.classes.map((cls, i) => {
                  const one = message(cls, seq + i);
                  if (one.type !== "submit") throw new Error("a submit");
                  return { message: one.message };
                }),
              });
              break;
            case "persist":
              w.h.persistAll();
              w.noteDurable();
              break;
            case "load":
              w.answerLoad();
              break;
            case "ack":
              for (let i = 0; i < m.n; i++) w.h.ackOldest();
              break;
            case "crash":
              w.crash();
              break;
          }
        }
        if (m.k === "submit") seq += m.n;
        if (m.k === "batch") seq += m.classes.length;
        // In memory: never more than the window per pageable class (plus nothing else).
        for (const cls of CLASSES)
          expect(paged.h.state.outbox[cls].queue.size).toBeLessThanOrEqual(memoryRows);
      }
      paged.heal();
      model.heal();
      for (const cls of CLASSES) {
        const delivered = (w: World) => {
          const first: number[] = [];
          const seen = new Set<number>();
          for (const life of w.lives) {
            // Within one life a row is delivered once.
            expect(new Set(life[cls]).size, `${cls} duplicated within a life`).toBe(life[cls].length);
            for (const s of life[cls]) {
              if (!seen.has(s)) first.push(s);
              seen.add(s);
            }
          }
          return first;
        };
        for (const w of [paged, model]) {
          const d = delivered(w);
          expect(d, `${cls}: first deliveries in submission order`).toEqual([...d].sort((a, b) => a - b));
          const missing = [...w.everDurable[cls]].filter((s) => !d.includes(s));
          expect(
            missing,
            `${cls}: durable rows never delivered (${w === paged ? "paged" : "unpaged"})`,
          ).toEqual([]);
        }
        if (!moves.some((m) => m.k === "crash")) {
          expect(delivered(paged), `${cls}: same rows as the unpaged engine`).toEqual(delivered(model));
        }
        expect(paged.h.state.outbox[cls].count).toBe(0);
        expect(paged.h.state.outbox[cls].stored).toBe(0);
      }
    },
  );
});
