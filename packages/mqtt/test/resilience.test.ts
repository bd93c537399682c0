/**
 * Broker failures against a real mosquitto: MQTT.js's own recovery must stay off (the core
 * alone decides reconnects, resubscriptions and retransmissions), and a broker restart in
 * the middle of a stream loses no accepted message.
 */
import { afterEach, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import mqtt from "mqtt";
import type { Report } from "@c8ylink/core";
import {
  Broker,
  CONNECTION_TIMEOUT,
  connectionLine,
  describeWithBroker,
  publishLine,
  sleep,
  subscribeLine,
  waitUntil,
} from "./support/broker.js";
import { CLIENT_ID, Fixture, measurement, passwordConfig, seqOf } from "./support/fixture.js";
import { Platform } from "./support/platform.js";
import { expectReplays } from "./support/replay.js";

describeWithBroker("resilience against mosquitto", () => {
  let broker: Broker | undefined;
  let platform: Platform | undefined;
  const fx = new Fixture();

  afterEach(async () => {
    await fx.cleanup();
    await platform?.close().catch(() => {});
    await broker?.dispose();
    broker = undefined;
    platform = undefined;
  });

  it("never reconnects, resubscribes or retransmits on its own: only the core's commands do", async () => {
    broker = await Broker.create({ persistence: true });
    platform = await Platform.connect(broker.url);
    const clients: MqttClient[] = [];
    let marker: ReturnType<import("../src/index.js").Engine["submit"]> | undefined;
    let phaseAtMarker = "";
    let offlineQueued: number[] = [];
    // The core's reconnect delay: floor = cap, so exactly floorMs. It must outlast the window
    // below, in which MQTT.js (default reconnectPeriod 1 s) would have reconnected on its own.
    const floorMs = 3_000;
    const { engine, logPath } = await fx.engine({
      config: passwordConfig({ backoff: { floorMs, capMs: floorMs, stableMs: 600_000 } }),
      url: broker.url,
      mqttConnect: (url, options) => {
        const client = mqtt.connect(url, options);
        if (clients.length === 0) {
          // The instant the first connection closes (before the driver's own `close` handler
          // queued the loss), the core still believes it is online: submit a row. Its publish
          // command meets a closed MQTT.js client and must not go to MQTT.js's offline store.
          client.prependListener("close", () => {
            if (marker !== undefined) return;
            const internals = client as unknown as {
              queue: unknown[];
              outgoingStore: { _inflights: Map<unknown, unknown> };
            };
            const before = [internals.queue.length, internals.outgoingStore._inflights.size];
            phaseAtMarker = engine.phase();
            marker = engine.submit(measurement(999_999), { tag: "marker" });
            offlineQueued = [internals.queue.length, internals.outgoingStore._inflights.size].map(
              (n, i) => n - (before[i] ?? 0),
            );
          });
        }
        clients.push(client);
        return client;
      },
    });
    await engine.start();
    await engine.whenOnline(CONNECTION_TIMEOUT);
    expect(broker.count(connectionLine(CLIENT_ID))).toBe(1);

    await broker.stop();
    await waitUntil(() => engine.phase() === "waiting", 5_000, "the core to notice the loss");
    expect(marker).toMatchObject({ accepted: true });
    expect(phaseAtMarker).toBe("online");
    // The publish command was dropped by the driver: nothing went to MQTT.js's offline queue/store.
    expect(offlineQueued).toEqual([0, 0]);
    await broker.start();

    // The broker is back, but the core's reconnect timer (floorMs) has not fired: no connection.
    // A window for an absence: 1.5 s covers at least one attempt of MQTT.js's own 1 s
    // reconnect timer, were it left on.
    await sleep(1_500);
    expect(engine.phase()).toBe("waiting");
    expect(broker.count(connectionLine(CLIENT_ID), broker.log)).toBe(0);
    expect(clients).toHaveLength(1);

    await engine.whenOnline(CONNECTION_TIMEOUT);
    expect(clients).toHaveLength(2);
    expect(broker.count(connectionLine(CLIENT_ID), broker.log)).toBe(1);
    await engine.whenDrained(10_000);
    await platform.waitForRow((l) => seqOf(l) === 999_999, 10_000, "the marker row");
    await engine.stop();

    const { commands, steps } = await expectReplays(logPath);
    // The second CONNECT came from the core's reconnect timer, floorMs after the loss on the
    // recorded clock (the driver fires a timer only once its clock reaches the deadline): the
    // waiting is checked in the core's time, not by timing the test.
    const lostAt = steps.find((s) => s.event.type === "disconnected")?.event.nowMs;
    const secondConnect = steps.filter((s) => s.commands.some((c) => c.type === "connect"))[1];
    expect(secondConnect?.event).toMatchObject({ type: "timer-fired", key: "reconnect" });
    expect((secondConnect?.event.nowMs ?? 0) - (lostAt ?? Infinity)).toBeGreaterThanOrEqual(floorMs);
    // The broker saw exactly the CONNECTs and SUBSCRIBEs the core commanded, no more.
    const connects = commands.filter((c) => c.type === "connect").length;
    const subscribes = commands.filter((c) => c.type === "subscribe").length;
    expect(connects).toBe(2);
    expect(broker.count(connectionLine(CLIENT_ID))).toBe(connects);
    expect(broker.count(subscribeLine(CLIENT_ID))).toBe(subscribes);
    // The marker was published once, on the second connection, by the core's requeue.
    expect(platform.rows().filter((l) => seqOf(l) === 999_999)).toHaveLength(1);
    const markerPublishes = commands.filter((c) => c.type === "publish" && c.payload.includes("999999"));
    // Commanded on the dead connection 1 (dropped), then again on connection 2 (delivered).
    expect(markerPublishes.map((c) => (c.type === "publish" ? c.connectionId : 0))).toEqual([1, 2]);
    // PUBLISHes received by the broker never exceed the QoS 1 publishes the core commanded.
    const qos1 = commands.filter((c) => c.type === "publish" && c.qos === 1).length;
    expect(broker.count(publishLine(CLIENT_ID))).toBeLessThanOrEqual(qos1);
  });

  it("loses no accepted message when the broker restarts in the middle of a stream", async () => {
    broker = await Broker.create({ persistence: true });
    platform = await Platform.connect(broker.url, "platform-stream");
    const { engine, logPath, reports } = await fx.engine({
      config: passwordConfig({ backoff: { floorMs: 300, capMs: 1_000, stableMs: 60_000 } }),
      url: broker.url,
    });
    await engine.start();
    await engine.whenOnline(CONNECTION_TIMEOUT);

    const total = 3_000;
    const accepted = new Map<number, number>(); // ref → seq
    let restarted: Promise<void> | null = null;
    const startedAt = Date.now();
    for (let i = 0; i < total; i++) {
      const r = engine.submit(measurement(i));
      if (!r.accepted) throw new Error(`rejected ${i}: ${r.reason}`);
      accepted.set(r.ref, i);
      if (i % 50 === 49) await sleep(5); // a steady stream, with time for PUBACKs in between
      if (i === 1_000) restarted = broker.restart(200);
    }
    await restarted;
    await engine.whenDrained(60_000);
    const drainedMs = Date.now() - startedAt;

    // Every accepted ref was delivered (PUBACKed) at least once.
    const delivered = new Set(reports.flatMap((r: Report) => (r.kind === "delivered" ? r.refs : [])));
    const missingRefs = [...accepted.keys()].filter((ref) => !delivered.has(ref));
    expect(missingRefs).toEqual([]);
    expect(engine.counters().connectionLosses).toBeGreaterThanOrEqual(1);

    // And the platform got every one of them (duplicates allowed: QoS 1 is at-least-once).
    const received = (): Set<number> => new Set(platform?.rows().flatMap((l) => seqOf(l) ?? []) ?? []);
    await waitUntil(() => received().size >= total, 20_000, "the platform to receive every row", 100);
    const got = received();
    const lost = [...accepted.values()].filter((i) => !got.has(i));
    expect(lost).toEqual([]);
    const rows = platform.rows().filter((l) => seqOf(l) !== undefined).length;
    console.info(
      `[restart] ${total} rows drained in ${drainedMs} ms, ${engine.counters().connects} connects, ` +
        `${rows - total} duplicates at the platform`,
    );
    await engine.stop();
    await expectReplays(logPath);
  });
});
