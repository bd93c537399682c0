/**
 * bench:core — how fast is `step`, and does its cost stay flat as the outbox grows?
 *
 * 1. Throughput: an online engine with the default window (100); the application submits
 *    measurements and the "broker" acknowledges every publish as soon as it appears.
 *    Reported: steps per second and messages delivered per second.
 * 2. Flatness: the engine is offline (so rows stay queued); we time a batch of submit
 *    steps on top of 1k queued rows and on top of 1M queued rows, side by side in this
 *    run, and report the ratio (goal: ≈ 1, i.e. amortized O(1) per step).
 * 3. Drain: going online with 1M queued rows, time per ack/publish step while draining.
 * 4. Operations (bench/journal.ts): a journal near its limit with a slow application, one
 *    80,000-row `s/ds` message, a burst of JSON notifications.
 * 5. Batches and replay: `submit-batch` rows per second, and the replay of the event log of
 *    100,000 rows submitted in one batch (rows per second; parsing timed apart).
 *
 * Figures are printed and written into docs/benchmarks.md between the bench:core markers.
 * Not a test: machines are shared and noisy; read the ratios, not the absolute numbers.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import os from "node:os";
import { PerformanceObserver } from "node:perf_hooks";
import * as E from "fp-ts/lib/Either.js";
import {
  decodeConfig,
  initialState,
  logStepLine,
  makeLogHeader,
  parseLog,
  replay,
  step,
  type Command,
  type EngineState,
  type Event,
} from "@c8ylink/core";
import { journalBench } from "./journal.js";

const configInput = {
  deviceId: "bench",
  auth: { mode: "password", tenant: "t", user: "u", password: "p" },
  subscribeErrors: false,
};
const cfg = decodeConfig(configInput);
if (E.isLeft(cfg)) throw new Error("bad bench config");
const config = cfg.right;
/**
 * Flatness, drain and heap per row measure the in-memory queue: with the default paging
 * (10,000 rows per class in memory) a million offline rows would only be counted, and no
 * store answers their reads here. So those parts hold every row in memory.
 */
const unpaged = { ...config, outboxMemoryRows: 10_000_000 };

const now = 0;
const measurement = (value: number): Event => ({
  type: "submit",
  nowMs: now,
  message: { template: "200", fragment: "c8y_Temperature", series: "T", value, unit: "C" },
});

const feed = (s: EngineState, e: Event): { state: EngineState; commands: readonly Command[] } => step(s, e);

const online = (record?: (line: string) => void): { state: EngineState; inflight: number[]; seq: number } => {
  let s = initialState(config);
  let seq = 0;
  const go = (e: Event) => {
    const r = feed(s, e);
    s = r.state;
    record?.(logStepLine(++seq, e, r.commands));
    return r;
  };
  go({ type: "start", nowMs: now, durable: {} });
  go({ type: "connected", nowMs: now, connectionId: s.connectionId });
  const sub = go({ type: "subscribed", nowMs: now, connectionId: s.connectionId, ref: 2, granted: [1] });
  const inflight = sub.commands.flatMap((c) => (c.type === "publish" && c.qos === 1 ? [c.ref] : []));
  return { state: s, inflight, seq };
};

/**
 * Replay speed of the pure core: the event log of `rows` measurements submitted in one batch
 * (the all-at-once run of bench:e2e, without MQTT or storage), parsed, then replayed and checked
 * (digests recomputed). Rows per second of the replay alone, and the parsing time.
 */
const replaySpeed = (rows: number) => {
  const lines = [JSON.stringify(makeLogHeader(configInput, "bench", config.seed))];
  batchThroughput(rows, rows, (line) => lines.push(line));
  const text = lines.join("\n");
  const t0 = performance.now();
  const log = parseLog(text);
  const t1 = performance.now();
  if (log.header === null || log.problems.length > 0) throw new Error("bench log does not parse");
  const cpu0 = process.cpuUsage();
  const result = replay(log.header, log.steps);
  const seconds = (performance.now() - t1) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (E.isLeft(result) || result.right.divergence !== null) throw new Error("bench log replay diverged");
  return {
    rowsPerSecond: result.right.state.counters.delivered / seconds,
    replayMs: seconds * 1000,
    // On a shared machine wall time stretches with the load; CPU time (GC threads included) less.
    replayCpuMs: (cpu.user + cpu.system) / 1000,
    parseMs: t1 - t0,
    steps: log.steps.length,
    mb: text.length / 1e6,
  };
};

const throughput = (messages: number) => {
  const start = online();
  let state = start.state;
  const inflight = start.inflight;
  let steps = 0;
  const t0 = performance.now();
  let submitted = 0;
  const feed_ = (e: Event): readonly Command[] => {
    const r = feed(state, e);
    state = r.state;
    steps++;
    return r.commands;
  };
  const { take, answerLoads } = pagingStore(inflight, feed_);
  while (state.counters.delivered < messages) {
    if (submitted < messages && inflight.length < 200) {
      take(feed_(measurement(submitted++)));
    } else {
      const ref = inflight.shift();
      if (ref === undefined) break;
      take(feed_({ type: "published", nowMs: now, connectionId: state.connectionId, ref }));
    }
    answerLoads();
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    steps,
    seconds,
    stepsPerSecond: steps / seconds,
    deliveredPerSecond: state.counters.delivered / seconds,
  };
};

/**
 * The storage, as far as paging needs it: rows beyond `outboxMemoryRows` are kept only here and
 * read back with `load-outbox`. Only measurements, persisted in ascending ref order.
 * `take` files a step's commands (publishes into `inflight`), `answerLoads` answers the loads.
 */
const pagingStore = (inflight: number[], step_: (e: Event) => readonly Command[]) => {
  const storedRefs: number[] = [];
  const storedRows: unknown[] = [];
  const loads: Extract<Command, { type: "load-outbox" }>[] = [];
  const take = (commands: readonly Command[]): void => {
    for (const c of commands) {
      if (c.type === "publish") inflight.push(c.ref);
      else if (c.type === "load-outbox") loads.push(c);
      else if (c.type === "persist")
        for (const change of c.changes)
          if (change.value !== null && (change.value as { cls?: unknown }).cls === "measurement") {
            storedRefs.push((change.value as { ref: number }).ref);
            storedRows.push(change.value);
          }
    }
  };
  const answerLoads = (): void => {
    for (let load = loads.shift(); load !== undefined; load = loads.shift()) {
      let lo = 0;
      let hi = storedRefs.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (storedRefs[mid]! <= load.afterRef) lo = mid + 1;
        else hi = mid;
      }
      const rows = storedRows.slice(lo, lo + load.max);
      take(step_({ type: "outbox-loaded", nowMs: now, cls: load.cls, max: load.max, rows }));
    }
  };
  return { take, answerLoads };
};

/**
 * Batches: `submit-batch` events of `perBatch` measurements on an online engine, every publish
 * acknowledged as soon as the window holds 100 packets (and at the end). Rows per second of
 * the core alone: the bound for replay speed and for the engine's own per-row work.
 */
const batchThroughput = (rows: number, perBatch: number, record?: (line: string) => void) => {
  const start = online(record);
  let state = start.state;
  const inflight = start.inflight;
  let seq = start.seq;
  const stepAndRecord = (e: Event) => {
    const r = feed(state, e);
    state = r.state;
    record?.(logStepLine(++seq, e, r.commands));
    return r;
  };
  const { take, answerLoads } = pagingStore(inflight, (e) => stepAndRecord(e).commands);
  const t0 = performance.now();
  for (let first = 0; first < rows; first += perBatch) {
    const batch = Array.from({ length: Math.min(perBatch, rows - first) }, (_, i) => {
      const m = measurement(first + i);
      return { message: m.type === "submit" ? m.message : never() };
    });
    const r = stepAndRecord({ type: "submit-batch", nowMs: now, rows: batch });
    take(r.commands);
    answerLoads();
    const last = first + perBatch >= rows;
    while (inflight.length > 0 && (last || inflight.length >= 100)) {
      const ref = inflight.shift()!;
      const a = stepAndRecord({ type: "published", nowMs: now, connectionId: state.connectionId, ref });
      take(a.commands);
      answerLoads();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  if (state.counters.delivered < rows) throw new Error("batch run did not deliver every row");
  return { rowsPerSecond: rows / seconds };
};

const never = (): never => {
  throw new Error("unreachable");
};

/** Garbage-collector pause time (ms) observed while `f` runs: a big live heap makes GC dearer. */
const withGcTime = async <T>(f: () => T): Promise<{ result: T; gcMs: number }> => {
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  const result = f();
  await new Promise((resolve) => setTimeout(resolve, 50)); // let GC entries arrive
  observer.disconnect();
  return { result, gcMs };
};

/** Offline engine with `queued` rows; then time `batch` more submit steps (total and without GC pauses). */
const submitCost = async (queued: number, batch: number) => {
  let s = initialState(unpaged);
  s = feed(s, { type: "start", nowMs: now, durable: {} }).state;
  for (let i = 0; i < queued; i++) s = feed(s, measurement(i)).state;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const { result: ms, gcMs } = await withGcTime(() => {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) s = feed(s, measurement(i)).state;
    return performance.now() - t0;
  });
  return {
    state: s,
    microsPerStep: (ms * 1000) / batch,
    microsPerStepNoGc: ((ms - gcMs) * 1000) / batch,
    heapBefore,
  };
};

/** Goes online with everything queued and acknowledges until `rows` rows are delivered. */
const drainCost = (state: EngineState, rows: number) => {
  const conn = feed(state, { type: "connected", nowMs: now, connectionId: state.connectionId });
  const subscribe = conn.commands.find((c) => c.type === "subscribe");
  let s = conn.state;
  const sub = feed(s, {
    type: "subscribed",
    nowMs: now,
    connectionId: s.connectionId,
    ref: subscribe?.type === "subscribe" ? subscribe.ref : -1,
    granted: [1],
  });
  s = sub.state;
  const pending = [...conn.commands, ...sub.commands].flatMap((c) =>
    c.type === "publish" && c.qos === 1 ? [c.ref] : [],
  );
  const delivered0 = s.counters.delivered;
  let maxMs = 0;
  let steps = 0;
  const t0 = performance.now();
  while (s.counters.delivered - delivered0 < rows && pending.length > 0) {
    const ref = pending.shift()!;
    const t = performance.now();
    const r = feed(s, { type: "published", nowMs: now, connectionId: s.connectionId, ref });
    maxMs = Math.max(maxMs, performance.now() - t);
    steps++;
    s = r.state;
    for (const c of r.commands) if (c.type === "publish") pending.push(c.ref);
  }
  const total = performance.now() - t0;
  const delivered = s.counters.delivered - delivered0;
  return { microsPerRow: (total * 1000) / delivered, rowsPerStep: delivered / steps, maxMs };
};

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

const main = async () => {
  const big = Number(process.env.BENCH_BIG ?? 1_000_000);
  const small = 1_000;
  const batch = 20_000;
  console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} x${os.cpus().length}`);
  throughput(20_000); // warm-up
  const tp = throughput(200_000);
  console.log(
    `throughput: ${tp.steps} steps in ${tp.seconds.toFixed(2)} s = ${Math.round(tp.stepsPerSecond)} steps/s, ${Math.round(tp.deliveredPerSecond)} messages delivered/s`,
  );
  gc();
  batchThroughput(20_000, 100); // warm-up
  const batch100 = batchThroughput(200_000, 100);
  gc();
  const batchAll = batchThroughput(100_000, 100_000);
  gc();
  replaySpeed(20_000); // warm-up
  gc();
  const rp = replaySpeed(100_000);
  const replayGoal = `goal core replay rows/s, log of 100,000 rows in one batch: ${Math.round(rp.rowsPerSecond).toLocaleString("en")} (target >= 1,000,000) ${rp.rowsPerSecond >= 1_000_000 ? "ok" : "short"}`;
  console.log(
    `replay: 100,000 rows (${rp.steps} steps, ${rp.mb.toFixed(1)} MB) in ${rp.replayMs.toFixed(0)} ms (CPU ${rp.replayCpuMs.toFixed(0)} ms); parsing ${rp.parseMs.toFixed(0)} ms`,
  );
  console.log(replayGoal);
  const batchGoal = `goal core rows/s, submit-batch of 100 rows, acked: ${Math.round(batch100.rowsPerSecond).toLocaleString("en")} (target >= 1,000,000) ${batch100.rowsPerSecond >= 1_000_000 ? "ok" : "short"}`;
  console.log(
    `batches: 100 rows per step ${Math.round(batch100.rowsPerSecond)} rows/s; 100,000 rows in one step ${Math.round(batchAll.rowsPerSecond)} rows/s (both acknowledged, window 100)`,
  );
  console.log(batchGoal);
  gc();
  const smallRun = await submitCost(small, batch);
  gc();
  const bigRun = await submitCost(big, batch);
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const ratio = bigRun.microsPerStep / smallRun.microsPerStep;
  const ratioNoGc = bigRun.microsPerStepNoGc / smallRun.microsPerStepNoGc;
  console.log(
    `submit step with ${small} queued: ${smallRun.microsPerStep.toFixed(2)} µs (${smallRun.microsPerStepNoGc.toFixed(2)} without GC pauses); with ${big} queued: ${bigRun.microsPerStep.toFixed(2)} µs (${bigRun.microsPerStepNoGc.toFixed(2)}); ratio ${ratio.toFixed(2)} (${ratioNoGc.toFixed(2)} without GC pauses)`,
  );
  const bytesPerRow = (heapAfter - smallRun.heapBefore) / (big + batch);
  console.log(`heap per queued row (approx.): ${Math.round(bytesPerRow)} bytes`);
  const drainSmall = drainCost(smallRun.state, small);
  const drainBig = drainCost(bigRun.state, big);
  const drainRatio = drainBig.microsPerRow / drainSmall.microsPerRow;
  console.log(
    `drain: ${small} queued ${drainSmall.microsPerRow.toFixed(2)} µs/row; ${big} queued ${drainBig.microsPerRow.toFixed(2)} µs/row (ratio ${drainRatio.toFixed(2)}, ${drainBig.rowsPerStep.toFixed(0)} rows per publish, slowest step ${drainBig.maxMs.toFixed(1)} ms)`,
  );

  const journal = journalBench();
  for (const line of journal.lines) console.log(line);

  const section = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"} (${os.cpus().length} cores), Node ${process.version}; \`npm run bench:core\`.`,
    "",
    "| measure | value |",
    "|---|---|",
    `| submit + publish + ack cycles | ${Math.round(tp.stepsPerSecond).toLocaleString("en")} steps/s (${Math.round(tp.deliveredPerSecond).toLocaleString("en")} messages delivered/s) |`,
    `| submit step, ${small.toLocaleString("en")} rows queued | ${smallRun.microsPerStep.toFixed(2)} µs (${smallRun.microsPerStepNoGc.toFixed(2)} µs excluding GC pauses) |`,
    `| submit step, ${big.toLocaleString("en")} rows queued | ${bigRun.microsPerStep.toFixed(2)} µs (${bigRun.microsPerStepNoGc.toFixed(2)} µs excluding GC pauses) |`,
    `| **submit ratio ${big.toLocaleString("en")} / ${small.toLocaleString("en")}** | **${ratio.toFixed(2)}** (${ratioNoGc.toFixed(2)} excluding GC pauses) |`,
    `| draining ${small.toLocaleString("en")} queued rows | ${drainSmall.microsPerRow.toFixed(2)} µs per row |`,
    `| draining ${big.toLocaleString("en")} queued rows | ${drainBig.microsPerRow.toFixed(2)} µs per row (${drainBig.rowsPerStep.toFixed(0)} rows per publish; slowest single step ${drainBig.maxMs.toFixed(1)} ms) |`,
    `| **drain ratio ${big.toLocaleString("en")} / ${small.toLocaleString("en")}** | **${drainRatio.toFixed(2)}** |`,
    `| heap per queued row (approx.) | ${Math.round(bytesPerRow)} bytes |`,
    ...journal.rows,
    `| \`submit-batch\` of 100 rows per step, acknowledged | ${Math.round(batch100.rowsPerSecond).toLocaleString("en")} rows/s |`,
    `| \`submit-batch\` of 100,000 rows in one step, acknowledged | ${Math.round(batchAll.rowsPerSecond).toLocaleString("en")} rows/s |`,
    `| replay of the log of 100,000 rows in one batch (${rp.steps} steps, ${rp.mb.toFixed(1)} MB) | ${Math.round(rp.rowsPerSecond).toLocaleString("en")} rows/s (${rp.replayMs.toFixed(0)} ms, CPU ${rp.replayCpuMs.toFixed(0)} ms; parsing ${rp.parseMs.toFixed(0)} ms) |`,
    "",
    "```",
    batchGoal,
    replayGoal,
    "```",
  ].join("\n");
  const docPath = fileURLToPath(new URL("../../../docs/benchmarks.md", import.meta.url));
  const doc = readFileSync(docPath, "utf8");
  const start = "<!-- bench:core:start -->";
  const end = "<!-- bench:core:end -->";
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) {
    writeFileSync(docPath, `${doc.slice(0, i + start.length)}\n${section}\n${doc.slice(j)}`);
    console.log(`written to ${docPath}`);
  }
};

void main();
