/**
 * What a failed connection attempt tells the operator and how long it waits, observed through
 * `step` (written against the survivors of a mutation run of engine/lifecycle/backoff.ts):
 * every CONNACK code named with its meaning from MQTT 3.1.1 §3.2.2.3 and, for the
 * configuration errors (1, 2, 4), what to check for the credentials in use; configuration
 * errors back off no further than `configErrorDelayMs` but never below the floor; bootstrap
 * credentials are given up after exactly `credentialRejectLimit` CONNACK 4 in a row, and only
 * those; every wait is a whole number of milliseconds within the specified range.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import type { Report } from "@c8ylink/core";
import { Harness, commandsOf } from "./support/harness.js";

const password = {
  deviceId: "dev9",
  auth: { mode: "password", tenant: "t9", user: "device_dev9", password: "pw" },
  operations: "static",
  seed: 3,
};
const bootstrap = {
  deviceId: "dev9",
  auth: { mode: "bootstrap", bootstrapPassword: "bs" },
  operations: "static",
  seed: 3,
};
const certificate = { deviceId: "dev9", auth: { mode: "certificate" }, operations: "static", seed: 3 };
const stored = { credentials: { tenant: "t9", user: "device_dev9", password: "old" } };

type Refused = Extract<Report, { kind: "connect-refused" }>;
const refusals = (h: Harness): Refused[] =>
  h.reports().filter((r): r is Refused => r.kind === "connect-refused");

/** Waits out the reconnect timer; returns the commands (the next CONNECT). */
const retry = (h: Harness) => h.advance(h.timers.get("reconnect")! - h.now);

/** The wait of the reconnect timer the last commands set. */
const waitOf = (h: Harness, commands: ReturnType<Harness["send"]>): number => {
  const timer = commandsOf(commands, "timer-set").find((t) => t.key === "reconnect");
  if (timer === undefined) throw new Error("no reconnect timer");
  return timer.atMs - h.now;
};

describe("a refused CONNECT is reported with its code's meaning", () => {
  it.each([
    [1, "unsupported protocol version"],
    [2, "client identifier rejected"],
    [3, "server unavailable"],
    [4, "bad user name or password"],
    [5, "not authorised"],
    [6, "unknown return code"],
    [0x80, "unknown return code"],
  ])("CONNACK %i: %s", (code, meaning) => {
    const h = new Harness(password);
    h.start();
    h.connack(code);
    const [report] = refusals(h);
    expect(report?.code).toBe(code);
    expect(report?.meaning.startsWith(`CONNACK ${code} (${meaning})`)).toBe(true);
    // The phase says why it waits, in the same words.
    expect(h.state.phase).toEqual({ name: "waiting", reason: `CONNACK ${code} (${meaning})` });
    expect(h.reports().find((r) => r.kind === "phase" && r.to === "waiting")).toMatchObject({
      reason: `CONNACK ${code} (${meaning})`,
    });
  });

  it("only configuration errors (1, 2, 4) add what to check: the others are the meaning alone", () => {
    for (const [code, meaning] of [
      [3, "server unavailable"],
      [5, "not authorised"],
      [6, "unknown return code"],
    ] as const) {
      const h = new Harness(password);
      h.start();
      h.connack(code);
      expect(refusals(h)[0]?.meaning).toBe(`CONNACK ${code} (${meaning})`);
    }
  });

  it.each([
    [password, {}, 1, "; check that the broker speaks MQTT 3.1.1"],
    [password, {}, 2, '; check the device id "dev9" (the ClientId d:<id>)'],
    [password, {}, 4, "; check the tenant, user and password of the device"],
    [
      certificate,
      {},
      4,
      "; check the device certificate (CN = device id) and that its CA is a trusted certificate of the tenant",
    ],
    [
      bootstrap,
      {},
      4,
      "; check the bootstrap user (management/devicebootstrap) and the bootstrap password your platform " +
        'operator gave you, and that "dev9" is registered in Device management → Registration',
    ],
    [bootstrap, stored, 4, "; check the tenant, user and password of the device"],
  ])("%# says what to check", (config, durable, code, hint) => {
    const h = new Harness(config);
    h.start(durable);
    h.connack(code);
    expect(refusals(h)[0]?.meaning.endsWith(hint)).toBe(true);
    expect(refusals(h)[0]?.meaning).toBe(
      `${h.state.phase.name === "waiting" ? h.state.phase.reason : ""}${hint}`,
    );
  });
});

describe("connection lost", () => {
  it("reports the network's message as the cause, and a request as a request", () => {
    const h = new Harness(password);
    h.bringOnline();
    const lost = h.drop("socket hang up");
    const report = h.reports().find((r) => r.kind === "connection-lost");
    expect(report).toEqual({ kind: "connection-lost", cause: "socket hang up", retryInMs: waitOf(h, lost) });
    expect(h.state.phase).toEqual({ name: "waiting", reason: "socket hang up" });

    const g = new Harness(password);
    g.bringOnline();
    g.send({ type: "disconnected", connectionId: g.connectionId, cause: { kind: "requested" } });
    expect(g.reports().find((r) => r.kind === "connection-lost")).toMatchObject({
      cause: "disconnected by request",
    });
  });
});

describe("configuration errors back off to configErrorDelayMs", () => {
  const waits = (config: object, code: number, count: number): number[] => {
    const h = new Harness(config);
    h.start();
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      out.push(waitOf(h, h.connack(code)));
      retry(h);
    }
    return out;
  };
  const backoff = { floorMs: 1_000, capMs: 600_000, configErrorDelayMs: 4_000 };

  it.each([1, 2, 4])("CONNACK %i: never beyond it", (code) => {
    const w = waits({ ...password, backoff }, code, 8);
    expect(Math.max(...w)).toBeLessThanOrEqual(4_000);
    expect(w.slice(3).every((d) => d >= 2_000)).toBe(true);
  });

  it.each([3, 5])("CONNACK %i is not a configuration error: it grows towards capMs", (code) => {
    const w = waits({ ...password, backoff }, code, 8);
    // Attempt 7's range is [64 s, 128 s].
    expect(w[7]).toBeGreaterThanOrEqual(64_000);
  });

  it("never below the floor, even when configErrorDelayMs is below it", () => {
    const w = waits(
      { ...password, backoff: { floorMs: 5_000, capMs: 600_000, configErrorDelayMs: 1_000 } },
      4,
      4,
    );
    expect(w).toEqual([5_000, 5_000, 5_000, 5_000]);
  });
});

describe("bootstrap credentials are given up after credentialRejectLimit CONNACK 4 in a row", () => {
  const refuse = (config: object, codes: number[]): Harness => {
    const h = new Harness(config);
    h.start(stored);
    for (const code of codes) {
      h.connack(code);
      retry(h);
    }
    return h;
  };
  const discarded = (h: Harness) => h.reports().filter((r) => r.kind === "credentials-discarded");

  it("not before the limit, exactly at it, and then the next CONNECT bootstraps", () => {
    const config = { ...bootstrap, credentialRejectLimit: 3 };
    const early = refuse(config, [4, 4]);
    expect(discarded(early)).toEqual([]);
    expect(early.state.credentials).not.toBeNull();
    expect(commandsOf(early.commands, "connect").at(-1)).toMatchObject({ username: "t9/device_dev9" });

    const h = new Harness(config);
    h.start(stored);
    h.connack(4);
    retry(h);
    h.connack(4);
    retry(h);
    const third = h.connack(4);
    expect(discarded(h)).toEqual([
      { kind: "credentials-discarded", reason: "refused 3 times with CONNACK 4; requesting new credentials" },
    ]);
    expect(commandsOf(third, "persist").flatMap((p) => p.changes)).toContainEqual({
      key: "credentials",
      value: null,
    });
    expect(h.state.credentials).toBeNull();
    // Still a configuration error: refused, with its hint and a wait no longer than configErrorDelayMs.
    expect(refusals(h).at(-1)?.meaning).toContain("check the tenant, user and password");
    expect(waitOf(h, third)).toBeLessThanOrEqual(60_000);
    expect(commandsOf(retry(h), "connect")).toMatchObject([{ username: "management/devicebootstrap" }]);
    // The count starts again for the next credentials.
    expect(h.state.credentialRejects).toBe(0);
  });

  it("counts only CONNACK 4, only with stored credentials of a bootstrap device", () => {
    expect(discarded(refuse({ ...bootstrap, credentialRejectLimit: 1 }, [5, 3, 2]))).toEqual([]);
    const withPassword = new Harness({ ...password, credentialRejectLimit: 1 });
    withPassword.start();
    withPassword.connack(4);
    expect(discarded(withPassword)).toEqual([]);
    expect(withPassword.state.credentialRejects).toBe(0);
    // A password device with credentials left in its state by an earlier bootstrap
    // configuration: it does not log in with them, so a CONNACK 4 says nothing about them.
    const leftover = new Harness({ ...password, credentialRejectLimit: 1 });
    leftover.start(stored);
    leftover.connack(4);
    expect(discarded(leftover)).toEqual([]);
    // Refused while bootstrapping (no stored credentials): nothing to give up.
    const bootstrapping = new Harness({ ...bootstrap, credentialRejectLimit: 1 });
    bootstrapping.start();
    bootstrapping.connack(4);
    expect(discarded(bootstrapping)).toEqual([]);
    expect(bootstrapping.state.credentialRejects).toBe(0);
  });

  it("counts each rejection once: the limit 2 needs two", () => {
    const h = refuse({ ...bootstrap, credentialRejectLimit: 2 }, [4]);
    expect(h.state.credentialRejects).toBe(1);
    expect(discarded(h)).toEqual([]);
  });
});

describe("every wait", () => {
  test.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1_000, max: 9_999 })], {
    numRuns: 30,
  })(
    "is a whole number of milliseconds in [max(floor, ceiling/2), ceiling], and jittered",
    (seed, floorMs) => {
      const h = new Harness({ ...password, seed, backoff: { floorMs, capMs: floorMs * 8 } });
      h.start();
      const waits: number[] = [];
      for (let n = 0; n < 6; n++) {
        const wait = waitOf(h, h.connack(3));
        const ceiling = Math.min(floorMs * 8, floorMs * 2 ** n);
        expect(Number.isInteger(wait), `attempt ${n}: ${wait}`).toBe(true);
        expect(wait).toBeGreaterThanOrEqual(Math.max(floorMs, Math.floor(ceiling / 2)));
        expect(wait).toBeLessThanOrEqual(ceiling);
        waits.push(wait);
        retry(h);
      }
      // Attempts 3–5 share the cap's range [4·floor, 8·floor]: equal jitter spreads them.
      expect(new Set(waits.slice(3)).size).toBeGreaterThan(1);
    },
  );
});
