/**
 * bench:fleet — N engines in one process against N raw MQTT.js clients, side by side in one run.
 *
 * A private mosquitto on 127.0.0.1. For each N (default 1,000 and 10,000):
 * 1. Engines: N `createEngine` (memory storage, one device each) are started in batches of
 *    500 (each batch awaited online: a burst of 10k SYNs would overflow the listen backlog and
 *    time TCP retransmits instead of clients), then each submits one measurement and is awaited
 *    drained.
 * 2. Raw MQTT.js: N `mqtt.connect` with the same options the engine's driver uses (ClientId,
 *    credentials, keepalive, clean session, no reconnect), the same batches, then the same
 *    SUBSCRIBEs and PUBLISHes (topics, payloads with the device id replaced, QoS) that engine 0
 *    sent — recorded through its `mqttConnect` hook — each awaited like the engine's.
 * Heap per device: `gc()` twice before the clients are created (once the warm-up fleet's heap
 * was released) and after all are connected and done (clients kept reachable), divided by N. Time to connect all: from the first connect to
 * the last CONNACK (engines: online, i.e. subscriptions granted too; raw: subscribed too).
 *
 * Prints `goal fleet-heap-10k: <engine/raw> (target <= 1.2) ok|short`; figures go to
 * docs/benchmarks.md between the bench:fleet markers. Run with `node --expose-gc`
 * (`npm run bench:fleet`). BENCH_FLEET="1000,10000" picks the sizes.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { createEngine, type Engine } from "@c8ylink/mqtt";
import { sleep, startBroker } from "./broker.js";

const SIZES = (process.env.BENCH_FLEET ?? "1000,10000").split(",").map(Number);
const BATCH = 500;
const gc = (globalThis as { gc?: () => void }).gc;

const deviceId = (i: number) => `fleet-${i}`;

const configOf = (i: number) => ({
  deviceId: deviceId(i),
  auth: { mode: "password" as const, tenant: "t1", user: `device_${deviceId(i)}`, password: "pw" },
  stopDeadlineMs: 5_000,
});

/** What engine 0 did on the wire: the options of its connect, then its subscribes and publishes. */
interface Recorded {
  options: IClientOptions | null;
  actions: (
    | { kind: "subscribe"; topics: Record<string, { qos: 0 | 1 | 2 }> }
    | { kind: "publish"; topic: string; payload: string; qos: 0 | 1 | 2 }
  )[];
}

/** `mqtt.connect` for engine 0: records the options and what the driver subscribes and publishes. */
const recording =
  (record: Recorded) =>
  (url: string, options: IClientOptions): MqttClient => {
    record.options = { ...options };
    const client = mqtt.connect(url, options);
    const subscribe = client.subscribe.bind(client) as (...a: unknown[]) => MqttClient;
    const publish = client.publish.bind(client) as (...a: unknown[]) => MqttClient;
    client.subscribe = ((map: Record<string, { qos: 0 | 1 | 2 }>, cb: unknown) => {
      record.actions.push({ kind: "subscribe", topics: { ...map } });
      return subscribe(map, cb);
    }) as unknown as typeof client.subscribe;
    client.publish = ((topic: string, payload: string, opts: { qos: 0 | 1 | 2 }, cb: unknown) => {
      record.actions.push({ kind: "publish", topic, payload: String(payload), qos: opts.qos });
      return publish(topic, payload, opts, cb);
    }) as unknown as typeof client.publish;
    return client;
  };

const heapNow = (): number => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};

/**
 * Waits until the heap stops shrinking after the warm-up fleet stopped. Its engines and clients
 * are released over the next few hundred milliseconds (sockets closing, timers cleared); taken
 * right away, the heap before a phase counted ~0.6 MB that was then freed during the phase and
 * made the engines look ~0.6 KiB per device smaller at 1,000 devices (0.06 at 10,000): most of
 * what looked like an engine growing with the fleet.
 */
const released = async (): Promise<void> => {
  let last = heapNow();
  for (let i = 0; i < 20; i++) {
    await sleep(250);
    const now = heapNow();
    if (now > last - 16 * 1024) return;
    last = now;
  }
};

interface Phase {
  readonly heapPerDevice: number;
  readonly connectMs: number;
  readonly doneMs: number;
}

const inBatches = async <T>(n: number, start: (i: number) => Promise<T>): Promise<T[]> => {
  const out: T[] = [];
  for (let from = 0; from < n; from += BATCH)
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(BATCH, n - from) }, (_, k) => start(from + k)))),
    );
  return out;
};

const enginePhase = async (url: string, n: number, record: Recorded): Promise<Phase> => {
  const before = heapNow();
  const t0 = performance.now();
  const engines: Engine[] = await inBatches(n, async (i) => {
    const engine = createEngine({
      config: configOf(i),
      url,
      ...(i === 0 ? { mqttConnect: recording(record) } : {}),
    });
    await engine.start();
    await engine.whenOnline(120_000);
    return engine;
  });
  const connectMs = performance.now() - t0;
  await Promise.all(
    engines.map((e, i) => {
      const r = e.submit({ template: "200", fragment: "c8y_Temperature", series: "T", value: i, unit: "C" });
      if (!r.accepted) throw new Error(`refused: ${r.reason}`);
      return e.whenDrained(120_000);
    }),
  );
  const doneMs = performance.now() - t0;
  const after = heapNow();
  const heapPerDevice = (after - before) / n;
  await Promise.all(engines.map((e) => e.stop()));
  return { heapPerDevice, connectMs, doneMs };
};

const rawPhase = async (url: string, n: number, record: Recorded): Promise<Phase> => {
  const template = record.options;
  if (template === null) throw new Error("engine 0 never connected: nothing to replay");
  const swap = (text: string, i: number) => text.split(deviceId(0)).join(deviceId(i));
  const before = heapNow();
  const t0 = performance.now();
  const connectOne = (i: number) =>
    new Promise<MqttClient>((resolve, reject) => {
      const options: IClientOptions = {
        ...template,
        clientId: swap(String(template.clientId), i),
        ...(template.username === undefined ? {} : { username: swap(template.username, i) }),
      };
      const client = mqtt.connect(url, options);
      client.once("connect", () => resolve(client));
      client.once("error", reject);
    });
  const subscribes = record.actions.flatMap((a) => (a.kind === "subscribe" ? [a] : []));
  const publishes = record.actions.flatMap((a) => (a.kind === "publish" ? [a] : []));
  const clients = await inBatches(n, async (i) => {
    const client = await connectOne(i);
    for (const s of subscribes)
      await client.subscribeAsync(
        Object.fromEntries(Object.entries(s.topics).map(([t, o]) => [swap(t, i), o])),
      );
    return client;
  });
  const connectMs = performance.now() - t0;
  await Promise.all(
    clients.map(async (client, i) => {
      for (const p of publishes)
        await client.publishAsync(swap(p.topic, i), swap(p.payload, i), { qos: p.qos });
    }),
  );
  const doneMs = performance.now() - t0;
  const after = heapNow();
  const heapPerDevice = (after - before) / n;
  await Promise.all(clients.map((c) => c.endAsync(true)));
  return { heapPerDevice, connectMs, doneMs };
};

/**
 * Each phase runs in its own process (warmed up with 100 devices of the same side first): a
 * stopped fleet is released by the garbage collector only later, and would otherwise shrink
 * the heap growth of whatever is measured next.
 */
const inChild = (
  side: "engine" | "raw",
  url: string,
  n: number,
  record: Recorded,
): Phase & { record: Recorded } => {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, FLEET_CHILD: JSON.stringify({ side, url, n, record }) },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const last = out.trim().split("\n").at(-1) ?? "";
  return JSON.parse(last) as Phase & { record: Recorded };
};

const child = async (spec: {
  side: "engine" | "raw";
  url: string;
  n: number;
  record: Recorded;
}): Promise<void> => {
  const record = spec.record;
  if (spec.side === "engine") {
    await enginePhase(spec.url, 100, { options: null, actions: [] });
    await released();
    const phase = await enginePhase(spec.url, spec.n, record);
    console.log(JSON.stringify({ ...phase, record }));
  } else {
    await rawPhase(spec.url, 100, record);
    await released();
    const phase = await rawPhase(spec.url, spec.n, record);
    console.log(JSON.stringify({ ...phase, record }));
  }
};

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const main = async (): Promise<void> => {
  if (gc === undefined) throw new Error("run with node --expose-gc (npm run bench:fleet)");
  console.log(
    `node ${process.version}, ${os.cpus()[0]?.model ?? "cpu"} x${os.cpus().length}, open files limit: see ulimit -n`,
  );
  const broker = await startBroker("c8ylink-fleet-", ["max_connections -1"]);
  const rows: string[] = [];
  const goals: string[] = [];
  try {
    for (const n of SIZES) {
      const engine = inChild("engine", broker.url, n, { options: null, actions: [] });
      const record = engine.record;
      console.log(`N=${n}: engines ${kb(engine.heapPerDevice)}/device, connect all ${s(engine.connectMs)}`);
      await sleep(500);
      const raw = inChild("raw", broker.url, n, record);
      await sleep(500);
      const ratio = engine.heapPerDevice / raw.heapPerDevice;
      console.log(
        `N=${n}: engines ${kb(engine.heapPerDevice)}/device, connect all ${s(engine.connectMs)}, done ${s(engine.doneMs)}; ` +
          `raw ${kb(raw.heapPerDevice)}/device, connect all ${s(raw.connectMs)}, done ${s(raw.doneMs)}; heap ratio ${ratio.toFixed(2)}` +
          ` (engine 0: ${record.actions.filter((a) => a.kind === "subscribe").length} subscribes, ${record.actions.filter((a) => a.kind === "publish").length} publishes)`,
      );
      rows.push(
        `| ${n.toLocaleString("en")} | ${kb(engine.heapPerDevice)} | ${kb(raw.heapPerDevice)} | **${ratio.toFixed(2)}** | ${s(engine.connectMs)} | ${s(raw.connectMs)} | ${(engine.connectMs / raw.connectMs).toFixed(2)} |`,
      );
      if (n >= 10_000 || n === Math.max(...SIZES))
        goals.push(
          `goal fleet-heap-${n >= 1000 ? `${n / 1000}k` : n}: ${ratio.toFixed(2)} (target <= 1.2) ${ratio <= 1.2 ? "ok" : "short"}`,
        );
    }
  } finally {
    broker.child.kill("SIGTERM");
    rmSync(broker.dir, { recursive: true, force: true });
  }
  for (const g of goals) console.log(g);
  const section = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus()[0]?.model ?? "cpu"} (${os.cpus().length} cores, shared with other jobs), Node ${process.version}, mosquitto on loopback; \`npm run bench:fleet\`.`,
    "",
    "| devices | engine heap / device | raw MQTT.js heap / device | **ratio** (goal ≤ 1.2 at 10k) | engines: connect all | raw: connect all | time ratio |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
  const docPath = fileURLToPath(new URL("../../../docs/benchmarks.md", import.meta.url));
  const doc = readFileSync(docPath, "utf8");
  const start = "<!-- bench:fleet:start -->";
  const end = "<!-- bench:fleet:end -->";
  const i = doc.indexOf(start);
  const j = doc.indexOf(end);
  if (i >= 0 && j > i) {
    writeFileSync(docPath, `${doc.slice(0, i + start.length)}\n${section}\n${doc.slice(j)}`);
    console.log(`written to ${docPath}`);
  } else console.log(`markers ${start} / ${end} not found in ${docPath}: figures not written`);
};

const childSpec = process.env["FLEET_CHILD"];
if (childSpec === undefined) await main();
else await child(JSON.parse(childSpec) as Parameters<typeof child>[0]);
process.exit(0);
