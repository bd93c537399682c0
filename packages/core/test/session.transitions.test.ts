/**
 * The connection and its session (engine/lifecycle/session.ts), one transition at a time,
 * observed through `step`: what a CONNECT carries and how long it may take, what ending a
 * connection cancels and counts in each phase, the SUBACK gate (a refused `s/dcr`, a partial
 * refusal retried alone, the JSON topic refused beside a granted `s/ds` meaning "id-less
 * operations for this session"), and the timers that belong to a session.
 */
import { describe, expect, it } from "vitest";
import { Harness, commandsOf } from "./support/harness.js";

const JSON_TOPIC = "devicecontrol/notifications";
const password = {
  deviceId: "dev3",
  auth: { mode: "password", tenant: "t3", user: "device_dev3", password: "pw3" },
  supportedOperations: ["c8y_Command"],
  seed: 11,
  keepAliveSeconds: 45,
  connectTimeoutMs: 7_000,
  backoff: { floorMs: 1_000, capMs: 60_000, stableMs: 90_000 },
};
const bootstrap = {
  deviceId: "dev4",
  auth: { mode: "bootstrap", bootstrapPassword: "bs" },
  seed: 5,
};

const lost = (h: Harness) => h.reports().filter((r) => r.kind === "connection-lost");
const refusedReports = (h: Harness) => h.reports().filter((r) => r.kind === "subscription-refused");

describe("connecting", () => {
  it("sends the device identity, the keep-alive, a clean session and the CONNACK deadline, and counts the attempt", () => {
    const h = new Harness(password);
    const out = h.start();
    expect(commandsOf(out, "connect")).toEqual([
      {
        type: "connect",
        connectionId: 1,
        clientId: "d:dev3",
        username: "t3/device_dev3",
        password: "pw3",
        keepAliveSeconds: 45,
        cleanSession: true,
        timeoutMs: 7_000,
      },
    ]);
    expect(h.timers.get("connect-timeout")).toBe(7_000);
    expect(h.state.counters.connects).toBe(1);
    expect(h.state.phase).toMatchObject({ name: "connecting", as: "device" });
  });

  it("gives up on an attempt without CONNACK at exactly connectTimeoutMs, and the next attempt is a new connection", () => {
    const h = new Harness(password);
    h.start();
    expect(commandsOf(h.advance(6_999), "disconnect")).toEqual([]);
    const out = h.advance(1);
    expect(commandsOf(out, "disconnect")).toEqual([{ type: "disconnect", connectionId: 1 }]);
    expect(lost(h)).toEqual([
      { kind: "connection-lost", cause: "no CONNACK within 7000 ms", retryInMs: expect.any(Number) },
    ]);
    expect(h.state.counters.connectionLosses).toBe(0); // it never was connected
    const retry = h.advance(h.timers.get("reconnect")! - h.now);
    expect(commandsOf(retry, "connect").map((c) => c.connectionId)).toEqual([2]);
    expect(h.state.counters.connects).toBe(2);
  });

  it("a CONNACK cancels the deadline and starts the stable clock; a second CONNACK changes nothing", () => {
    const h = new Harness(password);
    h.start();
    h.advance(500);
    const out = h.connack();
    expect(commandsOf(out, "timer-cancel").map((t) => t.key)).toContain("connect-timeout");
    expect(h.timers.has("connect-timeout")).toBe(false);
    expect(h.timers.get("stable")).toBe(500 + 90_000);
    expect(commandsOf(out, "subscribe")).toHaveLength(1);
    const again = h.send({ type: "connected", connectionId: h.connectionId });
    expect(again).toEqual([]);
  });

  it("a bootstrap device with stored credentials connects with them as the device", () => {
    const h = new Harness(bootstrap);
    const [connect] = commandsOf(
      h.start({ credentials: { tenant: "t9", user: "device_dev4", password: "s" } }),
      "connect",
    );
    expect(connect).toMatchObject({ clientId: "d:dev4", username: "t9/device_dev4", password: "s" });
    expect(h.state.phase).toMatchObject({ name: "connecting", as: "device" });
  });
  it("a CONNACK as the device forgets earlier refusals of the stored credentials", () => {
    const h = new Harness({ ...bootstrap, credentialRejectLimit: 2 });
    h.start({ credentials: { tenant: "t9", user: "device_dev4", password: "s" } });
    h.connack(4);
    h.advance(h.timers.get("reconnect")! - h.now);
    h.connack();
    h.drop();
    h.advance(h.timers.get("reconnect")! - h.now);
    h.connack(4); // the first refusal since the last good CONNACK: kept
    expect(h.reports().filter((r) => r.kind === "credentials-discarded")).toEqual([]);
    expect(h.state.credentials).not.toBeNull();
    h.advance(h.timers.get("reconnect")! - h.now);
    h.connack(4);
    expect(h.reports().filter((r) => r.kind === "credentials-discarded")).toHaveLength(1);
  });
});

describe("the bootstrap subscription", () => {
  it.each([[[0x80]], [[]]])(
    "refused (granted %j): reported, disconnected, retried later as bootstrap",
    (granted) => {
      const h = new Harness(bootstrap);
      h.start();
      h.connack();
      const out = h.suback(granted);
      expect(refusedReports(h)).toEqual([{ kind: "subscription-refused", topics: ["s/dcr"], retryInMs: 0 }]);
      expect(commandsOf(out, "disconnect")).toEqual([{ type: "disconnect", connectionId: 1 }]);
      expect(lost(h)).toEqual([
        { kind: "connection-lost", cause: "SUBSCRIBE s/dcr refused", retryInMs: expect.any(Number) },
      ]);
      expect(commandsOf(out, "publish")).toEqual([]); // no s/ucr poll
      expect(h.state.phase.name).toBe("waiting");
      const retry = h.advance(h.timers.get("reconnect")! - h.now);
      expect(commandsOf(retry, "connect")[0]).toMatchObject({ clientId: "dev4" });
    },
  );

  it("a SUBACK for another SUBSCRIBE is not taken as the grant", () => {
    const h = new Harness(bootstrap);
    h.start();
    h.connack();
    const sub = h.pendingSubscribes[0]!;
    const out = h.send({
      type: "subscribed",
      connectionId: sub.connectionId,
      ref: sub.ref + 1,
      granted: [0],
    });
    expect(out).toEqual([]);
    expect(h.state.phase).toMatchObject({ name: "bootstrapping", subscribed: false });
  });
});

describe("the SUBACK gate of a device session", () => {
  it("asks for s/ds, the JSON topic and custom templates at QoS 1, s/e at QoS 0, and s/e only when wanted", () => {
    const h = new Harness({ ...password, customTemplates: ["tplA"] });
    h.start();
    expect(commandsOf(h.connack(), "subscribe")[0]?.topics).toEqual([
      { topic: "s/ds", qos: 1 },
      { topic: JSON_TOPIC, qos: 1 },
      { topic: "s/e", qos: 0 },
      { topic: "s/dc/tplA", qos: 1 },
    ]);
    const quiet = new Harness({ ...password, subscribeErrors: false });
    quiet.start();
    expect(commandsOf(quiet.connack(), "subscribe")[0]?.topics.map((t) => t.topic)).toEqual([
      "s/ds",
      JSON_TOPIC,
    ]);
  });

  it("retries only the refused topics (a missing grant counts as refused), after the backoff, with a new SUBSCRIBE", () => {
    const h = new Harness({ ...password, customTemplates: ["tplA"] });
    h.start();
    h.connack();
    const refused = h.suback([1, 1]); // s/e and s/dc/tplA have no grant
    const delay = h.timers.get("resubscribe")! - h.now;
    expect(refusedReports(h)).toEqual([
      { kind: "subscription-refused", topics: ["s/e", "s/dc/tplA"], retryInMs: delay },
    ]);
    expect(commandsOf(refused, "subscribe")).toEqual([]);
    expect(h.state.phase.name).toBe("subscribing");
    expect(commandsOf(h.advance(delay - 1), "subscribe")).toEqual([]);
    const retry = commandsOf(h.advance(1), "subscribe");
    expect(retry.map((s) => s.topics)).toEqual([
      [
        { topic: "s/e", qos: 0 },
        { topic: "s/dc/tplA", qos: 1 },
      ],
    ]);
    // Refused again: the topics stay pending and the wait grows.
    h.suback([0x80, 1]);
    expect(refusedReports(h).at(-1)).toMatchObject({ topics: ["s/e"] });
    const second = h.timers.get("resubscribe")! - h.now;
    expect(second).toBeGreaterThanOrEqual(delay);
    h.advance(second);
    h.suback();
    expect(h.state.phase.name).toBe("online");
    expect(h.timers.has("resubscribe")).toBe(false);
  });

  it("the JSON topic refused beside a granted s/ds: id-less operations for this session, online at once", () => {
    const h = new Harness(password);
    h.start();
    h.connack();
    h.suback([1, 0x80, 0]);
    expect(h.state.phase.name).toBe("online");
    expect(h.reports().filter((r) => r.kind === "operations-mode")).toEqual([
      {
        kind: "operations-mode",
        mode: "static",
        reason: `the platform refused the ${JSON_TOPIC} subscription: operations without ids (s/ds) for this session`,
      },
    ]);
    expect(refusedReports(h)).toEqual([]);
    expect(h.timers.has("settle")).toBe(false); // settling starts once the 500 is acknowledged
    h.ackAll();
    expect(h.timers.has("settle")).toBe(true);
  });

  it("everything refused (the device may not exist yet): all of it asked again, the operations mode kept", () => {
    const h = new Harness(password);
    h.start();
    h.connack();
    h.suback([0x80, 0x80, 0x80]);
    expect(h.reports().filter((r) => r.kind === "operations-mode")).toEqual([]);
    expect(h.state.session.operationsById).toBe(true);
    expect(refusedReports(h)).toEqual([
      { kind: "subscription-refused", topics: ["s/ds", JSON_TOPIC, "s/e"], retryInMs: expect.any(Number) },
    ]);
    const retry = commandsOf(h.advance(h.timers.get("resubscribe")! - h.now), "subscribe");
    expect(retry[0]?.topics.map((t) => t.topic)).toEqual(["s/ds", JSON_TOPIC, "s/e"]);
  });

  it("s/ds refused with the JSON topic granted is no reason for id-less operations", () => {
    const h = new Harness(password);
    h.start();
    h.connack();
    h.suback([0x80, 1, 0]);
    expect(h.state.session.operationsById).toBe(true);
    expect(refusedReports(h).at(-1)).toMatchObject({ topics: ["s/ds"] });
  });

  it("a by-id session with nothing id-less to settle starts its operations without settling", () => {
    const h = new Harness(password);
    h.start();
    h.connack();
    h.suback();
    h.ackAll();
    expect(h.timers.has("settle")).toBe(false);
    const statics = new Harness({ ...password, operations: "static" });
    statics.start();
    statics.connack();
    statics.suback();
    statics.ackAll();
    expect(statics.timers.has("settle")).toBe(true);
  });

  it("a session that reached online starts the backoff again at the floor", () => {
    const h = new Harness({ ...password, backoff: { floorMs: 1_000, capMs: 60_000, stableMs: 1_000_000 } });
    h.start();
    for (let i = 0; i < 4; i++) {
      h.connack(3);
      h.advance(h.timers.get("reconnect")! - h.now);
    }
    h.connack();
    h.suback();
    h.drop();
    // Attempt 0 again: exactly the floor (the jitter range of attempt 0 is [floor, floor]).
    expect(h.timers.get("reconnect")! - h.now).toBe(1_000);
  });
});

describe("losing the connection", () => {
  it("while online: counted once, every session timer cancelled, waiting for the backoff", () => {
    const h = new Harness({ ...password, auth: { mode: "certificate" } });
    h.start();
    h.connack();
    h.suback();
    h.ackAll();
    h.deliver("s/dat", `71,${jwt(1_000, 4_600)}`);
    expect(h.timers.has("token-refresh")).toBe(true);
    expect(h.timers.has("stable")).toBe(true);
    h.drop("reset by peer");
    expect(h.state.counters.connectionLosses).toBe(1);
    expect(h.timers.has("stable")).toBe(false);
    expect(h.timers.has("token-refresh")).toBe(false);
    expect(h.state.phase).toMatchObject({ name: "waiting", reason: "reset by peer" });
    expect(lost(h).at(-1)).toMatchObject({ cause: "reset by peer" });
  });

  it("while subscribing with a refused topic: counted, the resubscribe timer cancelled", () => {
    const h = new Harness(password);
    h.start();
    h.connack();
    h.suback([1, 1, 0x80]);
    expect(h.timers.has("resubscribe")).toBe(true);
    h.drop();
    expect(h.state.counters.connectionLosses).toBe(1);
    expect(h.timers.has("resubscribe")).toBe(false);
    expect(h.timers.has("reconnect")).toBe(true);
  });

  it("while polling for bootstrap credentials: the poll stops, the retry is again as bootstrap", () => {
    const h = new Harness(bootstrap);
    h.start();
    h.connack();
    h.suback();
    expect(h.timers.has("bootstrap-poll")).toBe(true);
    h.drop();
    expect(h.timers.has("bootstrap-poll")).toBe(false);
    const retry = h.advance(h.timers.get("reconnect")! - h.now);
    expect(commandsOf(retry, "connect")[0]).toMatchObject({ clientId: "dev4" });
    h.connack(4);
    expect(h.reports().find((r) => r.kind === "connect-refused")).toMatchObject({
      meaning: expect.stringContaining("check the bootstrap user"),
    });
  });

  it("while storing fresh credentials: no reconnect until they are durable", () => {
    const h = new Harness(bootstrap);
    h.start();
    h.connack();
    h.suback();
    h.deliver("s/dcr", "70,t1,device_dev4,pw");
    h.drop();
    expect(h.state.phase.name).toBe("storing-credentials");
    expect(h.timers.has("reconnect")).toBe(false);
    expect(lost(h)).toEqual([]);
    const durable = h.persistAll();
    expect(commandsOf(durable, "connect")[0]).toMatchObject({ username: "t1/device_dev4" });
  });

  it("while stopping: the engine stops", () => {
    const h = new Harness(password);
    h.bringOnline();
    h.send({ type: "submit", message: { template: "400", type: "t", text: "x" } });
    h.send({ type: "stop" });
    expect(h.state.phase.name).toBe("stopping");
    h.drop();
    expect(h.state.phase.name).toBe("stopped");
    expect(h.timers.has("reconnect")).toBe(false);
  });

  it("a loss reported while already waiting changes nothing", () => {
    const h = new Harness(password);
    h.start();
    h.connack(3);
    const timers = { ...h.state.timers };
    const out = h.drop();
    expect(out).toEqual([]);
    expect(h.state.timers).toEqual(timers);
    expect(h.state.phase.name).toBe("waiting");
  });
});

const jwt = (iat: number, exp: number): string => {
  const b64 = (o: object) => btoa(JSON.stringify(o)).replace(/=+$/, "");
  return `${b64({ alg: "none" })}.${b64({ iat, exp })}.sig`;
};
