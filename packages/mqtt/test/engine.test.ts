/**
 * Integration over real TCP against mosquitto: session setup, QoS 1 acknowledgements,
 * ordering, operations, the file store across an engine restart. Every test replays its
 * event log through the core with zero divergence.
 */
import { connect as netConnect } from "node:net";
import { afterEach, beforeEach, expect, it } from "vitest";
import { WebSocketServer, createWebSocketStream } from "ws";
import type { Report } from "@c8ylink/core";
import { createEngine } from "../src/index.js";
import { Broker, CONNECTION_TIMEOUT, describeWithBroker, freePort, waitUntil } from "./support/broker.js";
import { CLIENT_ID, DEVICE, Fixture, measurement, passwordConfig, seqOf } from "./support/fixture.js";
import { Platform } from "./support/platform.js";
import { expectReplays } from "./support/replay.js";

describeWithBroker("engine against mosquitto", () => {
  let broker: Broker;
  let platform: Platform;
  const fx = new Fixture();

  beforeEach(async () => {
    broker = await Broker.create();
    platform = await Platform.connect(broker.url);
  });

  afterEach(async () => {
    await fx.cleanup();
    await platform?.close().catch(() => {});
    await broker?.dispose();
  });

  it("connects, registers, subscribes and gets PUBACKs for QoS 1 publishes", async () => {
    const { engine, logPath, reports } = await fx.engine({ config: passwordConfig(), url: broker.url });
    await engine.start();
    await engine.whenOnline(CONNECTION_TIMEOUT);

    // Step 1 and Step 3 reached the platform: 100, then 114 and 500 after every SUBACK.
    await platform.waitForRow((l) => l === "500", 5_000, "500 on s/us");
    expect(platform.rows("s/us").slice(0, 3)).toEqual([
      "100,Test device,c8ylink_Test",
      "114,c8y_Command,c8y_Restart,c8y_Configuration",
      "500",
    ]);
    expect(broker.count(/Received SUBSCRIBE from d:dev1$/)).toBe(1);
    expect(broker.log).toMatch(/d:dev1 1 s\/ds/);
    expect(broker.log).toMatch(/d:dev1 0 s\/e/);

    const result = engine.submit(measurement(7), { tag: "first" });
    expect(result).toMatchObject({ accepted: true });
    if (!result.accepted) throw new Error("not accepted");
    await engine.whenDrained(5_000);
    expect(reports).toContainEqual({ kind: "delivered", refs: [result.ref] });
    await platform.waitForRow((l) => seqOf(l) === 7, 5_000, "the measurement");

    expect(engine.counters()).toMatchObject({ accepted: 1, delivered: 1, connects: 1, connectionLosses: 0 });
    await engine.stop();
    expect(engine.phase()).toBe("stopped");
    expect(reports.at(-1)).toEqual({ kind: "stopped", undelivered: 0 });
    await expectReplays(logPath);
  });

  it("rejects invalid submissions at the API boundary and reports core rejections", async () => {
    const { engine, logPath } = await fx.engine({ config: passwordConfig(), url: broker.url });
    expect(engine.submit(measurement(1))).toEqual({ accepted: false, reason: "engine is new" });
    await engine.start();
    const bad = engine.submit({ template: "200", fragment: "x" } as never);
    expect(bad.accepted).toBe(false);
    if (!bad.accepted) expect(bad.reason).toMatch(/^invalid submission: /);
    const badChild = engine.submit(measurement(1), { child: "a/b" });
    expect(badChild).toMatchObject({ accepted: false });
    expect(engine.submitCustom("myXid", ["100", "x"])).toMatchObject({ accepted: true });
    await engine.stop();
    expect(engine.submit(measurement(2))).toEqual({ accepted: false, reason: "engine is stopped" });
    await expectReplays(logPath);
  });

  it("delivers N measurements in submission order", async () => {
    const N = 1_000;
    const { engine, logPath, reports } = await fx.engine({ config: passwordConfig(), url: broker.url });
    await engine.start();
    await engine.whenOnline(CONNECTION_TIMEOUT);
    const refs: number[] = [];
    for (let i = 0; i < N; i++) {
      const r = engine.submit(measurement(i));
      if (!r.accepted) throw new Error(`rejected: ${r.reason}`);
      refs.push(r.ref);
    }
    await engine.whenDrained(30_000);
    await waitUntil(
      () => platform.rows().filter((l) => seqOf(l) !== undefined).length >= N,
      10_000,
      "all rows",
    );
    const seqs = platform.rows("s/us").flatMap((l) => seqOf(l) ?? []);
    expect(seqs).toEqual(Array.from({ length: N }, (_, i) => i));
    const delivered = reports.flatMap((r) => (r.kind === "delivered" ? r.refs : []));
    expect(delivered).toEqual(refs);
    await engine.stop();
    const { commands } = await expectReplays(logPath);
    // Batched: fewer publishes than rows (the core packs rows into one payload when it can).
    const publishes = commands.filter((c) => c.type === "publish").length;
    expect(publishes).toBeLessThanOrEqual(N + 3);
  });

  it("operations by id (the default): JSON on devicecontrol/notifications, 504 then 506/505 by id, redelivery not run again", async () => {
    const { engine, logPath } = await fx.engine({ config: passwordConfig(), url: broker.url });
    const ran: string[] = [];
    engine.handle("c8y_Command", async (op) => {
      if (op.template !== "511") throw new Error("wrong template");
      ran.push(op.text);
      return { status: "successful", parameters: [`ran ${op.text}`] };
    });
    await engine.start();
    await engine.whenOnline(CONNECTION_TIMEOUT);
    const notification = (id: string, text: string) =>
      JSON.stringify({ id, deviceId: "1", status: "PENDING", c8y_Command: { text } });
    await platform.send("s/ds", `511,${DEVICE},uptime`); // the platform's static twin: skipped
    await platform.send("devicecontrol/notifications", notification("9001", "uptime"));
    await platform.waitForRow((l) => l.startsWith("506,9001"), 10_000, "506 by id");
    await platform.send("devicecontrol/notifications", notification("9001", "uptime")); // redelivered
    await platform.send("devicecontrol/notifications", notification("9002", "date"));
    await platform.waitForRow((l) => l.startsWith("506,9002"), 10_000, "506 of the second");
    const rows = platform.rows("s/us").filter((r) => /^50[1-7]/.test(r));
    expect(rows).toEqual(["504,9001", "506,9001,ran uptime", "504,9002", "506,9002,ran date"]);
    expect(ran).toEqual(["uptime", "date"]);
    await engine.whenDrained(5_000);
    await engine.stop();
    await expectReplays(logPath);
  });

  it("hands s/ds operations to handlers and sends 501 then 503/502 (operations: static)", async () => {
    const { engine, logPath } = await fx.engine({
      config: passwordConfig({ operations: "static" }),
      url: broker.url,
    });
    const seen: string[] = [];
    engine.onOperation((op, ctx) => seen.push(`${op.fragment}@${ctx.deviceId}`));
    engine.handle("c8y_Command", async (op) => {
      if (op.template !== "511") throw new Error("wrong template");
      return { status: "successful", parameters: [`ran ${op.text}`] };
    });
    engine.handle("c8y_Restart", () => Promise.reject(new Error("restart refused by test")));
    await engine.start();
    await engine.whenOnline(CONNECTION_TIMEOUT);

    await platform.send("s/ds", `511,${DEVICE},uptime`);
    await platform.waitForRow((l) => l.startsWith("503,c8y_Command"), 10_000, "503 c8y_Command");
    await platform.send("s/ds", `510,${DEVICE}`);
    await platform.waitForRow((l) => l.startsWith("502,c8y_Restart"), 10_000, "502 c8y_Restart");
    // No handler registered (but declared as supported): failed with a clear reason.
    await platform.send("s/ds", `513,${DEVICE},"some config"`);
    await platform.waitForRow((l) => l.startsWith("502,c8y_Configuration"), 10_000, "502 c8y_Configuration");

    const rows = platform.rows("s/us");
    const at = (line: string) => rows.indexOf(line);
    // Present (indexOf -1 would pass a bare "greater than"), then in order.
    expect(at("501,c8y_Command")).toBeGreaterThanOrEqual(0);
    expect(at("501,c8y_Restart")).toBeGreaterThanOrEqual(0);
    expect(at("503,c8y_Command,ran uptime")).toBeGreaterThan(at("501,c8y_Command"));
    expect(at("502,c8y_Restart,restart refused by test")).toBeGreaterThan(at("501,c8y_Restart"));
    expect(rows).toContain(
      "502,c8y_Configuration,no handler registered for c8y_Configuration in this device",
    );
    expect(seen).toEqual([`c8y_Command@${DEVICE}`, `c8y_Restart@${DEVICE}`, `c8y_Configuration@${DEVICE}`]);
    await engine.whenDrained(5_000);
    await engine.stop();
    await expectReplays(logPath);
  });

  it("keeps queued rows in the state directory across an engine restart", async () => {
    const stateDir = await fx.tempDir("c8ylink-state-");
    // First engine: the broker is unreachable, rows wait in the outbox (and on disk).
    const deadPort = await freePort();
    const first = await fx.engine({
      config: passwordConfig(),
      url: `mqtt://127.0.0.1:${deadPort}`,
      stateDir,
    });
    await first.engine.start();
    const refs: number[] = [];
    for (let i = 0; i < 50; i++) {
      const r = first.engine.submit(measurement(i));
      if (r.accepted) refs.push(r.ref);
    }
    expect(refs).toHaveLength(50);
    await waitUntil(() => first.engine.counters().connects >= 2, 5_000, "a failed connect and a retry");
    await first.engine.stop();
    expect(first.reports.at(-1)).toEqual({ kind: "stopped", undelivered: 50 });
    await expectReplays(first.logPath);

    // Second engine on the same directory and a live broker: the rows go out.
    const second = await fx.engine({ config: passwordConfig(), url: broker.url, stateDir });
    await second.engine.start();
    expect(second.engine.counters().admitted).toBe(50);
    await second.engine.whenOnline(CONNECTION_TIMEOUT);
    await second.engine.whenDrained(10_000);
    await waitUntil(
      () => platform.rows().filter((l) => seqOf(l) !== undefined).length >= 50,
      5_000,
      "50 rows",
    );
    expect(platform.rows("s/us").flatMap((l) => seqOf(l) ?? [])).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    const delivered = second.reports.flatMap((r: Report) => (r.kind === "delivered" ? r.refs : []));
    expect(delivered).toEqual(refs);
    await second.engine.stop();
    await expectReplays(second.logPath);

    // Everything was delivered: a third start finds nothing queued.
    const third = createEngine({ config: passwordConfig(), url: `mqtt://127.0.0.1:${deadPort}`, stateDir });
    await third.start();
    expect(third.counters().admitted).toBe(0);
    await third.stop();
    expect(broker.count(new RegExp(`as ${CLIENT_ID} `))).toBe(1);
  });

  it("connects over WebSocket (ws://, default path /mqtt, subprotocol mqtt)", async () => {
    // mosquitto 2.0.11's websockets listener does not start in every environment, so a small
    // WebSocket → TCP bridge in front of the TCP listener plays the WebSocket endpoint.
    const paths: string[] = [];
    const wss = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      handleProtocols: (p) => (p.has("mqtt") ? "mqtt" : false),
    });
    wss.on("connection", (socket, request) => {
      paths.push(`${request.url ?? ""} ${socket.protocol}`);
      const tcp = netConnect({ host: "127.0.0.1", port: broker.port });
      const stream = createWebSocketStream(socket);
      stream.pipe(tcp).pipe(stream);
      stream.on("error", () => tcp.destroy());
      tcp.on("error", () => stream.destroy());
    });
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    const address = wss.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const { engine, logPath } = await fx.engine({
        config: passwordConfig(),
        url: `ws://127.0.0.1:${port}`,
      });
      await engine.start();
      await engine.whenOnline(CONNECTION_TIMEOUT);
      expect(engine.submit(measurement(3))).toMatchObject({ accepted: true });
      await engine.whenDrained(5_000);
      await platform.waitForRow((l) => seqOf(l) === 3, 5_000, "the row over WebSocket");
      await engine.stop();
      await expectReplays(logPath);
      expect(paths).toEqual(["/mqtt mqtt"]);
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });
});
