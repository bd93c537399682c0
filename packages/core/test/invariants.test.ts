/**
 * The invariants can fail: each named violation fires on a hand-made bad step, and a real
 * step of the engine passes them all.
 */
import { describe, expect, it } from "vitest";
import {
  addInflight,
  emptyInflight,
  checkStep,
  createInvariantChecker,
  type Command,
  type EngineState,
  type Event,
  type EventInput,
  type InvariantName,
  emptyJournal,
  putEntry,
} from "@c8ylink/core";
import { Harness } from "./support/harness.js";

const config = {
  deviceId: "dev",
  auth: { mode: "password", tenant: "t1", user: "device_dev", password: "pw" },
  supportedOperations: ["c8y_Restart", "c8y_Command"],
  inflightWindow: 2,
  outbox: { measurement: { maxMessages: 2 } },
  backoff: { floorMs: 1000, capMs: 30_000, stableMs: 20_000, configErrorDelayMs: 60_000 },
};

interface Step {
  readonly before: EngineState;
  readonly event: Event;
  readonly after: EngineState;
  readonly commands: readonly Command[];
}

/** A real step of an online engine: one accepted measurement, published at once. */
const goodStep = (): Step => {
  const h = new Harness(config);
  h.bringOnline();
  let seen: Step | undefined;
  h.observers.push((event, commands, before, after) => {
    seen = { before, event, after, commands };
  });
  h.send({
    type: "submit",
    message: { template: "200", fragment: "c8y_T", series: "T", value: 1, unit: "C" },
  });
  if (seen === undefined) throw new Error("no step observed");
  return seen;
};

const names = (s: Step): InvariantName[] =>
  checkStep(s.before, s.event, s.after, s.commands).map((v) => v.invariant);

const publish = (topic: string, payload: string, connectionId = 1): Command => ({
  type: "publish",
  connectionId,
  ref: 9999,
  topic,
  payload,
  qos: 1,
});

describe("checkStep", () => {
  it("passes a real step of the engine", () => {
    const s = goodStep();
    expect(s.commands.some((c) => c.type === "publish")).toBe(true);
    expect(names(s)).toEqual([]);
  });

  it("size-law: a publish over 16,184 bytes", () => {
    const s = goodStep();
    expect(names({ ...s, commands: [...s.commands, publish("s/us", `200,${"x".repeat(16_200)}`)] })).toEqual([
      "size-law",
    ]);
  });

  it("inflight-window: more publishes in flight than the window", () => {
    const s = goodStep();
    const inflight = [1001, 1002, 1003].reduce(
      (f, ref) => addInflight(f, { ref, source: "outbox", entries: [] }),
      emptyInflight(),
    );
    expect(names({ ...s, after: { ...s.after, session: { ...s.after.session, inflight } } })).toEqual([
      "inflight-window",
    ]);
  });

  it("class-bounds and outbox-accounting: an outbox class over its limit, or counting less than it queues", () => {
    const s = goodStep();
    const m = s.after.outbox.measurement;
    const over = { ...s.after, outbox: { ...s.after.outbox, measurement: { ...m, count: 3 } } };
    expect(names({ ...s, after: over })).toContain("class-bounds");
    const negative = { ...s.after, outbox: { ...s.after.outbox, measurement: { ...m, bytes: -1 } } };
    expect(names({ ...s, after: negative })).toContain("outbox-accounting");
  });

  it("conservation: a row admitted but neither delivered, dropped nor held", () => {
    const s = goodStep();
    const counters = { ...s.after.counters, admitted: s.after.counters.admitted + 1 };
    expect(names({ ...s, after: { ...s.after, counters } })).toEqual(["conservation"]);
  });

  it("drops-by-reason: reasons that do not add up to the drops", () => {
    const s = goodStep();
    const counters = { ...s.after.counters, droppedByReason: { "measurement-overflow": 1 } };
    expect(names({ ...s, after: { ...s.after, counters } })).toEqual(["drops-by-reason"]);
  });

  it("one-running-operation: two handed-out operations of one (device, fragment)", () => {
    const s = goodStep();
    const entry = (seq: number) => ({
      key: `op-${seq}`,
      seq,
      order: seq,
      deviceId: "dev",
      fragment: "c8y_Restart",
      raw: ["510", "dev"],
      operation: null,
      xid: null,
      operationId: null,
      json: null,
      failure: null,
      stage: "executing" as const,
      executingAcked: true,
      handedOut: true,
      persistRef: null,
      duplicates: 0,
    });
    const journal = putEntry(putEntry(emptyJournal, entry(1)), entry(2));
    expect(names({ ...s, after: { ...s.after, journal } })).toEqual(["one-running-operation"]);
  });

  it("reconnect-delay: a reconnect sooner than the backoff floor", () => {
    const s = goodStep();
    const atMs = s.event.nowMs + 10;
    const commands: Command[] = [...s.commands, { type: "timer-set", key: "reconnect", atMs }];
    const after = { ...s.after, timers: { ...s.after.timers, reconnect: atMs } };
    expect(names({ ...s, commands, after })).toEqual(["reconnect-delay"]);
  });

  it("timers-in-sync: a deadline in the state no command set", () => {
    const s = goodStep();
    const after = { ...s.after, timers: { ...s.after.timers, "stop-deadline": s.event.nowMs + 5 } };
    expect(names({ ...s, after })).toEqual(["timers-in-sync"]);
  });

  it("counters-monotone: a counter that goes down", () => {
    const s = goodStep();
    const before = {
      ...s.before,
      counters: { ...s.before.counters, connects: s.after.counters.connects + 1 },
    };
    expect(names({ ...s, before })).toEqual(["counters-monotone"]);
  });
});

describe("createInvariantChecker: the SUBACK gate", () => {
  const h = new Harness(config);
  const state = h.state;
  const at = (event: EventInput): Event => ({ ...event, nowMs: 0 }) as Event;
  const subscribe: Command = {
    type: "subscribe",
    connectionId: 1,
    ref: 5,
    topics: [
      { topic: "s/ds", qos: 1 },
      { topic: "s/e", qos: 0 },
    ],
  };
  const gateNames = (
    checker: ReturnType<typeof createInvariantChecker>,
    event: Event,
    commands: readonly Command[],
  ): InvariantName[] => checker.check(state, event, state, commands).map((v) => v.invariant);

  it("suback-gate: a data row before every subscription was granted", () => {
    const checker = createInvariantChecker();
    const connected = at({ type: "connected", connectionId: 1 });
    // 100/101 may go before the gate; a 200 may not.
    expect(gateNames(checker, connected, [subscribe, publish("s/us", "100,Pump,acme")])).toEqual([]);
    expect(gateNames(checker, connected, [publish("s/us", "200,c8y_T,T,1")])).toEqual(["suback-gate"]);
    // One topic refused: still closed.
    const partly = at({ type: "subscribed", connectionId: 1, ref: 5, granted: [1, 0x80] });
    expect(gateNames(checker, partly, [publish("s/us", "500")])).toEqual(["suback-gate"]);
  });

  it("opens once every topic asked for was granted, for that connection only", () => {
    const checker = createInvariantChecker();
    gateNames(checker, at({ type: "connected", connectionId: 1 }), [subscribe]);
    const granted = at({ type: "subscribed", connectionId: 1, ref: 5, granted: [1, 0] });
    expect(gateNames(checker, granted, [publish("s/us", "500")])).toEqual([]);
    // A stale SUBACK of another connection grants nothing.
    const stale = at({ type: "subscribed", connectionId: 2, ref: 5, granted: [1, 0] });
    expect(gateNames(checker, stale, [publish("s/us", "500", 2)])).toEqual(["suback-gate"]);
  });
});
