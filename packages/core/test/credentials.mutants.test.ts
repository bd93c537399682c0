/**
 * Credentials and tokens (engine/lifecycle/credentials.ts), from their contract: the `s/ucr`
 * poll and its ±20 % jitter, the `s/dcr` line only while bootstrapping, the JWT refresh at half
 * its lifetime clamped to [1 min, 24 h], and the timers that fire only in their phase.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { Harness, commandsOf } from "./support/harness.js";
import { tokenRefreshDelay, type EngineState } from "../src/index.js";

const bootstrap = {
  deviceId: "dev1",
  auth: { mode: "bootstrap", bootstrapPassword: "bs-secret" },
  supportedOperations: ["c8y_Restart"],
  seed: 42,
  operations: "static",
};
const certificate = { deviceId: "cert1", auth: { mode: "certificate" }, operations: "static", seed: 5 };

const b64url = (o: unknown) =>
  btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
const jwt = (claims: unknown) => `${b64url({ alg: "none" })}.${b64url(claims)}.sig`;
const MINUTE = 60_000;
const DAY = 24 * 3_600_000;

/** A harness subscribed to `s/dcr`, the first `s/ucr` sent. */
const bootstrapping = (extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...bootstrap, ...extra });
  h.start();
  h.connack();
  h.suback();
  return h;
};

const online = (config: Record<string, unknown>): Harness => {
  const h = new Harness(config);
  h.start();
  h.connack();
  h.suback();
  h.ackAll();
  return h;
};

/** The engine state with one timer due now (a state `step` can meet after a reordered log). */
const withDueTimer = (h: Harness, key: string): EngineState => ({
  ...h.state,
  timers: { ...h.state.timers, [key]: h.now },
});

describe("tokenRefreshDelay", () => {
  it("is half the lifetime in ms", () => {
    expect(tokenRefreshDelay(jwt({ iat: 1_000, exp: 1_600 }))).toBe(300_000);
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 7_200 }))).toBe(3_600_000);
  });

  it("rounds half a millisecond to the nearest", () => {
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 200.001 }))).toBe(100_001);
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 200.0014 }))).toBe(100_001);
  });

  it("is at least one minute, exactly at the edge", () => {
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 120 }))).toBe(MINUTE);
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 119 }))).toBe(MINUTE);
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 122 }))).toBe(61_000);
    expect(tokenRefreshDelay(jwt({ iat: 10, exp: 11 }))).toBe(MINUTE);
  });

  it("is at most 24 hours, exactly at the edge, also for a lifetime that overflows", () => {
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 172_800 }))).toBe(DAY);
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 172_798 }))).toBe(DAY - 1_000);
    expect(tokenRefreshDelay(jwt({ iat: 0, exp: 172_802 }))).toBe(DAY);
    expect(tokenRefreshDelay(jwt({ iat: -1e308, exp: 1e308 }))).toBe(DAY);
    // JSON's 1e999 is Infinity: still a finite timer.
    expect(tokenRefreshDelay(`x.${btoa('{"iat":0,"exp":1e999}')}.y`)).toBe(DAY);
  });

  it("falls back to 30 minutes when the token does not say", () => {
    const fallback = 30 * MINUTE;
    for (const token of [
      "no-dots-at-all",
      "",
      "x.!!!not-base64!!!.y",
      `x.${b64url("a string")}.y`,
      `x.${b64url(42)}.y`,
      `x.${b64url(null)}.y`,
      `x.${b64url([600, 0])}.y`,
      jwt({ iat: 0 }),
      jwt({ exp: 600 }),
      jwt({ iat: "0", exp: 600 }),
      jwt({ iat: 0, exp: "600" }),
      jwt({ iat: 600, exp: 600 }),
      jwt({ iat: 601, exp: 600 }),
      jwt({ iat: null, exp: 600 }),
    ]) {
      expect([token, tokenRefreshDelay(token)]).toEqual([token, fallback]);
    }
  });

  it("reads base64url claims (with - and _) and ignores the signature part", () => {
    // Chosen so that the standard encoding has both "+" and "/".
    const claims = { iat: 0, exp: 600, pad: "?>?>>>~~~" };
    const standard = btoa(JSON.stringify(claims));
    expect(standard).toMatch(/\+/);
    expect(standard).toMatch(/\//);
    expect(tokenRefreshDelay(jwt(claims))).toBe(300_000);
    expect(tokenRefreshDelay(`${b64url({ iat: 0, exp: 9_999 })}.${b64url(claims)}`)).toBe(300_000);
  });

  test.prop([fc.integer({ min: 0, max: 2e9 }), fc.integer({ min: 1, max: 400_000 })])(
    "is half the lifetime clamped to [1 min, 24 h] for any whole-second claims",
    (iat, lifetime) => {
      const expected = Math.min(DAY, Math.max(MINUTE, lifetime * 500));
      expect(tokenRefreshDelay(jwt({ iat, exp: iat + lifetime }))).toBe(expected);
    },
  );
});

describe("the token on s/dat", () => {
  it("is reported with its delay and arms token-refresh, which asks on s/uat with an empty QoS 0 publish", () => {
    const h = online(certificate);
    h.now = 5_000;
    const token = jwt({ iat: 0, exp: 1_000 });
    const received = h.deliver("s/dat", `71,${token}`);
    expect(received).toEqual([
      { type: "report", report: { kind: "token", token, refreshInMs: 500_000 } },
      { type: "timer-set", key: "token-refresh", atMs: 505_000 },
    ]);
    const before = h.state.nextRef;
    const refresh = h.advance(500_000);
    expect(refresh).toEqual([
      { type: "publish", connectionId: h.connectionId, ref: before, topic: "s/uat", payload: "", qos: 0 },
    ]);
    expect(h.state.nextRef).toBe(before + 1);
  });

  it("a line that is no token is counted and reported as invalid input from s/dat, nothing armed", () => {
    const h = online(certificate);
    const invalid = h.state.counters.invalidInputs;
    const out = h.deliver("s/dat", "72,abc");
    expect(out).toEqual([
      {
        type: "report",
        report: { kind: "invalid-input", source: "s/dat", reason: expect.stringMatching(/\S/) },
      },
    ]);
    expect(h.state.counters.invalidInputs).toBe(invalid + 1);
    expect(h.state.timers["token-refresh"]).toBeUndefined();
  });

  it("token-refresh past the gate asks again (stopping too); before the gate it does nothing", () => {
    const h = online(certificate);
    const stopping = new Harness(certificate, withDueTimer(h, "token-refresh"));
    stopping.state = { ...stopping.state, phase: { name: "stopping" } };
    expect(commandsOf(stopping.send({ type: "timer-fired", key: "token-refresh" }), "publish")).toHaveLength(
      1,
    );

    const early = new Harness(certificate);
    early.start();
    early.connack(); // subscribing: the gate is closed
    const closed = new Harness(certificate, withDueTimer(early, "token-refresh"));
    expect(closed.send({ type: "timer-fired", key: "token-refresh" })).toEqual([]);
  });
});

describe("bootstrap: polling s/ucr", () => {
  it("polls with an empty QoS 0 publish, each next poll 0.8–1.2 × bootstrapPollMs later", () => {
    const h = bootstrapping({ bootstrapPollMs: 10_000 });
    const delays: number[] = [];
    for (let i = 0; i < 60; i++) {
      const at = h.timers.get("bootstrap-poll")!;
      delays.push(at - h.now);
      const before = h.state.nextRef;
      const out = h.advance(at - h.now);
      expect(out[0]).toEqual({
        type: "publish",
        connectionId: h.connectionId,
        ref: before,
        topic: "s/ucr",
        payload: "",
        qos: 0,
      });
      expect(out[1]).toMatchObject({ type: "timer-set", key: "bootstrap-poll" });
    }
    expect(delays.every((d) => Number.isInteger(d) && d >= 8_000 && d <= 12_000)).toBe(true);
    // Jittered over the whole range, not a fixed or one-sided delay.
    expect(Math.min(...delays)).toBeLessThan(9_000);
    expect(Math.max(...delays)).toBeGreaterThan(11_000);
  });

  it("the poll timer does nothing while not subscribed to s/dcr", () => {
    const h = new Harness(bootstrap);
    h.start();
    h.connack(); // bootstrapping, the SUBSCRIBE to s/dcr outstanding
    expect(h.state.phase).toMatchObject({ name: "bootstrapping", subscribed: false });
    const early = new Harness(bootstrap, withDueTimer(h, "bootstrap-poll"));
    expect(early.send({ type: "timer-fired", key: "bootstrap-poll" })).toEqual([]);
  });

  it("the poll timer does nothing once the credentials are being stored", () => {
    const h = bootstrapping();
    h.deliver("s/dcr", "70,t9,device_dev1,pw");
    expect(h.state.phase.name).toBe("storing-credentials");
    const later = new Harness(bootstrap, withDueTimer(h, "bootstrap-poll"));
    expect(later.send({ type: "timer-fired", key: "bootstrap-poll" })).toEqual([]);
  });
});

describe("bootstrap: credentials on s/dcr", () => {
  it("stops polling, reports tenant and user (not the password), stores them before anything else", () => {
    const h = bootstrapping();
    const out = h.deliver("s/dcr", "70,t42,device_dev1,n3w");
    expect(out).toEqual([
      { type: "timer-cancel", key: "bootstrap-poll" },
      { type: "report", report: { kind: "credentials-received", tenant: "t42", user: "device_dev1" } },
      {
        type: "report",
        report: {
          kind: "phase",
          from: "bootstrapping",
          to: "storing-credentials",
          reason: "credentials received",
        },
      },
      {
        type: "persist",
        ref: expect.any(Number),
        changes: [{ key: "credentials", value: { tenant: "t42", user: "device_dev1", password: "n3w" } }],
      },
    ]);
    expect(h.state.phase).toEqual({
      name: "storing-credentials",
      credentials: { tenant: "t42", user: "device_dev1", password: "n3w" },
    });
  });

  it("a malformed line is counted and reported as invalid input from s/dcr; polling goes on", () => {
    const h = bootstrapping();
    const out = h.deliver("s/dcr", "70,t42");
    expect(out).toEqual([
      {
        type: "report",
        report: { kind: "invalid-input", source: "s/dcr", reason: expect.stringMatching(/\S/) },
      },
    ]);
    expect(h.state.counters.invalidInputs).toBe(1);
    expect(h.state.phase).toMatchObject({ name: "bootstrapping" });
    expect(h.timers.has("bootstrap-poll")).toBe(true);
  });

  it("is ignored outside bootstrapping: a second line while storing changes nothing", () => {
    const h = bootstrapping();
    h.deliver("s/dcr", "70,t42,device_dev1,n3w");
    const invalid = h.state.counters.invalidInputs;
    expect(h.deliver("s/dcr", "70,t43,other,pw2")).toEqual([]);
    expect(h.deliver("s/dcr", "garbage")).toEqual([]);
    expect(h.state.counters.invalidInputs).toBe(invalid);
    expect(h.state.phase).toMatchObject({ credentials: { tenant: "t42" } });
  });
});
