/**
 * JSON via MQTT on the wire (spec §2.7), with raw MQTT.js clients over TCP on 127.0.0.1:
 * operations on `devicecontrol/notifications` (created through the admin API, status set by id
 * with 504/506), the JSON data topics, errors on `error` with the packet id, and the tenant
 * option that refuses the notification subscription.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { MqttClient } from "mqtt";
import { findOperation, listErrors, listMeasurements, type StoredOperation } from "@c8ylink/platform";
import { Fixture, http, waitUntil } from "./support.js";

const USERS = [
  { username: "device_json-1", password: "pw-1" },
  { username: "device_json-2", password: "pw-2" },
];
const AUTH = { clientId: "d:json-1", username: "t100/device_json-1", password: "pw-1" };
const NOTIFICATIONS = "devicecontrol/notifications";
const WAIT = 5_000;

interface Received {
  readonly topic: string;
  readonly payload: string;
}

const collect = (client: MqttClient): Received[] => {
  const received: Received[] = [];
  client.on("message", (topic, payload) => received.push({ topic, payload: payload.toString("utf8") }));
  return received;
};

/** Subscribes `topics` at QoS 1; resolves with the SUBACK's codes (MQTT.js's callback reports the requested QoS). */
const suback = (client: MqttClient, topics: readonly string[]): Promise<readonly number[]> => {
  const codes = new Promise<readonly number[]>((resolve) => {
    const listener = (packet: { cmd: string; granted?: unknown }) => {
      if (packet.cmd !== "suback") return;
      client.off("packetreceive", listener);
      resolve(packet.granted as number[]);
    };
    client.on("packetreceive", listener);
  });
  client.subscribe(Object.fromEntries(topics.map((t) => [t, { qos: 1 as const }])), () => {});
  return codes;
};

const on = (received: readonly Received[], topic: string): string[] =>
  received.filter((r) => r.topic === topic).map((r) => r.payload);

describe("JSON via MQTT on the simulated tenant", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it("delivers operations as JSON to the owner, pending ones after the subscription; status by id", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS } });
    const client = await fx.client(tenant.mqttUrl, AUTH);
    const received = collect(client);
    await client.publishAsync("s/us", "100,JSON device,c8y_Test\n101,json-1-child", { qos: 1 });
    // Another device listening on the same topic gets none of json-1's operations.
    const other = await fx.client(tenant.mqttUrl, {
      clientId: "d:json-2",
      username: "t100/device_json-2",
      password: "pw-2",
    });
    const otherReceived = collect(other);
    await other.publishAsync("s/us", "100", { qos: 1 });
    expect(await suback(other, [NOTIFICATIONS])).toEqual([1]);
    // Created while the device does not listen: published right after the subscription.
    const early = await http(tenant, "POST", "/operations", {
      deviceId: "json-1-child",
      fragments: { c8y_Restart: {} },
    });
    expect(early.status).toBe(201);
    const earlyId = (early.body as StoredOperation).id;
    expect(await suback(client, [NOTIFICATIONS, "s/ds"])).toEqual([1, 1]);
    await waitUntil(() => on(received, NOTIFICATIONS).length === 1, WAIT, "the pending operation as JSON");
    expect(JSON.parse(on(received, NOTIFICATIONS)[0] ?? "")).toMatchObject({
      id: earlyId,
      status: "PENDING",
      c8y_Restart: {},
      externalSource: { externalId: "json-1-child", type: "c8y_Serial" },
    });

    // Created while subscribed: pushed on both channels, the JSON with its id.
    const live = await http(tenant, "POST", "/operations", {
      deviceId: "json-1",
      fragments: { c8y_Command: { text: "uptime" } },
      description: "uptime",
    });
    const liveId = (live.body as StoredOperation).id;
    await waitUntil(() => on(received, NOTIFICATIONS).length === 2, WAIT, "the new operation as JSON");
    await waitUntil(() => on(received, "s/ds").length === 1, WAIT, "the static line");
    expect(JSON.parse(on(received, NOTIFICATIONS)[1] ?? "")).toMatchObject({
      id: liveId,
      description: "uptime",
      c8y_Command: { text: "uptime" },
    });
    expect(JSON.parse(on(received, NOTIFICATIONS)[1] ?? "")).not.toHaveProperty("externalSource");
    expect(on(received, "s/ds")).toEqual(["511,json-1,uptime"]);

    // Status by id: the child's on its own topic, the root's on s/us.
    await client.publishAsync("s/us/json-1-child", `504,${earlyId}\n506,${earlyId}`, { qos: 1 });
    await client.publishAsync("s/us", `504,${liveId}\n506,${liveId},up 3 days`, { qos: 1 });
    await waitUntil(
      () => findOperation(tenant.state(), liveId)?.status === "SUCCESSFUL",
      WAIT,
      "the operation to be SUCCESSFUL",
    );
    const done = await http(tenant, "GET", `/operations/${liveId}`);
    expect((done.body as StoredOperation).history.map((h) => h.status)).toEqual([
      "PENDING",
      "EXECUTING",
      "SUCCESSFUL",
    ]);
    expect((done.body as StoredOperation).fragments).toEqual({
      c8y_Command: { text: "uptime", result: "up 3 days" },
    });
    expect(findOperation(tenant.state(), earlyId)?.status).toBe("SUCCESSFUL");
    expect(tenant.state().operations.map((o) => o.notifications)).toEqual([1, 1]);
    expect(tenant.state().errors.toArray()).toEqual([]);
    expect(otherReceived).toEqual([]);
  });

  it("stores JSON data and answers bad input on `error` with the packet id, keeping the connection", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS } });
    const client = await fx.client(tenant.mqttUrl, AUTH);
    const received = collect(client);
    await client.publishAsync("s/us", "100", { qos: 1 });
    expect(await suback(client, ["error"])).toEqual([1]);
    await client.publishAsync(
      "measurement/measurements/create",
      JSON.stringify({ type: "c8y_T", time: "2025-01-01T00:00:00Z", c8y_T: { T: { value: 20, unit: "C" } } }),
      { qos: 1 },
    );
    const bad = await client.publishAsync("alarm/alarms/create", JSON.stringify({ type: "x" }), { qos: 1 });
    await waitUntil(() => on(received, "error").length === 1, WAIT, "the JSON error");
    expect(JSON.parse(on(received, "error")[0] ?? "")).toEqual({
      error: "undefined/validationError",
      message: "Following mandatory fields should be included: severity,text,time",
      messageId: bad?.messageId,
    });
    expect(typeof bad?.messageId).toBe("number");
    expect(client.connected).toBe(true);
    expect(listMeasurements(tenant.state(), "json-1")).toMatchObject([
      { type: "c8y_T", fragments: { c8y_T: { T: { value: 20, unit: "C" } } } },
    ]);
    expect(listErrors(tenant.state())).toMatchObject([{ channel: "error", code: 422, delivered: true }]);
  });

  it("jsonOperations: false refuses the notification subscription with 0x80", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS }, jsonOperations: false });
    const client = await fx.client(tenant.mqttUrl, AUTH);
    await client.publishAsync("s/us", "100", { qos: 1 });
    expect(await suback(client, [NOTIFICATIONS, "s/ds", "error"])).toEqual([0x80, 1, 1]);
    expect(tenant.state().config.jsonOperations).toBe(false);
  });
});
