/**
 * bench:e2e — the engine over real MQTT against raw MQTT.js, side by side in one run.
 *
 * 1. Engine: 100,000 measurements submitted to an online engine (in-flight window 100),
 *    delivered through a local mosquitto with QoS 1; timed from the first submit until
 *    every row is acknowledged. The run is recorded to an event log.
 * 2. Raw MQTT.js, per message: the same 100,000 measurement rows, each published as its own
 *    QoS 1 message with the same window of 100 — what a plain client does.
 *    Ratio = raw time / engine time (goal ≥ 0.95).
 * 3. Raw MQTT.js, same packets: the exact publish payloads the engine sent (read from its
 *    event log: the engine packs rows up to the 16184-byte limit), same window. This is the
 *    pure network floor; the gap to it is the engine's per-message work (validation,
 *    encoding, bookkeeping, persistence), reported honestly.
 * 4. Replay: the engine's event log replayed with the core's `replay` (events per second).
 *
 * Rounds alternate engine and raw runs; medians are reported. Figures are written to
 * docs/benchmarks.md between the bench:e2e markers. Needs mosquitto (apt-get install mosquitto).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect } from "node:net";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import * as E from "fp-ts/lib/Either.js";
import { parseLog, replay } from "@c8ylink/core";
import { createEngine } from "@c8ylink/mqtt";

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WINDOW = 100;

const mosquittoBin = (): string => {
  for (const c of [process.env.MOSQUITTO_BIN, "/usr/sbin/mosquitto", "/usr/bin/mosquitto"]) {
    if (c === undefined) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new Error("mosquitto not found: apt-get install mosquitto (or set MOSQUITTO_BIN)");
};

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      server.close(() => resolve(typeof a === "object" && a !== null ? a.port : 0));
    });
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const startBroker = async (): Promise<{ url: string; child: ChildProcess; dir: string }> => {
  const dir = mkdtempSync(join(tmpdir(), "c8ylink-bench-"));
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous true",
      "log_type none",
      "persistence false",
      "max_inflight_messages 0",
      "max_queued_messages 0",
      ...(process.getuid?.() === 0 ? ["user root"] : []),
    ].join("\n") + "\n",
  );
  const child = spawn(mosquittoBin(), ["-c", conf], { stdio: "ignore" });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = netConnect({ host: "127.0.0.1", port });
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (ok) return { url: `mqtt://127.0.0.1:${port}`, child, dir };
    await sleep(25);
  }
  child.kill("SIGKILL");
  throw new Error("mosquitto did not start");
};

const engineRun = async (url: string, logPath: string | undefined): Promise<number> => {
  const engine = createEngine({
    config: {
      deviceId: "bench-device",
      auth: { mode: "password", tenant: "t1", user: "bench", password: "pw" },
      subscribeErrors: false,
      inflightWindow: WINDOW,
      stopDeadlineMs: 60_000,
    },
    url,
    ...(logPath === undefined ? {} : { recordTo: logPath }),
  });
  await engine.start();
  await engine.whenOnline(10_000);
  await engine.whenDrained(10_000);
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i++) {
    const r = engine.submit({
      template: "200",
      fragment: "c8y_Temperature",
      series: "T",
      value: i,
      unit: "C",
    });
    if (!r.accepted) throw new Error(`refused: ${r.reason}`);
  }
  await engine.whenDrained(600_000);
  const ms = performance.now() - t0;
  await engine.stop();
  return ms;
};

/** The QoS 1 payloads the engine published after going online, from its event log. */
const publishedPayloads = (logPath: string): { topic: string; payload: string }[] => {
  const log = parseLog(readFileSync(logPath, "utf8"));
  return log.steps.flatMap((s) =>
    s.commands.flatMap((c) =>
      c.type === "publish" && c.qos === 1 && c.payload.startsWith("200,")
        ? [{ topic: c.topic, payload: c.payload }]
        : [],
    ),
  );
};

const rawRun = (url: string, packets: readonly { topic: string; payload: string }[]): Promise<number> =>
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
              client.end(true, () => resolve(ms));
            } else pump();
          });
        }
      };
      pump();
    });
  });

const rawPerMessage = (url: string): Promise<number> =>
  rawRun(
    url,
    Array.from({ length: MESSAGES }, (_, i) => ({ topic: "s/us", payload: `200,c8y_Temperature,T,${i},C` })),
  );

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const main = async (): Promise<void> => {
  const broker = await startBroker();
  const work = mkdtempSync(join(tmpdir(), "c8ylink-bench-log-"));
  try {
    const engineMs: number[] = [];
    const rawMs: number[] = [];
    const rawSameMs: number[] = [];
    const logPath = join(work, "engine.events.jsonl");
    const recordedMs = await engineRun(broker.url, logPath);
    const packets = publishedPayloads(logPath);
    for (let round = 0; round < ROUNDS; round++) {
      engineMs.push(await engineRun(broker.url, undefined));
      rawMs.push(await rawPerMessage(broker.url));
      rawSameMs.push(await rawRun(broker.url, packets));
      console.log(
        `round ${round + 1}: engine ${engineMs.at(-1)!.toFixed(0)} ms, raw per message ${rawMs.at(-1)!.toFixed(0)} ms, raw same ${packets.length} packets ${rawSameMs.at(-1)!.toFixed(0)} ms`,
      );
    }
    const engineMedian = median(engineMs);
    const rawMedian = median(rawMs);
    const rawSameMedian = median(rawSameMs);
    const ratio = rawMedian / engineMedian;
    const sameRatio = rawSameMedian / engineMedian;
    const rowsPerPacket = MESSAGES / packets.length;

    const text = readFileSync(logPath, "utf8");
    const t0 = performance.now();
    const log = parseLog(text);
    const parsedMs = performance.now() - t0;
    const t1 = performance.now();
    const result = replay(log.header!, log.steps);
    const replayMs = performance.now() - t1;
    if (E.isLeft(result) || result.right.divergence !== null) throw new Error("replay diverged");
    const eventsPerSecond = log.steps.length / (replayMs / 1000);

    const rate = (ms: number) => Math.round(MESSAGES / (ms / 1000)).toLocaleString("en");
    const lines = [
      `engine: ${MESSAGES} measurements in ${engineMedian.toFixed(0)} ms = ${rate(engineMedian)} msg/s (recording the event log: ${recordedMs.toFixed(0)} ms)`,
      `raw MQTT.js, one QoS 1 publish per measurement, window ${WINDOW}: ${rawMedian.toFixed(0)} ms = ${rate(rawMedian)} msg/s`,
      `ratio raw/engine time: ${ratio.toFixed(2)} (goal ≥ 0.95)`,
      `raw MQTT.js, the engine's own ${packets.length} packets (${rowsPerPacket.toFixed(1)} rows each): ${rawSameMedian.toFixed(0)} ms (ratio ${sameRatio.toFixed(2)})`,
      `replay: ${log.steps.length} steps in ${replayMs.toFixed(0)} ms = ${Math.round(eventsPerSecond)} events/s (parsing the log: ${parsedMs.toFixed(0)} ms, ${(text.length / 1024 / 1024).toFixed(1)} MiB)`,
    ];
    for (const l of lines) console.log(l);
    const section = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"} (${os.cpus().length} cores), Node ${process.version}, mosquitto on loopback; medians of ${ROUNDS} alternating rounds; \`npm run bench:e2e\`.`,
      "",
      "| measure | value |",
      "|---|---|",
      `| engine: ${MESSAGES.toLocaleString("en")} measurements, QoS 1, window ${WINDOW}, in-memory storage | ${engineMedian.toFixed(0)} ms (${rate(engineMedian)} msg/s) |`,
      `| the same, recording the event log | ${recordedMs.toFixed(0)} ms (one run) |`,
      `| raw MQTT.js, one QoS 1 publish per measurement, window ${WINDOW} | ${rawMedian.toFixed(0)} ms (${rate(rawMedian)} msg/s) |`,
      `| **ratio raw / engine** (goal ≥ 0.95) | **${ratio.toFixed(2)}** |`,
      `| raw MQTT.js, the engine's own ${packets.length} packets (${rowsPerPacket.toFixed(1)} rows each) | ${rawSameMedian.toFixed(0)} ms — ratio ${sameRatio.toFixed(2)}: the network floor; the rest is the engine's per-message work |`,
      `| replay of the recorded event log | ${Math.round(eventsPerSecond).toLocaleString("en")} events/s (${log.steps.length.toLocaleString("en")} steps; log ${(text.length / 1024 / 1024).toFixed(1)} MiB parsed in ${parsedMs.toFixed(0)} ms) |`,
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
