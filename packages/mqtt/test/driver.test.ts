/**
 * The interpreter contract, tested on the Driver itself: no re-entrant feeds, CONNACK and
 * socket outcomes mapped to the core's events (using a raw TCP "broker" that writes CONNACK
 * bytes by hand, including Cumulocity's mid-session CONNACK), timers on the injected clock.
 */
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import mqtt from "mqtt";
import * as E from "fp-ts/lib/Either.js";
import { decodeConfig, type EngineConfig, type Event, type Report } from "@c8ylink/core";
import { Driver, MemoryStorage, Recorder, type Clock } from "../src/index.js";
import { freePort, waitUntil } from "./support/broker.js";
import { Fixture, passwordConfig } from "./support/fixture.js";
import { expectReplays } from "./support/replay.js";

const configOf = (input: unknown): EngineConfig => {
  const c = decodeConfig(input);
  if (E.isLeft(c)) throw new Error("bad config");
  return c.right;
};

/** A TCP server that answers CONNECT with `connack` bytes and SUBSCRIBE with `onSubscribe`. */
const rawBroker = async (
  connackCode: number,
  onSubscribe?: (socket: Socket) => void,
): Promise<{ server: Server; port: number; sockets: Socket[] }> => {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    socket.on("data", (data) => {
      const type = (data[0] ?? 0) >> 4;
      if (type === 1) socket.write(Buffer.from([0x20, 0x02, 0x00, connackCode]));
      if (type === 8) onSubscribe?.(socket);
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, port, sockets };
};

describe("Driver", () => {
  const fx = new Fixture();
  const drivers: Driver[] = [];
  const servers: Server[] = [];

  afterEach(async () => {
    for (const d of drivers.splice(0)) d.close();
    for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
    await fx.cleanup();
  });

  const makeDriver = async (url: string, options: { clock?: Clock; config?: unknown } = {}) => {
    const dir = await fx.tempDir();
    const logPath = join(dir, "events.jsonl");
    const configInput = options.config ?? passwordConfig();
    const config = configOf(configInput);
    const recorder = await Recorder.create(logPath, configInput, "test", config.seed);
    const reports: Report[] = [];
    const events: Event[] = [];
    const driver = new Driver({
      config,
      url,
      storage: new MemoryStorage(),
      recorder,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      onReport: (r) => reports.push(r),
      onStep: (e) => events.push(e),
    });
    drivers.push(driver);
    const finish = async () => {
      driver.close();
      await recorder.close();
      return expectReplays(logPath);
    };
    return { driver, reports, events, finish };
  };

  it("refuses a feed from inside command execution (re-entrancy assertion)", async () => {
    let caught: unknown = null;
    let driverRef: Driver | null = null;
    const config = configOf(passwordConfig());
    const driver = new Driver({
      config,
      url: "mqtt://127.0.0.1:1",
      storage: new MemoryStorage(),
      mqttConnect: (url, options) => {
        try {
          driverRef?.feed({ type: "stop" });
        } catch (e) {
          caught = e;
        }
        return mqtt.connect(url, options);
      },
    });
    drivers.push(driver);
    driverRef = driver;
    await driver.start();
    expect(String(caught)).toMatch(/re-entrant feed of "stop" while commands execute/);
    expect(driver.state.phase.name).toBe("connecting");
  });

  it("reports a socket failure before CONNACK as connect-failed (network)", async () => {
    const port = await freePort();
    const { driver, events, reports, finish } = await makeDriver(`mqtt://127.0.0.1:${port}`);
    await driver.start();
    await waitUntil(() => events.some((e) => e.type === "connect-failed"), 5_000, "connect-failed");
    const failed = events.find((e) => e.type === "connect-failed");
    expect(failed).toMatchObject({ connectionId: 1, cause: { kind: "network" } });
    expect(reports.some((r) => r.kind === "connection-lost")).toBe(true);
    await finish();
  });

  it("maps a CONNACK refusal to connect-failed {refused, code}", async () => {
    const raw = await rawBroker(5);
    servers.push(raw.server);
    const { driver, events, reports, finish } = await makeDriver(`mqtt://127.0.0.1:${raw.port}`);
    await driver.start();
    await waitUntil(() => events.some((e) => e.type === "connect-failed"), 5_000, "connect-failed");
    expect(events.find((e) => e.type === "connect-failed")).toMatchObject({
      connectionId: 1,
      cause: { kind: "refused", code: 5 },
    });
    expect(reports.find((r) => r.kind === "connect-refused")).toMatchObject({ code: 5 });
    await finish();
  });

  it("keeps the code of a mid-session CONNACK (Cumulocity closing a session) as disconnected {refused}", async () => {
    const raw = await rawBroker(0, (socket) => socket.write(Buffer.from([0x20, 0x02, 0x00, 0x03])));
    servers.push(raw.server);
    const { driver, events, finish } = await makeDriver(`mqtt://127.0.0.1:${raw.port}`);
    await driver.start();
    await waitUntil(() => events.some((e) => e.type === "disconnected"), 5_000, "disconnected");
    expect(events.map((e) => e.type)).toContain("connected");
    expect(events.find((e) => e.type === "disconnected")).toMatchObject({
      connectionId: 1,
      cause: { kind: "refused", code: 3 },
    });
    await finish();
  });

  it("fires timers on the injected clock only, re-arming when the OS timer is early", async () => {
    let now = 1_000_000;
    const clock: Clock = { nowMs: () => now };
    const port = await freePort();
    const { driver, events, finish } = await makeDriver(`mqtt://127.0.0.1:${port}`, { clock });
    await driver.start();
    await waitUntil(() => driver.state.phase.name === "waiting", 5_000, "waiting");
    const reconnectAt = driver.state.timers.reconnect;
    expect(reconnectAt).toBeGreaterThan(now);
    // Real time passes (more than the backoff), the injected clock does not: no fire.
    await new Promise((r) => setTimeout(r, 600));
    expect(events.filter((e) => e.type === "timer-fired")).toEqual([]);
    expect(driver.state.counters.connects).toBe(1);
    now = reconnectAt ?? now;
    await waitUntil(() => driver.state.counters.connects === 2, 5_000, "the reconnect");
    const fired = events.find((e) => e.type === "timer-fired");
    expect(fired).toMatchObject({ key: "reconnect", nowMs: reconnectAt });
    // Every event carries the injected clock's time.
    expect(events.every((e) => e.nowMs === 1_000_000 || e.nowMs === reconnectAt)).toBe(true);
    await finish();
  });
});

describe("Driver persists", () => {
  it("does not hold a written batch's changes while the storage makes it durable", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    let durable: (() => void) | undefined;
    // A storage that takes the batch and answers later, keeping nothing of it.
    const storage = {
      load: () => Promise.resolve({}),
      apply: () => new Promise<void>((done) => (durable = done)),
    };
    const driver = new Driver({
      config: configOf(passwordConfig()),
      url: `mqtt://127.0.0.1:${await freePort()}`,
      storage,
    });
    await driver.start();
    const ref = (() => {
      const commands = driver.feed({
        type: "submit",
        message: { template: "200", fragment: "c8y_T", series: "T", value: 1, unit: "C" },
      });
      const persist = commands.find((c) => c.type === "persist");
      if (persist?.type !== "persist") throw new Error("the submission was not persisted");
      return new WeakRef(persist.changes);
    })();
    await waitUntil(() => durable !== undefined, 5_000, "the storage write");
    gc();
    await new Promise((r) => setTimeout(r, 0));
    gc();
    expect(ref.deref()).toBeUndefined();
    durable?.();
    driver.close();
  });
});
