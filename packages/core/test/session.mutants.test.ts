/**
 * What the connection and session transitions (engine/lifecycle/session.ts) tell the operator and
 * leave in the state, stated exactly: the phase reports with their reasons (user-facing text),
 * the phase records (which SUBSCRIBE a SUBACK must answer, what is still pending), and the
 * bounds of a grant (any QoS below 0x80 is a grant).
 */
import { describe, expect, it } from "vitest";
import { Harness, commandsOf } from "./support/harness.js";

const password = {
  deviceId: "dev5",
  auth: { mode: "password", tenant: "t5", user: "device_dev5", password: "pw5" },
  supportedOperations: ["c8y_Command"],
  seed: 17,
  backoff: { floorMs: 1_000, capMs: 60_000, stableMs: 90_000 },
};
const bootstrap = { deviceId: "dev8", auth: { mode: "bootstrap", bootstrapPassword: "bs" }, seed: 19 };

const phases = (h: Harness) =>
  h.reports().flatMap((r) => (r.kind === "phase" ? [[r.from, r.to, r.reason] as const] : []));

describe("phase reports of a session", () => {
  it("a device identity: connecting → subscribing → online, each with its reason", () => {
    const h = new Harness(password);
    h.start();
    const before = phases(h).length;
    h.connack();
    h.suback();
    expect(phases(h).slice(before)).toEqual([
      ["connecting", "subscribing", "connected with device identity"],
      ["subscribing", "online", "every subscription granted"],
    ]);
  });

  it("a bootstrap identity: connecting → bootstrapping, and the s/dcr grant keeps the phase", () => {
    const h = new Harness(bootstrap);
    h.start();
    const before = phases(h).length;
    h.connack();
    expect(h.state.phase).toEqual({
      name: "bootstrapping",
      subscribeRef: h.pendingSubscribes[0]!.ref,
      subscribed: false,
    });
    h.suback();
    expect(phases(h).slice(before)).toEqual([["connecting", "bootstrapping", "connected as bootstrap user"]]);
    expect(h.state.phase).toMatchObject({ name: "bootstrapping", subscribed: true });
  });

  it("a refusal keeps the session subscribing, waiting for the timer with no SUBSCRIBE outstanding", () => {
    const h = new Harness(password);
    h.start();
    h.connack();
    h.suback([1, 1, 0x80]);
    // s/e alone refused: no reason to give up operations by id.
    expect(h.reports().filter((r) => r.kind === "operations-mode")).toEqual([]);
    expect(h.state.session.operationsById).toBe(true);
    expect(h.state.phase).toEqual({
      name: "subscribing",
      subscribeRef: -1,
      pending: [{ topic: "s/e", qos: 0 }],
    });
    const retry = h.advance(h.timers.get("resubscribe")! - h.now);
    const [sub] = commandsOf(retry, "subscribe");
    expect(h.state.phase).toEqual({
      name: "subscribing",
      subscribeRef: sub!.ref,
      pending: [{ topic: "s/e", qos: 0 }],
    });
  });
});

describe("the JSON topic refused beside a granted s/ds, with another topic refused", () => {
  it("goes id-less for the session and retries only the other topic", () => {
    const h = new Harness(password);
    h.start();
    h.connack();
    h.suback([1, 0x80, 0x80]);
    expect(h.state.session.operationsById).toBe(false);
    expect(h.state.phase).toEqual({
      name: "subscribing",
      subscribeRef: -1,
      pending: [{ topic: "s/e", qos: 0 }],
    });
    expect(h.reports().filter((r) => r.kind === "subscription-refused")).toEqual([
      { kind: "subscription-refused", topics: ["s/e"], retryInMs: h.timers.get("resubscribe")! - h.now },
    ]);
  });
});

describe("a certificate device", () => {
  it("connects as the device", () => {
    const h = new Harness({ deviceId: "cert5", auth: { mode: "certificate" }, seed: 2 });
    h.start();
    expect(h.state.phase).toEqual({ name: "connecting", as: "device" });
  });
});

describe("what counts as a grant", () => {
  it.each([[0], [1], [2]])("QoS %i on every topic is a grant: online", (qos) => {
    const h = new Harness(password);
    h.start();
    h.connack();
    h.suback([qos, qos, qos]);
    expect(h.state.phase.name).toBe("online");
  });

  it.each([[0], [1], [2]])("QoS %i on s/dcr is a grant: the credentials poll starts", (qos) => {
    const h = new Harness(bootstrap);
    h.start();
    h.connack();
    const out = h.suback([qos]);
    expect(commandsOf(out, "publish")).toMatchObject([{ topic: "s/ucr", payload: "" }]);
  });

  it("0x80 on s/dcr is a refusal", () => {
    const h = new Harness(bootstrap);
    h.start();
    h.connack();
    h.suback([0x80]);
    expect(h.state.phase.name).toBe("waiting");
  });
});

describe("the SUBACK of a device session", () => {
  it("for another SUBSCRIBE is ignored", () => {
    const h = new Harness(password);
    h.start();
    h.connack();
    const sub = h.pendingSubscribes[0]!;
    const out = h.send({
      type: "subscribed",
      connectionId: sub.connectionId,
      ref: sub.ref + 1,
      granted: [1, 1, 0],
    });
    expect(out).toEqual([]);
    expect(h.state.phase).toMatchObject({ name: "subscribing", subscribeRef: sub.ref });
  });

  it("that grants everything after a refusal brings the session online and starts the backoff again at attempt 0", () => {
    const h = new Harness(password);
    h.start();
    h.connack();
    h.suback([1, 1, 0x80]);
    expect(h.state.backoffAttempt).toBe(1);
    h.advance(h.timers.get("resubscribe")! - h.now);
    h.suback();
    expect(h.state.phase.name).toBe("online");
    expect(h.state.backoffAttempt).toBe(0);
  });
});
