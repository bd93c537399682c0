/**
 * Each law of invariants.ts at its exact edge: the bad step one unit past it is named with its
 * explanation, the step exactly at it passes. Packet sizes are counted by hand from the MQTT
 * 3.1.1 PUBLISH layout (not with the core's own size code), reconnect delays against the
 * configured floor and the larger of cap and configuration-error delay.
 */
import { describe, expect, it } from "vitest";
import type { Command } from "../src/engine/commands.js";
import type { Event, EventInput } from "../src/engine/events.js";
import {
  checkStep,
  createGateTracker,
  createInvariantChecker,
  formatViolations,
  isRegistrationOnly,
  type InvariantViolation,
} from "../src/engine/invariants.js";
import { addInflight, emptyInflight } from "../src/engine/inflight.js";
import { fromArray } from "../src/engine/queue.js";
import { emptyJournal, putEntry, type JournalEntry } from "../src/engine/journal.js";
import type { EngineState } from "../src/engine/state.js";
import { Harness } from "./support/harness.js";

const config = {
  deviceId: "dev",
  auth: { mode: "password", tenant: "t1", user: "device_dev", password: "pw" },
  supportedOperations: ["c8y_Restart", "c8y_Command"],
  inflightWindow: 2,
  outbox: { measurement: { maxMessages: 2, maxBytes: 5000 } },
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

const base = goodStep();
/** Timers by any key: the checker compares whatever keys the state holds. */
const T = (timers: Record<string, number | undefined>): EngineState["timers"] =>
  timers as EngineState["timers"];
const violations = (s: Partial<Step>): InvariantViolation[] => {
  const { before, event, after, commands } = { ...base, ...s };
  return checkStep(before, event, after, commands);
};

const publish = (topic: string, payload: string, qos: 0 | 1 = 1, connectionId = 1): Command => ({
  type: "publish",
  connectionId,
  ref: 9999,
  topic,
  payload,
  qos,
});

/**
 * MQTT 3.1.1 PUBLISH: 1 byte of fixed header, the remaining length as a varint (2 bytes for
 * 128..16,383), the topic with its 2-byte length, a 2-byte packet id at QoS 1, the payload.
 * For `s/us` at QoS 1: 1 + 2 + (2 + 4 + 2 + payload) = 11 + payload bytes.
 */
const S_US_QOS1_OVERHEAD = 11;
const S_US_QOS0_OVERHEAD = 9;

describe("size-law at 16,184 bytes", () => {
  it("passes a publish of exactly 16,184 bytes and names one of 16,185", () => {
    expect(base.commands.some((c) => c.type === "publish")).toBe(true);
    expect(violations({})).toEqual([]);
    const fits = `200,${"x".repeat(16_184 - S_US_QOS1_OVERHEAD - 4)}`;
    expect(violations({ commands: [publish("s/us", fits)] })).toEqual([]);
    const over = `${fits}y`;
    expect(violations({ commands: [publish("s/us", over)] })).toEqual([
      {
        invariant: "size-law",
        explanation: `publish of 16185 bytes on s/us exceeds 16184: ${over.slice(0, 80)}`,
      },
    ]);
  });

  it("counts QoS 0 without a packet id and the payload in UTF-8 bytes", () => {
    const fits0 = "x".repeat(16_184 - S_US_QOS0_OVERHEAD);
    expect(violations({ commands: [publish("s/us", fits0, 0)] })).toEqual([]);
    expect(violations({ commands: [publish("s/us", fits0, 1)] }).map((v) => v.invariant)).toEqual([
      "size-law",
    ]);
    // "é" is 2 bytes: 16,172 bytes of payload plus 11 = 16,183, one more "é" is 16,185.
    const twoByte = `${"é".repeat(8086)}`;
    expect(violations({ commands: [publish("s/us", twoByte)] })).toEqual([]);
    expect(violations({ commands: [publish("s/us", `${twoByte}é`)] }).map((v) => v.explanation)).toEqual([
      `publish of 16185 bytes on s/us exceeds 16184: ${"é".repeat(80)}`,
    ]);
  });

  it("judges every publish of the step, and only publishes", () => {
    const over = "x".repeat(16_200);
    const list = violations({
      commands: [publish("s/us", over), { type: "timer-cancel", key: over }, publish("s/uc/x", over)],
    });
    expect(list.map((v) => v.explanation.slice(0, 40))).toEqual([
      "publish of 16211 bytes on s/us exceeds 1",
      "publish of 16213 bytes on s/uc/x exceeds",
    ]);
  });
});

describe("inflight-window", () => {
  const withInflight = (n: number): EngineState => {
    const inflight = Array.from({ length: n }, (_, i) => 1001 + i).reduce(
      (f, ref) => addInflight(f, { ref, source: "outbox", entries: [] }),
      emptyInflight(),
    );
    return { ...base.after, session: { ...base.after.session, inflight } };
  };

  it("allows exactly the window and names one more", () => {
    expect(violations({ after: withInflight(2) })).toEqual([]);
    expect(violations({ after: withInflight(3) })).toEqual([
      { invariant: "inflight-window", explanation: "3 publishes in flight, window 2" },
    ]);
  });
});

describe("class-bounds and outbox-accounting", () => {
  const m = base.after.outbox.measurement;
  /** The measurement class changed, admitted kept equal to what it holds (no conservation noise). */
  const withMeasurement = (change: Partial<typeof m>): EngineState => {
    const measurement = { ...m, ...change };
    const counters = {
      ...base.after.counters,
      admitted: base.after.counters.admitted + measurement.count - m.count,
    };
    return { ...base.after, outbox: { ...base.after.outbox, measurement }, counters };
  };

  it("holds the good step to a count of 1 and the limits configured", () => {
    expect(m.count).toBe(1);
    expect(base.after.config.outbox.measurement).toMatchObject({ maxMessages: 2, maxBytes: 5000 });
  });

  it("allows exactly maxMessages and maxBytes, names one row or one byte more", () => {
    expect(violations({ after: withMeasurement({ count: 2 }) })).toEqual([]);
    expect(violations({ after: withMeasurement({ bytes: 5000 }) })).toEqual([]);
    expect(violations({ after: withMeasurement({ count: 3 }) })).toEqual([
      {
        invariant: "class-bounds",
        explanation: `measurement outbox holds 3 rows / ${m.bytes} bytes, limit 2 / 5000`,
      },
    ]);
    expect(violations({ after: withMeasurement({ bytes: 5001 }) })).toEqual([
      {
        invariant: "class-bounds",
        explanation: "measurement outbox holds 1 rows / 5001 bytes, limit 2 / 5000",
      },
    ]);
  });

  it("names a class counting fewer rows than it queues, or a negative count or size", () => {
    const empty = base.after.outbox.alarm;
    /** The alarm class changed, admitted raised by its count (no conservation noise). */
    const alarmCounting = (change: Partial<typeof empty>): EngineState => {
      const alarm = { ...empty, ...change };
      const counters = { ...base.after.counters, admitted: base.after.counters.admitted + alarm.count };
      return { ...base.after, outbox: { ...base.after.outbox, alarm }, counters };
    };
    const two = fromArray([{ ref: 1 }, { ref: 2 }] as unknown as Parameters<
      typeof fromArray
    >[0]) as typeof empty.queue;
    expect(two.size).toBe(2);
    expect(violations({ after: alarmCounting({ queue: two, count: 2 }) })).toEqual([]);
    expect(violations({ after: alarmCounting({ queue: two, count: 1 }) })).toEqual([
      { invariant: "outbox-accounting", explanation: "alarm outbox counts 1 rows / 0 bytes with 2 queued" },
    ]);
    expect(violations({ after: alarmCounting({ bytes: 0 }) })).toEqual([]);
    expect(violations({ after: alarmCounting({ bytes: -1 }) })).toEqual([
      { invariant: "outbox-accounting", explanation: "alarm outbox counts 0 rows / -1 bytes with 0 queued" },
    ]);
    expect(violations({ after: alarmCounting({ count: -1 }) })).toEqual([
      { invariant: "outbox-accounting", explanation: "alarm outbox counts -1 rows / 0 bytes with 0 queued" },
    ]);
  });
});

describe("conservation and drops-by-reason", () => {
  it("names an admitted row neither delivered, dropped nor held, with the figures", () => {
    const c = base.after.counters;
    const counters = { ...c, admitted: c.admitted + 1 };
    expect(violations({ after: { ...base.after, counters } })).toEqual([
      {
        invariant: "conservation",
        explanation: `admitted ${c.admitted + 1} != delivered ${c.delivered} + dropped ${c.dropped} + held 1`,
      },
    ]);
  });

  it("counts the rows held by every class", () => {
    const c = base.after.counters;
    const alarm = { ...base.after.outbox.alarm, count: 2 };
    const after = {
      ...base.after,
      outbox: { ...base.after.outbox, alarm },
      counters: { ...c, admitted: c.admitted + 2 },
    };
    expect(violations({ after })).toEqual([]);
  });

  it("adds the drops by reason, and names a sum that differs", () => {
    const c = base.after.counters;
    const dropped = { ...c, dropped: 3, admitted: c.admitted + 3 };
    const sums = { ...dropped, droppedByReason: { "measurement-overflow": 1, expired: 2 } };
    expect(violations({ after: { ...base.after, counters: sums } })).toEqual([]);
    const short = { ...dropped, droppedByReason: { "measurement-overflow": 1, expired: 1 } };
    expect(violations({ after: { ...base.after, counters: short } })).toEqual([
      { invariant: "drops-by-reason", explanation: "drops by reason add up to 2, not 3" },
    ]);
  });
});

describe("one-running-operation", () => {
  const entry = (seq: number, change: Partial<JournalEntry> = {}): JournalEntry => ({
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
    stage: "executing",
    executingAcked: true,
    handedOut: true,
    persistRef: null,
    duplicates: 0,
    ...change,
  });
  const withEntries = (...entries: JournalEntry[]): EngineState => ({
    ...base.after,
    journal: entries.reduce(putEntry, emptyJournal),
  });

  it("names two handed-out executing operations of one (device, fragment)", () => {
    expect(violations({ after: withEntries(entry(1), entry(2)) })).toEqual([
      {
        invariant: "one-running-operation",
        explanation: "two operations of dev/c8y_Restart running at once",
      },
    ]);
  });

  it("allows one per (device, fragment), and entries not both executing and handed out", () => {
    expect(violations({ after: withEntries(entry(1), entry(2, { fragment: "c8y_Command" })) })).toEqual([]);
    expect(violations({ after: withEntries(entry(1), entry(2, { deviceId: "child" })) })).toEqual([]);
    expect(violations({ after: withEntries(entry(1), entry(2, { handedOut: false })) })).toEqual([]);
    expect(violations({ after: withEntries(entry(1), entry(2, { stage: "received" })) })).toEqual([]);
    expect(violations({ after: withEntries(entry(1), entry(2, { stage: "finished" })) })).toEqual([]);
  });
});

describe("reconnect-delay and timers-in-sync", () => {
  const now = base.event.nowMs;
  const reconnectAfter = (delay: number): Partial<Step> => ({
    commands: [{ type: "timer-set", key: "reconnect", atMs: now + delay }],
    after: { ...base.after, timers: T({ ...base.before.timers, reconnect: now + delay }) },
  });

  it("allows exactly the floor and the larger of cap and configuration-error delay", () => {
    expect(violations(reconnectAfter(1000))).toEqual([]);
    expect(violations(reconnectAfter(60_000))).toEqual([]);
    expect(violations(reconnectAfter(999))).toEqual([
      { invariant: "reconnect-delay", explanation: "reconnect delay 999 ms outside [1000, 60000]" },
    ]);
    expect(violations(reconnectAfter(60_001))).toEqual([
      { invariant: "reconnect-delay", explanation: "reconnect delay 60001 ms outside [1000, 60000]" },
    ]);
  });

  it("judges only the reconnect timer's delay", () => {
    const commands: Command[] = [{ type: "timer-set", key: "connect-timeout", atMs: now + 1 }];
    const after = { ...base.after, timers: T({ ...base.before.timers, "connect-timeout": now + 1 }) };
    expect(violations({ commands, after })).toEqual([]);
  });

  it("names state timers that the commands do not leave, with both lists sorted", () => {
    const after = { ...base.after, timers: T({ ...base.after.timers, zz: 5, aa: 6 }) };
    const expected = JSON.stringify(Object.entries(base.after.timers).sort());
    const had = JSON.stringify(Object.entries(after.timers).sort());
    expect(violations({ after })).toEqual([
      { invariant: "timers-in-sync", explanation: `commands leave timers ${expected}, state has ${had}` },
    ]);
    expect(had.indexOf('"aa"')).toBeLessThan(had.indexOf('"zz"'));
  });

  it("does not depend on the order timers were set in", () => {
    const before = { ...base.before, timers: T({ b: 10, a: 11 }) };
    const commands: Command[] = [
      { type: "timer-set", key: "c", atMs: 12 },
      { type: "timer-cancel", key: "b" },
    ];
    const after = { ...base.after, timers: T({ c: 12, a: 11 }) };
    expect(violations({ before, commands, after })).toEqual([]);
    // Not cancelled: the state must still hold it.
    expect(violations({ before, commands: commands.slice(0, 1), after }).map((v) => v.invariant)).toEqual([
      "timers-in-sync",
    ]);
  });

  const fired = (key: string, nowMs: number): Event => ({ type: "timer-fired", key, nowMs });

  it("a timer that fires at or after its deadline removes itself without a command", () => {
    const before = { ...base.before, timers: T({ t: 100, u: 200 }) };
    const after = { ...base.after, timers: T({ u: 200 }) };
    expect(violations({ before, event: fired("t", 100), after, commands: [] })).toEqual([]);
    expect(violations({ before, event: fired("t", 150), after, commands: [] })).toEqual([]);
    // Fired early (a stale timer of an earlier deadline): the deadline stays.
    expect(
      violations({ before, event: fired("t", 99), after, commands: [] }).map((v) => v.invariant),
    ).toEqual(["timers-in-sync"]);
    const kept = { ...base.after, timers: T({ t: 100, u: 200 }) };
    expect(violations({ before, event: fired("t", 99), after: kept, commands: [] })).toEqual([]);
    // An unknown key removes nothing.
    expect(violations({ before, event: fired("v", 500), after: kept, commands: [] })).toEqual([]);
  });

  it("a stopped engine's fired timer removes nothing", () => {
    const stopped = { ...base.before, timers: T({ t: 100 }), phase: { name: "stopped" } } as EngineState;
    const after = { ...base.after, timers: T({ t: 100 }) };
    expect(violations({ before: stopped, event: fired("t", 100), after, commands: [] })).toEqual([]);
    const removed = { ...base.after, timers: T({}) };
    expect(
      violations({ before: stopped, event: fired("t", 100), after: removed, commands: [] }).map(
        (v) => v.invariant,
      ),
    ).toEqual(["timers-in-sync"]);
  });
});

describe("counters-monotone", () => {
  it.each(["accepted", "rejected", "admitted", "delivered", "dropped", "connects"] as const)(
    "names counter %s going down",
    (name) => {
      const before = {
        ...base.before,
        counters: { ...base.before.counters, [name]: base.after.counters[name] + 1 },
      };
      expect(violations({ before })).toEqual([
        {
          invariant: "counters-monotone",
          explanation: `counter ${name} went down from ${base.after.counters[name] + 1} to ${base.after.counters[name]}`,
        },
      ]);
    },
  );

  it("allows a counter to stay", () => {
    const before = { ...base.before, counters: base.after.counters };
    expect(violations({ before })).toEqual([]);
  });
});

describe("the SUBACK gate", () => {
  const at = (event: EventInput): Event => ({ ...event, nowMs: 0 }) as Event;
  const subscribe = (ref: number, topics: string[], connectionId = 1): Command => ({
    type: "subscribe",
    connectionId,
    ref,
    topics: topics.map((topic) => ({ topic, qos: 1 as const })),
  });
  const suback = (ref: number, granted: number[], connectionId = 1): Event =>
    at({ type: "subscribed", connectionId, ref, granted });

  it("names the topics not yet granted, the topic and the payload's first 80 characters", () => {
    const gate = createGateTracker();
    gate.noteCommand(subscribe(5, ["s/ds", "s/e"]));
    const payload = `200,${"x".repeat(100)}`;
    expect(gate.noteCommand(publish("s/us", payload))).toEqual({
      invariant: "suback-gate",
      explanation: `connection 1 published a data row on s/us before every subscription was granted (not yet granted: s/ds, s/e): ${payload.slice(0, 80)}`,
    });
    gate.noteEvent(suback(5, [1, 0x80]));
    expect(gate.noteCommand(publish("s/us", "500"))?.explanation).toBe(
      "connection 1 published a data row on s/us before every subscription was granted (not yet granted: s/e): 500",
    );
  });

  it("is closed on a connection that asked for nothing", () => {
    const gate = createGateTracker();
    expect(gate.isOpen(1)).toBe(false);
    expect(gate.noteCommand(publish("s/us", "500"))?.explanation).toBe(
      "connection 1 published a data row on s/us before every subscription was granted (not yet granted: nothing requested): 500",
    );
    // The bootstrap session's s/dcr is no part of the gate: asking only for it asks for nothing.
    gate.noteCommand(subscribe(1, ["s/dcr"]));
    gate.noteEvent(suback(1, [1]));
    expect(gate.isOpen(1)).toBe(false);
  });

  it("opens when every topic asked for was granted with a QoS below 128, s/dcr aside", () => {
    const gate = createGateTracker();
    gate.noteCommand(subscribe(5, ["s/dcr", "s/ds", "s/e"]));
    gate.noteEvent(suback(5, [0x80, 2, 0]));
    expect(gate.isOpen(1)).toBe(true);
    expect(gate.noteCommand(publish("s/us", "500"))).toBeUndefined();
  });

  it("counts a granted list shorter than the topics as refusing the rest", () => {
    const gate = createGateTracker();
    gate.noteCommand(subscribe(5, ["s/ds", "s/e"]));
    gate.noteEvent(suback(5, [1]));
    expect(gate.isOpen(1)).toBe(false);
  });

  it("ignores a SUBACK of a ref or connection it did not see asked for, and other events", () => {
    const gate = createGateTracker();
    gate.noteCommand(subscribe(5, ["s/ds"]));
    gate.noteEvent(suback(6, [1]));
    gate.noteEvent(suback(5, [1], 2));
    gate.noteEvent(at({ type: "published", connectionId: 1, ref: 5 }));
    expect(gate.isOpen(1)).toBe(false);
    gate.noteEvent(suback(5, [1]));
    expect(gate.isOpen(1)).toBe(true);
    expect(gate.isOpen(2)).toBe(false);
  });

  it("grants across several SUBACKs of one connection", () => {
    const gate = createGateTracker();
    gate.noteCommand(subscribe(5, ["s/ds"]));
    gate.noteCommand(subscribe(6, ["s/e"]));
    gate.noteEvent(suback(5, [1]));
    expect(gate.isOpen(1)).toBe(false);
    gate.noteEvent(suback(6, [0]));
    expect(gate.isOpen(1)).toBe(true);
  });

  it("stops waiting for the JSON operations topic refused while s/ds is granted, and only then", () => {
    const fallback = createGateTracker();
    fallback.noteCommand(subscribe(5, ["s/ds", "devicecontrol/notifications", "s/e"]));
    fallback.noteEvent(suback(5, [1, 0x80, 0]));
    expect(fallback.isOpen(1)).toBe(true);

    const bothRefused = createGateTracker();
    bothRefused.noteCommand(subscribe(5, ["s/ds", "devicecontrol/notifications"]));
    bothRefused.noteEvent(suback(5, [0x80, 0x80]));
    expect(bothRefused.isOpen(1)).toBe(false);

    // s/ds granted in another SUBACK does not count for this one (the session decides per SUBACK).
    const apart = createGateTracker();
    apart.noteCommand(subscribe(5, ["s/ds"]));
    apart.noteCommand(subscribe(6, ["devicecontrol/notifications"]));
    apart.noteEvent(suback(5, [1]));
    apart.noteEvent(suback(6, [0x80]));
    expect(apart.isOpen(1)).toBe(false);

    // Another refused topic is still waited for.
    const other = createGateTracker();
    other.noteCommand(subscribe(5, ["s/ds", "s/e"]));
    other.noteEvent(suback(5, [1, 0x80]));
    expect(other.isOpen(1)).toBe(false);
  });

  it("judges upstream data topics only", () => {
    const gate = createGateTracker();
    for (const topic of ["s/us", "t/us", "q/us", "c/us", "s/uc/x", "s/uc", "q/uc/x"]) {
      expect(gate.noteCommand(publish(topic, "200,c8y_T,T,1"))?.invariant).toBe("suback-gate");
    }
    for (const topic of ["s/ds", "x/us", "s/usx", "s/ucx", "s/ut", "a/s/us", "S/us", "s/dcr", "s/uss/x"]) {
      expect(gate.noteCommand(publish(topic, "200,c8y_T,T,1"))).toBeUndefined();
    }
  });

  it("lets registration rows (100, 101) through before the gate, and nothing mixed with them", () => {
    expect(isRegistrationOnly("100,Pump,acme")).toBe(true);
    expect(isRegistrationOnly("100,Pump,acme\n101,child,Child,c8y_Child")).toBe(true);
    expect(isRegistrationOnly("100,Pump\n200,c8y_T,T,1")).toBe(false);
    expect(isRegistrationOnly("100")).toBe(false);
    expect(isRegistrationOnly("1000,x")).toBe(false);
    expect(isRegistrationOnly("x100,y")).toBe(false);
    const gate = createGateTracker();
    expect(gate.noteCommand(publish("s/us", "101,c,C,t"))).toBeUndefined();
    expect(gate.noteCommand(publish("s/us", "101,c,C,t\n500"))?.invariant).toBe("suback-gate");
  });

  it("judges each publish at its point in the step: after the SUBACK event, before a later subscribe", () => {
    const checker = createInvariantChecker();
    const check = (event: Event, commands: Command[]) =>
      checker.check(base.before, event, base.before, commands).map((v) => v.invariant);
    // A step whose own state change is empty (before == after): only the gate can complain.
    expect(checker.check(base.before, base.event, base.before, [])).toEqual(
      checkStep(base.before, base.event, base.before, []),
    );
    expect(check(at({ type: "connected", connectionId: 1 }), [subscribe(5, ["s/ds"])])).toEqual([]);
    expect(check(suback(5, [1]), [publish("s/us", "500")])).toEqual([]);
    // A new subscription on the same connection closes the gate again until granted.
    expect(check(base.event, [subscribe(6, ["s/e"]), publish("s/us", "500")])).toEqual(["suback-gate"]);
  });
});

describe("formatViolations", () => {
  it("writes one line per violation, invariant first", () => {
    expect(
      formatViolations([
        { invariant: "size-law", explanation: "too big" },
        { invariant: "conservation", explanation: "lost one" },
      ]),
    ).toBe("size-law: too big\nconservation: lost one");
    expect(formatViolations([])).toBe("");
  });
});
