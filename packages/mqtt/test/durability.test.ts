/**
 * What the engine promises about data before any broker answers: durability of submissions
 * (`whenDurable`, `undurableCount`), a seed per engine unless configured, event logs that keep
 * earlier lives, and a state directory held by one engine of one device.
 */
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { parseLog, replay, type DurableChange } from "@c8ylink/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  claimStateDir,
  createEngine,
  MemoryStorage,
  readLogFile,
  type Engine,
  type Storage,
} from "../src/index.js";
import { freePort } from "./support/broker.js";
import { measurement, passwordConfig } from "./support/fixture.js";

const engines: Engine[] = [];
const storages: GatedStorage[] = [];
afterEach(async () => {
  for (const s of storages.splice(0)) await s.open();
  for (const e of engines.splice(0)) await e.stop().catch(() => {});
});

/** A memory storage whose writes wait until `release()` (or fail with `fail()`). */
class GatedStorage implements Storage {
  private readonly inner = new MemoryStorage();
  private waiting: { changes: readonly DurableChange[]; resolve: () => void; reject: (e: Error) => void }[] =
    [];
  private passThrough = false;
  constructor() {
    storages.push(this);
  }
  load() {
    return this.inner.load();
  }
  apply(changes: readonly DurableChange[]): Promise<void> {
    if (this.passThrough) return this.inner.apply(changes);
    return new Promise((resolve, reject) => this.waiting.push({ changes, resolve, reject }));
  }
  get pending(): number {
    return this.waiting.length;
  }
  async release(): Promise<void> {
    for (const w of this.waiting.splice(0)) {
      await this.inner.apply(w.changes);
      w.resolve();
    }
  }
  /** From now on every write completes at once. */
  async open(): Promise<void> {
    this.passThrough = true;
    await this.release();
  }
  fail(message: string): void {
    for (const w of this.waiting.splice(0)) w.reject(new Error(message));
  }
}

const offlineEngine = async (storage: Storage, config = passwordConfig()) => {
  const engine = createEngine({ config, url: `mqtt://127.0.0.1:${await freePort()}`, storage });
  engines.push(engine);
  await engine.start();
  return engine;
};

const waitUntil = async (ready: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 500 && !ready(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ready()) throw new Error(`never ${what}`);
};

describe("durability of submissions", () => {
  it("counts accepted rows until their storage write completes, and whenDurable waits for it", async () => {
    const storage = new GatedStorage();
    const engine = await offlineEngine(storage);
    await storage.release(); // the start's own writes
    const refs: number[] = [];
    for (let i = 0; i < 20; i++) {
      const r = engine.submit(measurement(i));
      if (r.accepted) refs.push(r.ref);
    }
    expect(refs).toHaveLength(20);
    expect(engine.undurableCount()).toBe(20);
    let firstDurable = false;
    let lastDurable = false;
    void engine.whenDurable(refs[0]).then(() => (firstDurable = true));
    void engine.whenDurable().then(() => (lastDurable = true));
    await waitUntil(() => storage.pending > 0, "a storage write");
    await new Promise((r) => setTimeout(r, 20));
    expect([firstDurable, lastDurable]).toEqual([false, false]);
    await storage.release();
    await waitUntil(() => firstDurable, "the first row durable");
    // Rows submitted while a write was under way go in the next write.
    while (engine.undurableCount() > 0) {
      await storage.release();
      await new Promise((r) => setTimeout(r, 5));
    }
    await engine.whenDurable();
    expect(lastDurable).toBe(true);
    await expect(engine.whenDurable(refs.at(-1)! + 1000)).rejects.toThrow("no accepted submission has ref");
  });

  it("rejects whenDurable when the storage write of the submission failed", async () => {
    const storage = new GatedStorage();
    const engine = await offlineEngine(storage);
    await storage.release();
    const r = engine.submit(measurement(1));
    if (!r.accepted) throw new Error("not accepted");
    const durable = engine.whenDurable(r.ref);
    await waitUntil(() => storage.pending > 0, "the write");
    storage.fail("disk full");
    await expect(durable).rejects.toThrow(
      `submission ${r.ref} is not durable: storage write failed: disk full`,
    );
    expect(engine.undurableCount()).toBe(0);
  });

  it("rejects whenDurable of rows still waiting when the engine stops", async () => {
    const storage = new GatedStorage();
    const engine = await offlineEngine(storage);
    await storage.release();
    engine.submit(measurement(1));
    const durable = engine.whenDurable();
    const stopping = engine.stop();
    await waitUntil(() => storage.pending > 0, "the write");
    storage.fail("stopping");
    await expect(durable).rejects.toThrow();
    await stopping;
  });
});

describe("submitMany", () => {
  it("refuses bad rows by index, queues the rest in one write, and durable() waits for it", async () => {
    const storage = new GatedStorage();
    const engine = await offlineEngine(storage);
    await storage.release();
    const result = engine.submitMany([
      { message: measurement(1) },
      { message: { ...measurement(2), value: Number.NaN } },
      { xid: "myTemplates", values: ["9", "x"], tag: "c" },
      { message: { template: "999" } } as never,
      { message: measurement(3), child: "bad/child" },
      { message: measurement(4) },
    ]);
    expect(result.accepted).toBe(3);
    expect(result.refused.map((r) => r.index)).toEqual([1, 3, 4]);
    expect(result.refused[0]?.reason).toContain("finite");
    expect(engine.undurableCount()).toBe(3);
    let durable = false;
    void result.durable().then(() => (durable = true));
    await waitUntil(() => storage.pending > 0, "a storage write");
    expect(storage.pending).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(durable).toBe(false);
    await storage.release();
    await waitUntil(() => durable, "the batch durable");
    expect(engine.undurableCount()).toBe(0);
    // Rows refused here never reach the core: the four others hold consecutive refs.
    expect(result.lastRef! - result.firstRef!).toBe(3);
  });

  it("rejects durable() when the batch's write failed", async () => {
    const storage = new GatedStorage();
    const engine = await offlineEngine(storage);
    await storage.release();
    const result = engine.submitMany([{ message: measurement(1) }, { message: measurement(2) }]);
    const durable = result.durable();
    await waitUntil(() => storage.pending > 0, "the write");
    storage.fail("disk full");
    await expect(durable).rejects.toThrow("storage write failed: disk full");
    expect(engine.undurableCount()).toBe(0);
  });
});

describe("the seed", () => {
  it("is drawn per engine when the configuration names none, and kept when it does", () => {
    const { seed: _fixed, ...unseeded } = passwordConfig();
    const seeds = Array.from(
      { length: 4 },
      () => createEngine({ config: unseeded, url: "mqtt://127.0.0.1:1" }).state().config.seed,
    );
    expect(new Set(seeds).size).toBeGreaterThan(1);
    expect(
      createEngine({ config: passwordConfig({ seed: 99 }), url: "mqtt://127.0.0.1:1" }).state().config.seed,
    ).toBe(99);
  });
});

describe("recordMode append", () => {
  it("keeps earlier lives and starts each with its own header, the seed in its config", async () => {
    const dir = await mkdtemp(join(tmpdir(), "c8ylink-append-"));
    const path = join(dir, "events.jsonl");
    await writeFile(path, '{"kind":"step","seq":1,"torn'); // a crash's torn last line
    const { seed: _fixed, ...unseeded } = passwordConfig();
    for (let life = 0; life < 2; life++) {
      const engine = createEngine({
        config: unseeded,
        url: `mqtt://127.0.0.1:${await freePort()}`,
        recordTo: path,
        recordMode: "append",
      });
      await engine.start();
      await engine.stop();
    }
    const lines = (await readFile(path, "utf8")).split("\n");
    expect(lines[0]).toBe('{"kind":"step","seq":1,"torn');
    const headers = lines.flatMap((l) =>
      l.includes('"kind":"header"') ? [JSON.parse(l) as { seed: number; config: { seed: number } }] : [],
    );
    expect(headers).toHaveLength(2);
    for (const h of headers) expect(h.config.seed).toBe(h.seed);
  });
});

describe("a gzip event log", () => {
  it("records a batch to a .gz log that reads back and replays without divergence", async () => {
    const dir = await mkdtemp(join(tmpdir(), "c8ylink-gz-"));
    const path = join(dir, "events.jsonl.gz");
    const engine = createEngine({
      config: passwordConfig(),
      url: `mqtt://127.0.0.1:${await freePort()}`,
      recordTo: path,
    });
    await engine.start();
    const result = engine.submitMany(Array.from({ length: 500 }, (_, i) => ({ message: measurement(i) })));
    expect(result.accepted).toBe(500);
    await result.durable();
    await engine.stop();
    const raw = await readFile(path);
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
    const log = parseLog(readLogFile(path));
    expect(log.problems).toEqual([]);
    expect(log.steps.filter((s) => s.event.type === "submit-batch")).toHaveLength(1);
    const replayed = replay(log.header!, log.steps);
    if (E.isLeft(replayed)) throw new Error(replayed.left);
    expect(replayed.right.divergence).toBeNull();
  });
});

describe("a state directory", () => {
  it("is held by one engine at a time and bound to the device that used it first", async () => {
    const dir = await mkdtemp(join(tmpdir(), "c8ylink-claim-"));
    const first = await claimStateDir(dir, "dev1");
    await expect(claimStateDir(dir, "dev1")).rejects.toThrow(
      "already used by another engine of this process",
    );
    await first.release();
    await expect(claimStateDir(dir, "dev2")).rejects.toThrow(`state dir ${dir} belongs to device "dev1"`);
    const again = await claimStateDir(dir, "dev1");
    await again.release();
    // A lock left by a process that no longer runs is taken over.
    await writeFile(join(dir, "lock"), "999999999\n");
    const taken = await claimStateDir(dir, "dev1");
    expect(await readFile(join(dir, "lock"), "utf8")).toBe(`${process.pid}\n`);
    await taken.release();
  });
});
