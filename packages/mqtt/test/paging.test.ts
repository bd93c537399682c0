/**
 * Outbox paging through the real driver and the default store (SQLite), broker down: a class
 * keeps only `outboxMemoryRows` rows in memory, drop-oldest still drops the oldest rows
 * (reading the next ones back from the store as the head runs low), and a restart reads back
 * only the head plus counts.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EngineState, Report } from "@c8ylink/core";
import { afterEach, describe, expect, it } from "vitest";
import { createEngine, type Engine } from "../src/index.js";
import { freePort } from "./support/broker.js";
import { measurement, passwordConfig } from "./support/fixture.js";

const engines: Engine[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop().catch(() => {});
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const MEMORY_ROWS = 4;
const CLASS_LIMIT = 10;

const offlineEngine = async (stateDir: string) => {
  const engine = createEngine({
    config: passwordConfig({
      outboxMemoryRows: MEMORY_ROWS,
      outbox: { measurement: { maxMessages: CLASS_LIMIT } },
      backoff: { floorMs: 60_000, capMs: 60_000, stableMs: 60_000 },
    }),
    url: `mqtt://127.0.0.1:${await freePort()}`,
    stateDir,
  });
  engines.push(engine);
  const reports: Report[] = [];
  engine.onReport((r) => reports.push(r));
  await engine.start();
  return { engine, reports };
};

/** Refs of the rows of a class held in memory, oldest first. */
const headRefs = (c: EngineState["outbox"]["measurement"]): number[] => {
  const front: number[] = [];
  for (let cell = c.queue.front; cell !== null; cell = cell.tail) front.push(cell.head.ref);
  const back: number[] = [];
  for (let cell = c.queue.back; cell !== null; cell = cell.tail) back.push(cell.head.ref);
  return [...front, ...back.reverse()];
};

/** Lets storage writes and reads complete and their results be fed. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe("outbox paging with the SQLite store", () => {
  it("keeps only the head in memory, drops the oldest rows in order, and restarts with the head plus counts", async () => {
    const dir = await mkdtemp(join(tmpdir(), "c8ylink-paging-"));
    dirs.push(dir);
    const { engine, reports } = await offlineEngine(dir);
    const refs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = engine.submit(measurement(i));
      if (!r.accepted) throw new Error(`row ${i} refused: ${r.reason}`);
      refs.push(r.ref);
      await engine.whenDurable();
      await settle();
      const c = engine.state().outbox.measurement;
      expect(c.queue.size).toBeLessThanOrEqual(MEMORY_ROWS);
      expect(c.count).toBe(Math.min(i + 1, CLASS_LIMIT));
    }
    const dropped = reports.flatMap((r) => (r.kind === "dropped" ? [r.ref] : []));
    expect(dropped).toEqual(refs.slice(0, 20));
    const c = engine.state().outbox.measurement;
    expect(headRefs(c)).toEqual(refs.slice(20, 20 + MEMORY_ROWS));
    expect(c.stored).toBe(CLASS_LIMIT - MEMORY_ROWS);
    expect(reports.filter((r) => r.kind === "outbox-storage")).toEqual([]);
    await engine.stop();

    const again = await offlineEngine(dir);
    const restored = again.engine.state().outbox.measurement;
    expect(headRefs(restored)).toEqual(refs.slice(20, 20 + MEMORY_ROWS));
    expect(restored.count).toBe(CLASS_LIMIT);
    expect(restored.stored).toBe(CLASS_LIMIT - MEMORY_ROWS);
    // New rows get refs after every stored one.
    const next = again.engine.submit(measurement(99));
    if (!next.accepted) throw new Error("refused");
    expect(next.ref).toBeGreaterThan(refs.at(-1)!);
  });
});
