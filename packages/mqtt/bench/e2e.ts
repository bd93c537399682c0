/**
 * bench:e2e — the engine over real MQTT against raw MQTT.js publishing the engine's own
 * packets, side by side in one run.
 *
 * 1. Engine + SQLite store (the real configuration: `stateDir`, fsync on), 100,000 measurements
 *    given at once with `submitMany`, QoS 1, window 100; timed from the submission until every
 *    row is acknowledged. Against: raw MQTT.js publishing the exact payloads the engine sent
 *    (read from its event log), same window. Goal: engine ≤ 2× raw.
 * 2. Paced: the same rows given 100 per macrotask (`submitMany` of 100 rows, then
 *    `setImmediate`), as a sensor loop would. Against: raw MQTT.js publishing that run's own
 *    packets. Goal: engine ≤ 1.5× raw.
 * 3. Event log: bytes per delivered row of the recorded runs (gzip log, the plain size too).
 *    Goal ≤ 40 B.
 * 4. Replay: the recorded log replayed with the core's `replay`, in rows per second (parsing
 *    reported apart). Goal ≥ 1M rows/s.
 *
 * Rounds alternate engine and raw runs; medians are reported. Each run's CPU time (this
 * process, user + system, the broker not included) is reported beside its wall time: on a
 * machine loaded by other work the wall-time ratios swing widely, the CPU times much less. Each goal prints one line
 * `goal <name>: <value> (target <op> <target>) ok|short`. Figures are written to
 * docs/benchmarks.md between the bench:e2e markers. Needs mosquitto (or MOSQUITTO_BIN).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import * as E from "fp-ts/lib/Either.js";
import {
  configOfHeader,
  decodeConfig,
  initialState,
  parseLog,
  replay,
  step,
  type LogHeader,
} from "@c8ylink/core";
import { createEngine, readLogFile, type Engine, type SubmitRow } from "@c8ylink/mqtt";
import { startBroker } from "./broker.js";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW = 100;

type Mode = "all" | "paced";
const PACE_ROWS = 100;

const rowsOf = (n: number): SubmitRow[] =>
  Array.from({ length: n }, (_, i) => ({
    message: { template: "200", fragment: "c8y_Temperature", series: "T", value: i, unit: "C" },
  }));

/**
 * `submitMany`, or row by row on an engine that predates it (so this script also measures the
 * code before batches, for a before/after comparison).
 */
const submitMany = (
  engine: Engine,
  rows: SubmitRow[],
): Pick<ReturnType<Engine["submitMany"]>, "accepted" | "refused"> => {
  if (typeof (engine as Partial<Engine>).submitMany === "function") return engine.submitMany(rows);
  const refused: { index: number; reason: string }[] = [];
  rows.forEach((row, index) => {
    const r = "message" in row ? engine.submit(row.message) : engine.submitCustom(row.xid, row.values);
    if (!r.accepted) refused.push({ index, reason: r.reason });
  });
  return { accepted: rows.length - refused.length, refused };
};

interface Timed {
  readonly ms: number;
  /** CPU time of this process over the same window (user + system). */
  readonly cpuMs: number;
  /**
   * QoS 1 PUBLISH packets sent in the window (first transmissions). Raw replays the recorded
   * run's packets: a timed run that packed its rows differently would not be the same work.
   */
  readonly packets: number;
}

const cpuSince = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};

const engineRun = async (url: string, mode: Mode, logPath: string | undefined): Promise<Timed> => {
  const stateDir = mkdtempSync(join(tmpdir(), "c8ylink-bench-state-"));
  let packets = 0;
  let counting = false;
  const engine = createEngine({
    config: {
      deviceId: "bench-device",
      auth: { mode: "password", tenant: "t1", user: "bench", password: "pw" },
      subscribeErrors: false,
      inflightWindow: WINDOW,
      stopDeadlineMs: 60_000,
    },
    url,
    stateDir,
    ...(logPath === undefined ? {} : { recordTo: logPath }),
    mqttConnect: (brokerUrl, options) => {
      const client = mqtt.connect(brokerUrl, options);
      client.on("packetsend", (packet) => {
        if (counting && packet.cmd === "publish" && packet.qos === 1 && packet.dup !== true) packets++;
      });
      return client;
    },
  });
  try {
    await engine.start();
    await engine.whenOnline(10_000);
    await engine.whenDrained(10_000);
    const rows = rowsOf(MESSAGES);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    counting = true;
    if (mode === "all") {
      const r = submitMany(engine, rows);
      if (r.accepted !== MESSAGES) throw new Error(`refused: ${r.refused[0]?.reason ?? "?"}`);
    } else {
      await new Promise<void>((resolve, reject) => {
        let next = 0;
        const tick = (): void => {
          const r = submitMany(engine, rows.slice(next, next + PACE_ROWS));
          if (r.refused.length > 0) return reject(new Error(`refused: ${r.refused[0]?.reason ?? "?"}`));
          next += PACE_ROWS;
          if (next < rows.length) setImmediate(tick);
          else resolve();
        };
        tick();
      });
    }
    await engine.whenDrained(600_000);
    const ms = performance.now() - t0;
    const cpuMs = cpuSince(c0);
    counting = false;
    // Drained also means dropped: a run that loses rows must not pass as a fast one.
    const { delivered, dropped } = engine.counters();
    if (delivered < MESSAGES || dropped > 0)
      throw new Error(`engine delivered ${delivered} of ${MESSAGES} rows, dropped ${dropped}`);
    await engine.stop();
    return { ms, cpuMs, packets };
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
};

/** The QoS 1 measurement payloads the engine published, recomputed by replaying its event log. */
const publishedPayloads = (logText: string): { topic: string; payload: string }[] => {
  const log = parseLog(logText);
  const out: { topic: string; payload: string }[] = [];
  // Digest steps do not hold their commands: replay recomputes them (and checks the digests).
  let state = initialState(decodeLogConfig(log.header));
  for (const s of log.steps) {
    const r = step(state, s.event);
    state = r.state;
    for (const c of r.commands)
      if (c.type === "publish" && c.qos === 1 && c.payload.startsWith("200,"))
        out.push({ topic: c.topic, payload: c.payload });
  }
  return out;
};

const decodeLogConfig = (header: LogHeader | null) => {
  if (header === null) throw new Error("log without header");
  const config = decodeConfig(configOfHeader(header));
  if (E.isLeft(config)) throw new Error("log header config does not decode");
  return config.right;
};

const rawRun = (url: string, packets: readonly { topic: string; payload: string }[]): Promise<Timed> =>
  new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: "raw-bench",
      clean: true,
      reconnectPeriod: 0,
      protocolVersion: 4,
    });
    client.once("error", reject);
    client.once("connect", () => {
      let next = 0;
      let acked = 0;
      let inflight = 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const pump = (): void => {
        while (inflight < WINDOW && next < packets.length) {
          const p = packets[next++]!;
          inflight++;
          client.publish(p.topic, p.payload, { qos: 1 }, (err) => {
            if (err) return reject(err);
            inflight--;
            acked++;
            if (acked === packets.length) {
              const ms = performance.now() - t0;
              const cpuMs = cpuSince(c0);
              client.end(true, () => resolve({ ms, cpuMs, packets: packets.length }));
            } else pump();
          });
        }
      };
      pump();
    });
  });

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const goal = (name: string, value: number, unit: string, op: "<=" | ">=", target: number): string => {
  const ok = op === "<=" ? value <= target : value >= target;
  const shown = value >= 1000 ? Math.round(value).toLocaleString("en") : value.toFixed(2);
  return `goal ${name}: ${shown}${unit} (target ${op} ${target.toLocaleString("en")}${unit}) ${ok ? "ok" : "short"}`;
};

const main = async (): Promise<void> => {
  const broker = await startBroker("c8ylink-bench-");
  const work = mkdtempSync(join(tmpdir(), "c8ylink-bench-log-"));
  try {
    const recorded: Record<
      Mode,
      { ms: number; path: string; packets: { topic: string; payload: string }[] }
    > = {} as never;
    for (const mode of ["all", "paced"] as const) {
      const path = join(work, `engine-${mode}.events.jsonl.gz`);
      const { ms } = await engineRun(broker.url, mode, path);
      recorded[mode] = { ms, path, packets: publishedPayloads(readLogFile(path)) };
    }
    const runs = {
      all: [] as Timed[],
      rawAll: [] as Timed[],
      paced: [] as Timed[],
      rawPaced: [] as Timed[],
    };
    const shown = (t: Timed) => `${t.ms.toFixed(0)} ms (CPU ${t.cpuMs.toFixed(0)} ms, ${t.packets} packets)`;
    for (let round = 0; round < ROUNDS; round++) {
      runs.all.push(await engineRun(broker.url, "all", undefined));
      runs.rawAll.push(await rawRun(broker.url, recorded.all.packets));
      runs.paced.push(await engineRun(broker.url, "paced", undefined));
      runs.rawPaced.push(await rawRun(broker.url, recorded.paced.packets));
      console.log(
        `round ${round + 1}: engine all at once ${shown(runs.all.at(-1)!)}, raw same ${recorded.all.packets.length} packets ${shown(runs.rawAll.at(-1)!)}; engine paced ${shown(runs.paced.at(-1)!)}, raw same ${recorded.paced.packets.length} packets ${shown(runs.rawPaced.at(-1)!)}`,
      );
    }
    const wall = (ts: Timed[]) => median(ts.map((t) => t.ms));
    const cpu = (ts: Timed[]) => median(ts.map((t) => t.cpuMs));
    const m = {
      all: wall(runs.all),
      rawAll: wall(runs.rawAll),
      paced: wall(runs.paced),
      rawPaced: wall(runs.rawPaced),
    };
    const c = {
      all: cpu(runs.all),
      rawAll: cpu(runs.rawAll),
      paced: cpu(runs.paced),
      rawPaced: cpu(runs.rawPaced),
    };
    const allRatio = m.all / m.rawAll;
    const pacedRatio = m.paced / m.rawPaced;

    const logBytes = (mode: Mode) => {
      const gz = statSync(recorded[mode].path).size;
      const text = readLogFile(recorded[mode].path);
      return { gz, plain: Buffer.byteLength(text, "utf8"), text };
    };
    const allLog = logBytes("all");
    const pacedLog = logBytes("paced");
    const t0 = performance.now();
    const log = parseLog(allLog.text);
    const parsedMs = performance.now() - t0;
    const t1 = performance.now();
    const result = replay(log.header!, log.steps);
    const replayMs = performance.now() - t1;
    if (E.isLeft(result) || result.right.divergence !== null) throw new Error("replay diverged");
    const replayedRows = result.right.state.counters.delivered;
    const rowsPerSecond = replayedRows / (replayMs / 1000);

    const rate = (ms: number) => Math.round(MESSAGES / (ms / 1000)).toLocaleString("en");
    const perRow = (bytes: number) => bytes / MESSAGES;
    const goals = [
      goal("engine + SQLite store, submitMany 100k, time vs raw same packets", allRatio, "×", "<=", 2),
      goal(
        "engine + SQLite store, paced 100 rows per macrotask, time vs raw same packets",
        pacedRatio,
        "×",
        "<=",
        1.5,
      ),
      goal("event log bytes per delivered row (gzip, all at once)", perRow(allLog.gz), " B", "<=", 40),
      goal("event log bytes per delivered row (gzip, paced)", perRow(pacedLog.gz), " B", "<=", 40),
      goal("replay speed", rowsPerSecond, " rows/s", ">=", 1_000_000),
    ];
    const lines = [
      `engine + SQLite store, ${MESSAGES} rows via submitMany: ${m.all.toFixed(0)} ms = ${rate(m.all)} rows/s (recording the event log: ${recorded.all.ms.toFixed(0)} ms)`,
      `raw MQTT.js, the engine's own ${recorded.all.packets.length} packets: ${m.rawAll.toFixed(0)} ms`,
      `engine + SQLite store, paced ${PACE_ROWS} rows per macrotask: ${m.paced.toFixed(0)} ms = ${rate(m.paced)} rows/s (recording: ${recorded.paced.ms.toFixed(0)} ms)`,
      `raw MQTT.js, the paced run's own ${recorded.paced.packets.length} packets: ${m.rawPaced.toFixed(0)} ms`,
      `packets the timed engine runs sent (median): all at once ${median(runs.all.map((r) => r.packets))} (recorded run: ${recorded.all.packets.length}); paced ${median(runs.paced.map((r) => r.packets))} (recorded run: ${recorded.paced.packets.length})`,
      `CPU time of this process (medians): engine all at once ${c.all.toFixed(0)} ms vs raw ${c.rawAll.toFixed(0)} ms; engine paced ${c.paced.toFixed(0)} ms vs raw ${c.rawPaced.toFixed(0)} ms`,
      `event log, all at once: ${allLog.gz.toLocaleString("en")} B gzip (${perRow(allLog.gz).toFixed(1)} B/row), ${allLog.plain.toLocaleString("en")} B plain (${perRow(allLog.plain).toFixed(1)} B/row), ${log.steps.length} steps`,
      `event log, paced: ${pacedLog.gz.toLocaleString("en")} B gzip (${perRow(pacedLog.gz).toFixed(1)} B/row), ${pacedLog.plain.toLocaleString("en")} B plain (${perRow(pacedLog.plain).toFixed(1)} B/row)`,
      `replay: ${replayedRows} rows (${log.steps.length} steps) in ${replayMs.toFixed(0)} ms = ${Math.round(rowsPerSecond).toLocaleString("en")} rows/s (parsing the log: ${parsedMs.toFixed(0)} ms)`,
      ...goals,
    ];
    for (const l of lines) console.log(l);
    const section = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"} (${os.cpus().length} cores, shared with other work: ratios, not absolute times), Node ${process.version}, mosquitto on loopback; medians of ${ROUNDS} alternating rounds; \`npm run bench:e2e\`.`,
      "",
      "| measure | value |",
      "|---|---|",
      `| engine + SQLite store (\`stateDir\`, fsync), ${MESSAGES.toLocaleString("en")} rows via \`submitMany\`, QoS 1, window ${WINDOW} | ${m.all.toFixed(0)} ms (${rate(m.all)} rows/s) |`,
      `| raw MQTT.js, the engine's own ${recorded.all.packets.length} packets, same window | ${m.rawAll.toFixed(0)} ms — **engine ${allRatio.toFixed(2)}×** (goal ≤ 2×) |`,
      `| engine + SQLite store, paced ${PACE_ROWS} rows per macrotask | ${m.paced.toFixed(0)} ms (${rate(m.paced)} rows/s) |`,
      `| raw MQTT.js, the paced run's own ${recorded.paced.packets.length} packets | ${m.rawPaced.toFixed(0)} ms — **engine ${pacedRatio.toFixed(2)}×** (goal ≤ 1.5×) |`,
      `| QoS 1 packets the timed engine runs sent (median; raw replays the recorded run's) | all at once ${median(runs.all.map((r) => r.packets))} (recorded ${recorded.all.packets.length}); paced ${median(runs.paced.map((r) => r.packets))} (recorded ${recorded.paced.packets.length}) |`,
      `| CPU time of the benchmark process in those windows (medians; the broker not included) | engine all at once ${c.all.toFixed(0)} ms vs raw ${c.rawAll.toFixed(0)} ms; engine paced ${c.paced.toFixed(0)} ms vs raw ${c.rawPaced.toFixed(0)} ms |`,
      `| event log bytes per delivered row (gzip; plain) | all at once **${perRow(allLog.gz).toFixed(1)} B** (${perRow(allLog.plain).toFixed(1)} B); paced **${perRow(pacedLog.gz).toFixed(1)} B** (${perRow(pacedLog.plain).toFixed(1)} B) (goal ≤ 40 B) |`,
      `| replay of the all-at-once log | **${Math.round(rowsPerSecond).toLocaleString("en")} rows/s** (${log.steps.length} steps in ${replayMs.toFixed(0)} ms; parsing ${parsedMs.toFixed(0)} ms) (goal ≥ 1M rows/s) |`,
      "",
      "```",
      ...goals,
      "```",
    ].join("\n");
    const docPath = fileURLToPath(new URL("../../../docs/benchmarks.md", import.meta.url));
    const doc = readFileSync(docPath, "utf8");
    const start = "<!-- bench:e2e:start -->";
    const end = "<!-- bench:e2e:end -->";
    const i = doc.indexOf(start);
    const j = doc.indexOf(end);
    if (i >= 0 && j > i)
      writeFileSync(docPath, `${doc.slice(0, i + start.length)}\n${section}\n${doc.slice(j)}`);
  } finally {
    broker.child.kill("SIGTERM");
    rmSync(broker.dir, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  }
};

void main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
