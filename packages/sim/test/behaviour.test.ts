/**
 * Platform behaviour on the wire, with raw MQTT.js clients: subscribe rules (spec §2.5),
 * processing modes (§2.4), availability (§9), the last will (§1.9), the ClientId's default
 * collection and INVENTORY templates (§1.3, §6), admin acknowledge/clear and forced CONNACKs,
 * and the rate limit option (§1.11).
 */
import { afterEach, describe, expect, it } from "vitest";
import mqtt, { type MqttClient } from "mqtt";
import { findDevice, listAlarms, listEvents, listMeasurements } from "@c8ylink/platform";
import { Fixture, http, waitUntil, connackCode } from "./support.js";

const USERS = [
  { username: "device_dev-1", password: "pw-1" },
  { username: "device_dev-2", password: "pw-2" },
];
const AUTH = { clientId: "d:dev-1", username: "t100/device_dev-1", password: "pw-1" };

const collect = (client: MqttClient): string[] => {
  const got: string[] = [];
  client.on("message", (topic, payload) => got.push(`${topic} ${payload.toString("utf8")}`));
  return got;
};

/** Granted codes of one SUBSCRIBE as the SUBACK carries them. */
const suback = (client: MqttClient, topics: readonly string[]): Promise<readonly number[]> =>
  new Promise((resolve) => {
    const onPacket = (packet: mqtt.Packet) => {
      if (packet.cmd !== "suback") return;
      client.off("packetreceive", onPacket);
      resolve(packet.granted as number[]);
    };
    client.on("packetreceive", onPacket);
    client.subscribe(Object.fromEntries(topics.map((t) => [t, { qos: 1 as const }])), () => {});
  });

describe("platform behaviour on the wire", () => {
  const fx = new Fixture();
  afterEach(() => fx.cleanup());

  it("refuses subscriptions until the device exists, then grants them and marks it CONNECTED", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS } });
    const client = await fx.client(tenant.mqttUrl, AUTH);
    expect(await suback(client, ["s/ds", "s/e"])).toEqual([0x80, 0x80]);
    await client.publishAsync("s/us", "100", { qos: 1 });
    expect(await suback(client, ["s/ds", "s/e"])).toEqual([1, 1]);
    expect(findDevice(tenant.state(), "dev-1")?.fragments["c8y_Connection"]).toEqual({ status: "CONNECTED" });
    await client.endAsync();
    await waitUntil(
      () =>
        JSON.stringify(findDevice(tenant.state(), "dev-1")?.fragments["c8y_Connection"]) ===
        '{"status":"DISCONNECTED"}',
      5_000,
      "DISCONNECTED",
    );
  });

  it("stores s/ and q/ data, not t/; CEP keeps alarms only", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS } });
    const client = await fx.client(tenant.mqttUrl, AUTH);
    await client.publishAsync("s/us", "100", { qos: 1 });
    for (const prefix of ["s", "t", "q", "c"])
      await client.publishAsync(`${prefix}/us`, `211,20\n400,e_${prefix},x\n301,a_${prefix},y`, { qos: 1 });
    const state = tenant.state();
    expect(listMeasurements(state).map((m) => m.mode)).toEqual(["persistent", "quiescent"]);
    expect(listEvents(state).map((e) => e.type)).toEqual(["e_s", "e_q"]);
    expect(listAlarms(state).map((a) => a.type)).toEqual(["a_s", "a_q", "a_c"]);
  });

  it("117 + silence → UNAVAILABLE with c8y_UnavailabilityAlarm; the next message clears it", async () => {
    let offset = 0;
    const { tenant } = await fx.tenant({
      platform: { users: USERS },
      clock: () => Date.now() + offset,
      availabilityTickMs: false,
    });
    const client = await fx.client(tenant.mqttUrl, AUTH);
    await client.publishAsync("s/us", "100\n117,1\n125", { qos: 1 });
    offset = 61_000;
    tenant.tick();
    const device = () => findDevice(tenant.state(), "dev-1");
    expect(device()?.fragments["c8y_Availability"]).toMatchObject({ status: "UNAVAILABLE" });
    const alarms = await http(tenant, "GET", "/alarms?device=dev-1");
    expect(alarms.body).toMatchObject([{ type: "c8y_UnavailabilityAlarm", status: "ACTIVE" }]);
    await client.publishAsync("s/us", "211,20", { qos: 1 });
    expect(device()?.fragments["c8y_Availability"]).toMatchObject({ status: "AVAILABLE" });
    expect(listAlarms(tenant.state(), "dev-1")).toMatchObject([{ status: "CLEARED" }]);
  });

  it("the periodic tick runs by itself", async () => {
    let offset = 0;
    const { tenant } = await fx.tenant({
      platform: { users: USERS },
      clock: () => Date.now() + offset,
      availabilityTickMs: 20,
    });
    const client = await fx.client(tenant.mqttUrl, AUTH);
    await client.publishAsync("s/us", "100\n117,1", { qos: 1 });
    offset = 120_000;
    await waitUntil(
      () => listAlarms(tenant.state(), "dev-1").some((a) => a.type === "c8y_UnavailabilityAlarm"),
      5_000,
      "the unavailability alarm",
    );
  });

  it("publishes the will on a lost connection, not on a clean DISCONNECT", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS } });
    const will = {
      topic: "s/us",
      payload: Buffer.from('400,c8y_ConnectionEvent,"Device connection was lost."'),
      qos: 1 as const,
      retain: false,
    };
    const clean = await fx.client(tenant.mqttUrl, { ...AUTH, will });
    await clean.publishAsync("s/us", "100", { qos: 1 });
    await clean.endAsync();
    const lossy = await fx.client(tenant.mqttUrl, { ...AUTH, will });
    await lossy.publishAsync("s/us", "211,1", { qos: 1 });
    lossy.stream.destroy(); // the network goes away: no DISCONNECT packet
    await waitUntil(() => listEvents(tenant.state(), "dev-1").length === 1, 5_000, "the will's event");
    expect(listEvents(tenant.state(), "dev-1")).toMatchObject([
      { type: "c8y_ConnectionEvent", text: "Device connection was lost." },
    ]);
  });

  it("s/ud and s/dd use the ClientId's default collection; INVENTORY GET answers on it", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS } });
    const client = await fx.client(tenant.mqttUrl, { ...AUTH, clientId: "d:dev-1:myXid" });
    const got = collect(client);
    await client.publishAsync("s/us", "100,My device,c8y_Thing", { qos: 1 });
    expect(await suback(client, ["s/dd", "s/e"])).toEqual([1, 1]);
    await client.publishAsync(
      "s/ut/myXid",
      "10,999,GET,INVENTORY,,false,c8y_Serial\n11,888,,c8y_IsDevice,name,type",
      { qos: 1 },
    );
    await client.publishAsync("s/ud", "999,dev-1", { qos: 1 });
    await waitUntil(() => got.length === 1, 5_000, "the answer on s/dd");
    expect(got).toEqual(["s/dd 888,My device,c8y_Thing"]);
  });

  it("acknowledges and clears alarms over HTTP; refuses the next CONNECT once with 3 or 5", async () => {
    const { tenant } = await fx.tenant({ platform: { users: USERS } });
    const client = await fx.client(tenant.mqttUrl, AUTH);
    await client.publishAsync("s/us", "100\n301,c8y_Overheat,hot", { qos: 1 });
    const id = listAlarms(tenant.state())[0]?.id ?? "";
    const ack = await http(tenant, "POST", `/alarms/${id}/acknowledge`);
    expect(ack).toMatchObject({ status: 200, body: { status: "ACKNOWLEDGED" } });
    expect((await http(tenant, "POST", `/alarms/${id}/acknowledge`)).status).toBe(409);
    expect(await http(tenant, "POST", `/alarms/${id}/clear`)).toMatchObject({
      status: 200,
      body: { status: "CLEARED" },
    });
    expect((await http(tenant, "POST", "/alarms/424242/clear")).status).toBe(404);

    expect((await http(tenant, "POST", "/devices/dev-1/refuse-next-connect", { code: 3 })).status).toBe(200);
    expect(await connackCode(tenant.mqttUrl, AUTH)).toBe(3);
    expect(await connackCode(tenant.mqttUrl, AUTH)).toBe(0);
    await http(tenant, "POST", "/devices/dev-1/refuse-next-connect", { code: 5 });
    expect(await connackCode(tenant.mqttUrl, AUTH)).toBe(5);
    expect((await http(tenant, "POST", "/devices/dev-1/refuse-next-connect", { code: 4 })).status).toBe(400);
  });

  it("with a rate limit, a burst beyond limit + queue closes the connection", async () => {
    const { tenant } = await fx.tenant({
      platform: { users: USERS, rateLimit: { perSecond: 2, queue: 2 } },
      clock: () => 1_000_500, // one frozen second: every publish falls into it
      availabilityTickMs: false,
    });
    const client = await fx.client(tenant.mqttUrl, AUTH);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    for (let i = 0; i < 5; i++) client.publish("s/us", "211,1", { qos: 0 });
    await closed;
    expect(listMeasurements(tenant.state())).toHaveLength(4);
    expect(tenant.state().connectionLog.at(-1)).toMatchObject({
      event: "dropped",
      reason: expect.stringMatching(/^rate limit exceeded/),
    });
  });
});
