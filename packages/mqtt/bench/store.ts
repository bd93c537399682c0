/**
 * bench:store — the two durable stores side by side (the append-log `FileStore` and the
 * `SqliteStore`), and what a large backlog costs a running engine.
 *
 * Each measurement runs in a fresh child process (so heap and peak RSS belong to it alone):
 *
 * 1. Store throughput, without the engine: ROWS outbox rows written as the engine writes
 *    them (batches of 100 puts, 8 batches in flight), then loaded back (a restart), then
 *    drained (deletes in batches of 350 rows, as PUBACKs of packed publishes release them).
 *    Rounds alternate the two stores; medians are reported.
 * 2. Heap per queued row: an engine with the store, broker down, HEAP_ROWS measurements
 *    submitted and durable; (heap after − heap before, after GC) / rows.
 * 3. Peak RSS with a BACKLOG-row backlog while the broker is down: the child submits the
 *    rows in chunks, waits until they are durable, and reports its peak RSS; then a second
 *    child starts on that state directory (a restart with the backlog) and reports its own.
 *
 * Prints one `goal …` line per goal; writes the figures into docs/benchmarks.md between the
 * bench:store markers. Machine load from other processes shows in the figures: compare ratios.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { DurableChange } from "@c8ylink/core";
import { createEngine, FileStore, type Storage } from "@c8ylink/mqtt";
import { SqliteStore } from "../src/sqlite-store.js";

type Kind = "file" | "sqlite";
const KINDS: readonly Kind[] = ["file", "sqlite"];

const ROWS = Number(process.env.BENCH_STORE_ROWS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const HEAP_ROWS = Number(process.env.BENCH_HEAP_ROWS ?? 100_000);
const BACKLOG = Number(process.env.BENCH_BACKLOG ?? 1_000_000);

const PUT_BATCH = 100;
const IN_FLIGHT = 8;
const DELETE_BATCH = 350;

const openStore = (kind: Kind, dir: string): Storage =>
  kind === "sqlite" ? new SqliteStore(dir) : new FileStore(dir);

const key = (ref: number) => `outbox/${String(ref).padStart(12, "0")}`;
/** An outbox entry as the core persists it (a measurement row of ~40 bytes). */
const entry = (ref: number) => {
  const line = `200,c8y_Temperature,T,${(20 + (ref % 100) / 10).toFixed(1)},C`;
  return { ref, cls: "measurement", topic: "s/us", line, bytes: line.length, template: "200" };
};

const writeAll = async (store: Storage, batches: DurableChange[][]): Promise<void> => {
  let next = 0;
  const worker = async () => {
    while (next < batches.length) await store.apply(batches[next++]!);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
};

/** Child task: write, load, drain ROWS rows; prints timings as JSON. */
const throughput = async (kind: Kind): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "c8ylink-bench-store-"));
  try {
    const puts: DurableChange[][] = [];
    for (let r = 1; r <= ROWS; r += PUT_BATCH) {
      const batch: DurableChange[] = [];
      for (let i = r; i < r + PUT_BATCH && i <= ROWS; i++) batch.push({ key: key(i), value: entry(i) });
      puts.push(batch);
    }
    const deletes: DurableChange[][] = [];
    for (let r = 1; r <= ROWS; r += DELETE_BATCH) {
      const batch: DurableChange[] = [];
      for (let i = r; i < r + DELETE_BATCH && i <= ROWS; i++) batch.push({ key: key(i), value: null });
      deletes.push(batch);
    }
    const a = openStore(kind, dir);
    await a.load();
    const t0 = performance.now();
    await writeAll(a, puts);
    const writeMs = performance.now() - t0;
    await a.close?.();
    const t1 = performance.now();
    const b = openStore(kind, dir);
    const loaded = Object.keys(await b.load()).length;
    const loadMs = performance.now() - t1;
    if (loaded !== ROWS) throw new Error(`${kind}: loaded ${loaded} of ${ROWS} rows`);
    const t2 = performance.now();
    await writeAll(b, deletes);
    const drainMs = performance.now() - t2;
    await b.close?.();
    process.stdout.write(`${JSON.stringify({ writeMs, loadMs, drainMs })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

const deadUrl = async (): Promise<string> => {
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      server.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });
  return `mqtt://127.0.0.1:${port}`;
};

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error("run with --expose-gc");
  collect();
  collect();
};

const offlineEngine = async (kind: Kind, dir: string) => {
  const engine = createEngine({
    config: {
      deviceId: "bench-store",
      device: { name: "bench", type: "c8ylink_Bench" },
      auth: { mode: "password", tenant: "t1", user: "device_bench", password: "pw" },
      backoff: { floorMs: 60_000, capMs: 60_000, stableMs: 60_000 },
      outbox: { measurement: { maxMessages: 10_000_000, maxBytes: 2 ** 32 } },
      seed: 7,
    },
    url: await deadUrl(),
    storage: openStore(kind, dir),
  });
  await engine.start();
  return engine;
};

/** Submits `rows` measurements in chunks (the storage writes overlap), then waits until durable. */
const submitDurably = async (engine: Awaited<ReturnType<typeof offlineEngine>>, rows: number) => {
  for (let i = 0; i < rows; i++) {
    const r = engine.submit({
      template: "200",
      fragment: "c8y_Temperature",
      series: "T",
      value: i % 100,
      unit: "C",
    });
    if (!r.accepted) throw new Error(`row ${i} refused: ${r.reason}`);
    if (i % 2000 === 1999) await new Promise((resolve) => setImmediate(resolve));
  }
  await engine.whenDurable();
};

/** Child task: heap per queued row with a running engine. */
const heapPerRow = async (kind: Kind): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "c8ylink-bench-heap-"));
  try {
    const engine = await offlineEngine(kind, dir);
    gc();
    const before = process.memoryUsage().heapUsed;
    await submitDurably(engine, HEAP_ROWS);
    gc();
    const after = process.memoryUsage().heapUsed;
    if (engine.state().outbox.measurement.count !== HEAP_ROWS) throw new Error("rows missing");
    await engine.stop().catch(() => {});
    process.stdout.write(`${JSON.stringify({ bytesPerRow: (after - before) / HEAP_ROWS })}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/** Child task: build a backlog of BACKLOG rows in `dir` (or, `restart`, start on it); peak RSS. */
const backlogRss = async (kind: Kind, dir: string, restart: boolean): Promise<void> => {
  const t0 = performance.now();
  const engine = await offlineEngine(kind, dir);
  if (!restart) await submitDurably(engine, BACKLOG);
  const held = engine.state().outbox.measurement.count;
  const ms = performance.now() - t0;
  const peakRss = process.resourceUsage().maxRSS * 1024;
  // Not stopped (a stop would try to flush): the child exits; the store is durable already.
  process.stdout.write(`${JSON.stringify({ peakRss, held, ms })}\n`);
  process.exit(0);
};

/** Runs a child task of this script; returns its JSON line. */
const child = <T>(args: readonly string[]): Promise<T> =>
  new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    p.on("error", reject);
    p.on("exit", (code) => {
      const last = out.trim().split("\n").at(-1) ?? "";
      if (code !== 0) reject(new Error(`child ${args.join(" ")} exited ${code}: ${out}`));
      else resolve(JSON.parse(last) as T);
    });
  });

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

const MB = 1024 * 1024;

const main = async (): Promise<void> => {
  const [task, kindArg, dirArg] = process.argv.slice(2);
  const kind = (kindArg ?? "sqlite") as Kind;
  if (task === "throughput") return throughput(kind);
  if (task === "heap") return heapPerRow(kind);
  if (task === "backlog" || task === "restart") return backlogRss(kind, dirArg!, task === "restart");

  type Timing = { writeMs: number; loadMs: number; drainMs: number };
  const timings: Record<Kind, Timing[]> = { file: [], sqlite: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of KINDS) timings[k].push(await child<Timing>(["throughput", k]));
  }
  const med = (k: Kind, f: keyof Timing) => median(timings[k].map((t) => t[f]));
  const heap: Record<Kind, number> = { file: 0, sqlite: 0 };
  for (const k of KINDS) heap[k] = (await child<{ bytesPerRow: number }>(["heap", k])).bytesPerRow;
  type Rss = { peakRss: number; held: number; ms: number };
  const rss: Record<Kind, { build: Rss; restart: Rss }> = {} as never;
  for (const k of KINDS) {
    const dir = mkdtempSync(join(tmpdir(), "c8ylink-bench-backlog-"));
    try {
      const build = await child<Rss>(["backlog", k, dir]);
      const restart = await child<Rss>(["restart", k, dir]);
      rss[k] = { build, restart };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const rate = (ms: number) => Math.round(ROWS / (ms / 1000)).toLocaleString("en");
  const row = (k: Kind) =>
    `| ${k === "file" ? "append log (`FileStore`)" : "SQLite (`SqliteStore`)"} | ${med(k, "writeMs").toFixed(0)} ms (${rate(med(k, "writeMs"))} rows/s) | ${med(k, "loadMs").toFixed(0)} ms | ${med(k, "drainMs").toFixed(0)} ms (${rate(med(k, "drainMs"))} rows/s) | ${heap[k].toFixed(0)} B | ${(rss[k].build.peakRss / MB).toFixed(0)} MB (${(rss[k].build.ms / 1000).toFixed(1)} s) | ${(rss[k].restart.peakRss / MB).toFixed(0)} MB (${rss[k].restart.held.toLocaleString("en")} rows held) |`;
  const defaultKind: Kind = "sqlite";
  const peak = Math.max(rss[defaultKind].build.peakRss, rss[defaultKind].restart.peakRss) / MB;
  const goals = [
    `goal store-write-ratio sqlite/file: ${(med("file", "writeMs") / med("sqlite", "writeMs")).toFixed(2)}× faster (target >= 1) ${med("file", "writeMs") >= med("sqlite", "writeMs") ? "ok" : "short"}`,
    `goal heap-per-queued-row (${defaultKind}): ${heap[defaultKind].toFixed(0)} B (target <= 60) ${heap[defaultKind] <= 60 ? "ok" : "short"}`,
    `goal backlog-1M-peak-rss (${defaultKind}): ${peak.toFixed(0)} MB (target <= 250) ${peak <= 250 ? "ok" : "short"}`,
  ];
  const section = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"} (${os.cpus().length} cores, shared with other work), Node ${process.version}; medians of ${ROUNDS} alternating rounds; \`npm run bench:store\`.`,
    "",
    `| store | write ${ROWS.toLocaleString("en")} rows (batches of ${PUT_BATCH}, ${IN_FLIGHT} in flight) | load them (restart) | drain (deletes, batches of ${DELETE_BATCH}) | heap per queued row, engine running (${HEAP_ROWS.toLocaleString("en")} rows) | peak RSS building a ${BACKLOG.toLocaleString("en")}-row backlog, broker down | peak RSS restarting on it |`,
    "|---|---|---|---|---|---|---|",
    row("file"),
    row("sqlite"),
    "",
    ...goals.map((g) => `- ${g}`),
  ].join("\n");
  for (const l of section.split("\n"))
    if (l.startsWith("|") || l.startsWith("- ")) console.log(l.replace(/^- /, ""));
  const docPath = fileURLToPath(new URL("../../../docs/benchmarks.md", import.meta.url));
  const doc = readFileSync(docPath, "utf8");
  const start = "<!-- bench:store:start -->";
  const end = "<!-- bench:store:end -->";
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i)
    writeFileSync(docPath, `${doc.slice(0, i + start.length)}\n${section}\n${doc.slice(j)}`);
};

void main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
