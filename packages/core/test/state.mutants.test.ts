/**
 * The state module's own contract: which phases hold a connection and which are past the
 * SUBACK gate, what a fresh engine starts from, and what a snapshot shows (plain JSON, queues as
 * arrays) and hides (every password). (Written for mutation testing.)
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { decodeConfig } from "../src/engine/config.js";
import {
  gateOpen,
  initialState,
  isConnected,
  snapshotState,
  TIMER_KEYS,
  zeroCounters,
  type Phase,
} from "../src/engine/state.js";
import { Harness } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const credentials = { tenant: "t", user: "u", password: "p" };
const PHASES: readonly [Phase, connected: boolean, gate: boolean][] = [
  [{ name: "idle" }, false, false],
  [{ name: "waiting", reason: "x" }, false, false],
  [{ name: "connecting", as: "device" }, false, false],
  [{ name: "bootstrapping", subscribeRef: 1, subscribed: true }, true, false],
  [{ name: "storing-credentials", credentials }, true, false],
  [{ name: "subscribing", subscribeRef: 1, pending: [] }, true, false],
  [{ name: "online" }, true, true],
  [{ name: "stopping" }, true, true],
  [{ name: "stopped" }, false, false],
];

describe("phases", () => {
  it.each(PHASES)("%j: connected %s, gate open %s", (phase, connected, gate) => {
    expect(isConnected(phase)).toBe(connected);
    expect(gateOpen(phase)).toBe(gate);
  });
});

describe("a fresh engine", () => {
  it("starts idle, unconnected, with nothing queued, counted or armed", () => {
    const decoded = decodeConfig({ ...dev2Static, seed: 42 });
    if (E.isLeft(decoded)) throw new Error("config");
    const state = initialState(decoded.right);
    const snapshot = JSON.parse(JSON.stringify(snapshotState(state))) as Record<string, unknown>;
    const emptyClass = { count: 0, bytes: 0, queued: [] };
    const emptyOutbox = {
      "operation-status": emptyClass,
      alarm: emptyClass,
      event: emptyClass,
      inventory: emptyClass,
      measurement: emptyClass,
    };
    expect(state.config).toBe(decoded.right);
    expect({ ...snapshot, config: undefined }).toEqual({
      config: undefined,
      phase: { name: "idle" },
      connectionId: 0,
      nextRef: 1,
      rng: 42,
      timers: {},
      credentials: null,
      credentialRejects: 0,
      backoffAttempt: 0,
      outbox: emptyOutbox,
      session: {
        inflight: [],
        registrationRows: emptyOutbox,
        afterGateRows: emptyOutbox,
        settle: null,
        operationsById: false,
      },
      journal: { nextSeq: 1, entries: {} },
      inventoryAcked: {},
      recent: [],
      persistWaiters: {},
      persistedUpTo: 0,
      tombstones: [],
      finishedIds: {},
      cleanupGroups: [],
      probes: [],
      counters: zeroCounters,
    });
    expect(zeroCounters).toEqual({
      accepted: 0,
      rejected: 0,
      admitted: 0,
      delivered: 0,
      dropped: 0,
      droppedByReason: {},
      rejectedByReason: {},
      platformErrors: {},
      operationsReceived: 0,
      operationsDuplicate: 0,
      operationsStaticSkipped: 0,
      operationsFailed: 0,
      connects: 0,
      connectionLosses: 0,
      persistFailures: 0,
      invalidInputs: 0,
    });
  });

  it("knows every timer step.ts routes", () => {
    expect([...TIMER_KEYS].sort()).toEqual(
      [
        "bootstrap-poll",
        "connect-timeout",
        "persist-retry",
        "reconnect",
        "resubscribe",
        "settle",
        "stable",
        "stop-deadline",
        "token-refresh",
        "tombstones",
      ].sort(),
    );
  });
});

describe("a snapshot", () => {
  it("hides every password: configured, received and stored", () => {
    const h = new Harness({
      deviceId: "b1",
      auth: { mode: "bootstrap", bootstrapPassword: "bsecret" },
      seed: 3,
    });
    h.start();
    h.connack();
    h.suback();
    h.deliver("s/dcr", "70,t100,device_x,pwsecret");
    expect(h.state.phase.name).toBe("storing-credentials");
    const storing = snapshotState(h.state) as Record<string, unknown>;
    expect(storing["phase"]).toEqual({ name: "storing-credentials", tenant: "t100", user: "device_x" });
    expect((storing["config"] as Record<string, unknown>)["auth"]).toEqual({ mode: "bootstrap" });
    expect((storing["config"] as Record<string, unknown>)["deviceId"]).toBe("b1");
    expect(JSON.stringify(storing)).not.toMatch(/secret/);
    h.persistAll();
    expect(h.state.credentials?.password).toBe("pwsecret");
    const stored = snapshotState(h.state) as Record<string, unknown>;
    expect(stored["credentials"]).toEqual({ tenant: "t100", user: "device_x" });
    expect(stored["phase"]).toEqual(h.state.phase);
    expect(JSON.stringify(stored)).not.toMatch(/secret/);
  });

  it("shows queues, in-flight packets, journal and recent rows as plain JSON", () => {
    const h = new Harness({ ...dev2Static, settleMs: 0 });
    h.bringOnline();
    h.flush();
    h.deliver("s/ds", "510,dev2");
    h.send({ type: "submit", message: { template: "400", type: "t", text: "a" } });
    h.persistAll();
    h.drop();
    h.send({ type: "submit", message: { template: "400", type: "t", text: "bb" } });
    const snapshot = JSON.parse(JSON.stringify(snapshotState(h.state))) as {
      outbox: Record<string, { count: number; bytes: number; queued: { line: string }[] }>;
      session: { inflight: unknown[]; registrationRows: Record<string, { count: number }> };
      journal: { nextSeq: number; entries: Record<string, { fragment: string; raw: string[] }> };
      recent: { template: string }[];
    };
    expect(snapshot.outbox["event"]).toMatchObject({ count: 2, bytes: 15 });
    expect(snapshot.outbox["event"]?.queued.map((r) => r.line)).toEqual(["400,t,a", "400,t,bb"]);
    expect(snapshot.session.inflight).toEqual([]);
    expect(Object.keys(snapshot.session.registrationRows)).toHaveLength(5);
    expect(snapshot.journal.nextSeq).toBe(2);
    expect(Object.values(snapshot.journal.entries).map((e) => [e.fragment, e.raw])).toEqual([
      ["c8y_Restart", ["510", "dev2"]],
    ]);
    expect(snapshot.recent.map((r) => r.template)).toContain("400");
  });
});
