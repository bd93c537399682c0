/**
 * The aedes wiring, driven by raw MQTT.js clients over TCP on 127.0.0.1: CONNACK codes from the
 * model, SUBACK per topic, the publish size law and forbidden topics (connection closed, no
 * PUBACK), duplicate ClientIds, unsubscribe, no forwarding between clients, close().
 */
import { afterEach, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { payloadForPacketSize, publishSize } from "../../../test/support/mqtt-oracle.js";
import type { SimLogEntry } from "../src/index.js";
import { Fixture, sleep, waitUntil, connackCode } from "./support.js";

const USERS = [
  { username: "device_raw-1", password: "pw-1" },
  { username: "device_raw-2", password: "pw-2" },
];
const auth1 = { clientId: "d:raw-1", username: "t100/device_raw-1", password: "pw-1" };
const auth2 = { clientId: "d:raw-2", username: "t100/device_raw-2", password: "pw-2" };

const closed = (client: MqttClient): Promise<void> =>
  new Promise((resolve) => {
    if (client.disconnected || !client.connected) {
      resolve();
      return;
    }
    client.once("close", () => resolve());
  });

describe("simulated tenant broker (raw MQTT clients)", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it("answers CONNECT with the model's CONNACK codes", async () => {
    const { tenant, entries } = await fx.tenant({ platform: { users: USERS, bootstrapPassword: "boot" } });
    const url = tenant.mqttUrl;
    expect(await connackCode(url, auth1)).toBe(0);
    expect(await connackCode(url, { ...auth1, password: "wrong" })).toBe(4);
    expect(await connackCode(url, { clientId: "d:raw-1" })).toBe(5);
    expect(await connackCode(url, { ...auth1, clientId: "x:raw-1" })).toBe(2);
    // An empty ClientId reaches the model as sent (aedes would invent one): not a device id → 2.
    expect(await connackCode(url, { ...auth1, clientId: "" })).toBe(2);
    expect(
      await connackCode(url, { clientId: "raw-9", username: "management/devicebootstrap", password: "nope" }),
    ).toBe(4);
    expect(
      await connackCode(url, { clientId: "raw-9", username: "management/devicebootstrap", password: "boot" }),
    ).toBe(0);
    // MQTT 3.1 with a ClientId of 24+ characters: 5 from the model (aedes would have said 2).
    expect(
      await connackCode(url, {
        protocolVersion: 3,
        protocolId: "MQIsdp",
        clientId: `d:${"x".repeat(22)}`,
        username: "t100/device_raw-1",
        password: "pw-1",
      }),
    ).toBe(5);
    const codes = entries.flatMap((e) => (e.kind === "connect" ? [e.code] : []));
    expect(codes).toEqual([0, 4, 5, 2, 2, 4, 0, 5]);
    await waitUntil(() => tenant.state().sessions.size === 0, 5_000, "sessions to end");
  });

  it("grants only the model's topics and never forwards device publishes", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS } });
    const a = await fx.client(tenant.mqttUrl, auth1);
    const b = await fx.client(tenant.mqttUrl, auth2);
    // MQTT.js reports the requested QoS to the callback; the SUBACK packet has the granted codes.
    const granted = new Promise<readonly number[]>((resolve) =>
      a.on("packetreceive", (packet) => {
        if (packet.cmd === "suback") resolve(packet.granted as number[]);
      }),
    );
    // The tenant refuses subscriptions until the device exists (spec §2.5): create it first.
    await a.publishAsync("s/us", "100", { qos: 1 });
    a.subscribe({ "s/ds": { qos: 1 }, "s/us": { qos: 1 }, "#": { qos: 0 }, "s/e": { qos: 0 } }, () => {});
    expect(await granted).toEqual([1, 0x80, 0x80, 0]);
    const received: string[] = [];
    a.on("message", (topic, payload) => received.push(`${topic} ${payload.toString("utf8")}`));
    // B's upstream traffic (and its answer 601) never reaches A.
    await b.publishAsync("s/us", "100,B,t", { qos: 1 });
    await b.subscribeAsync({ "s/ds": { qos: 0 } });
    await b.publishAsync("s/us", "600", { qos: 1 });
    // B tries to impersonate the platform on s/ds: closed, nothing forwarded to A.
    const bClosed = closed(b);
    b.publish("s/ds", "511,raw-1,rm -rf /", { qos: 0 });
    await bClosed;
    await sleep(200);
    expect(received).toEqual([]);
    expect(tenant.state().connectionLog.toArray()).toContainEqual(
      expect.objectContaining({
        clientId: "d:raw-2",
        event: "dropped",
        reason: expect.stringMatching(/^forbidden topic/),
      }),
    );
    // A still works and gets its own answers.
    await a.publishAsync("s/us", "600", { qos: 1 });
    await waitUntil(() => received.length === 1, 5_000, "601 for A");
    expect(received).toEqual(["s/ds 601,2025.0.0"]);
  });

  it("closes a client whose PUBLISH exceeds 16184 bytes, and only then", async () => {
    const { tenant, entries } = await fx.tenant({ platform: { users: USERS } });
    const client = await fx.client(tenant.mqttUrl, auth1);
    const errors: string[] = [];
    client.on("message", (_t, p) => errors.push(p.toString("utf8")));
    await client.publishAsync("s/us", "100", { qos: 1 });
    await client.subscribeAsync({ "s/e": { qos: 0 } });
    // A PUBLISH of exactly 16184 bytes (by the independent encoder) is accepted (PUBACK) —
    // a malformed row, answered on s/e.
    const fits = payloadForPacketSize("s/us", 1, 16_184)!.length;
    const largest = `999,${"x".repeat(fits - 4)}`;
    expect(publishSize("s/us", largest, 1)).toBe(16_184);
    await client.publishAsync("s/us", largest, { qos: 1 });
    await waitUntil(() => errors.length === 1, 5_000, "the s/e line");
    expect(errors[0]).toMatch(/^40,999,/);
    expect(client.connected).toBe(true);

    const gone = closed(client);
    let acked = false;
    // MQTT.js only settles the in-flight publish at end(): check that no PUBACK came.
    // One byte more: 16185 bytes.
    const over = `999,${"x".repeat(fits - 3)}`;
    expect(publishSize("s/us", over, 1)).toBe(16_185);
    client.publishAsync("s/us", over, { qos: 1 }).then(
      () => (acked = true),
      () => {},
    );
    await gone;
    await sleep(100);
    expect(acked).toBe(false);
    const dropped = tenant
      .state()
      .connectionLog.toArray()
      .find((e) => e.event === "dropped");
    expect(dropped?.reason).toBe("message of 16185 bytes exceeds 16184");
    expect(entries).toContainEqual(
      expect.objectContaining<Partial<SimLogEntry>>({
        kind: "disconnect",
        by: "platform",
        clientId: "d:raw-1",
      }),
    );
    expect(tenant.state().sessions.size).toBe(0);
  });

  it("lets a duplicate ClientId take over and stops delivering after UNSUBSCRIBE", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS } });
    const first = await fx.client(tenant.mqttUrl, auth1);
    const firstClosed = closed(first);
    const second = await fx.client(tenant.mqttUrl, { ...auth1, clientId: "raw-1" });
    await firstClosed;
    expect(
      tenant
        .state()
        .sessions.values()
        .map((s) => s.clientId),
    ).toEqual(["raw-1"]);

    const got: string[] = [];
    second.on("message", (topic, payload) => got.push(`${topic} ${payload.toString("utf8")}`));
    await second.publishAsync("s/us", "100,Raw,t\n114,c8y_Restart", { qos: 1 });
    await second.subscribeAsync({ "s/ds": { qos: 1 } });
    expect(
      tenant.step({ type: "admin-create-operation", deviceId: "raw-1", fragments: { c8y_Restart: {} } }).ok,
    ).toBe(true);
    await waitUntil(() => got.length === 1, 5_000, "the first operation");
    expect(got).toEqual(["s/ds 510,raw-1"]);
    await second.unsubscribeAsync("s/ds");
    expect(tenant.state().sessions.values()[0]?.subscriptions).toEqual({});
    expect(
      tenant.step({ type: "admin-create-operation", deviceId: "raw-1", fragments: { c8y_Restart: {} } }).ok,
    ).toBe(true);
    await sleep(200);
    expect(got).toHaveLength(1);
    expect(tenant.state().operations.map((o) => o.status)).toEqual(["PENDING", "PENDING"]);
  });

  it("close() ends every connection and is idempotent", async () => {
    const { tenant, entries } = await fx.tenant({ platform: { users: USERS } });
    const client = await fx.client(tenant.mqttUrl, auth1);
    const gone = closed(client);
    await Promise.all([tenant.close(), tenant.close()]);
    await gone;
    expect(entries.filter((e) => e.kind === "closed")).toHaveLength(1);
    expect(tenant.state().sessions.size).toBe(0);
    await expect(fetch(`${tenant.adminUrl}/devices`)).rejects.toThrow();
  });

  it("refuses step() inputs that are not admin inputs, and reports the model's answer", async () => {
    const { tenant } = await fx.tenant();
    expect(() => tenant.step({ type: "client-disconnect", clientKey: "x" } as never)).toThrow(TypeError);
    expect(tenant.step({ type: "admin-register", deviceId: "a/b" })).toMatchObject({ ok: false });
    expect(tenant.step({ type: "admin-register", deviceId: "dev" })).toMatchObject({
      ok: true,
      detail: "dev registered",
    });
    expect(tenant.step({ type: "admin-accept", deviceId: "dev" })).toMatchObject({ ok: false });
  });
});
