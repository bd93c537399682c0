/**
 * `step`'s own routing, at each guard: a stopped engine takes nothing, results of another
 * connection and messages while unconnected are dropped, a timer fires exactly at its deadline
 * and not before, each timer's fire does its one thing, and the downstream routes (`s/e`,
 * `s/dt`, unparseable payloads, topics never subscribed) count and report exactly.
 * (Written for mutation testing.)
 */
import { describe, expect, it } from "vitest";
import { snapshotState, type EngineState, type EventInput } from "@c8ylink/core";
import { Harness, commandsOf } from "./support/harness.js";

const config = {
  deviceId: "dev5",
  auth: { mode: "password", tenant: "t5", user: "device_dev5", password: "pw" },
  seed: 5,
  settleMs: 0,
};

const online = (): Harness => {
  const h = new Harness(config);
  h.bringOnline();
  h.flush();
  return h;
};

/** Sends `input` and expects neither a command nor any change of state. */
const expectIgnored = (h: Harness, input: EventInput): void => {
  const before = JSON.stringify(snapshotState(h.state));
  expect(h.send(input), JSON.stringify(input)).toEqual([]);
  expect(JSON.stringify(snapshotState(h.state)), JSON.stringify(input)).toBe(before);
};

const withTimers = (h: Harness, patch: Partial<EngineState>): void => {
  h.state = { ...h.state, ...patch };
};

describe("a stopped engine", () => {
  it("takes no event at all", () => {
    const h = new Harness(config);
    h.start();
    h.send({ type: "stop" });
    expect(h.state.phase.name).toBe("stopped");
    const id = h.connectionId;
    for (const input of [
      { type: "start", durable: {} },
      { type: "connected", connectionId: id },
      { type: "submit", message: { template: "400", type: "t", text: "x" } },
      { type: "timer-fired", key: "reconnect" },
      { type: "persisted", ref: 1 },
      { type: "stop" },
    ] as EventInput[])
      expectIgnored(h, input);
  });
});

describe("results of another connection", () => {
  it("are dropped, whatever they say", () => {
    const h = online();
    const stale = h.connectionId - 1;
    expect(stale).toBeGreaterThanOrEqual(0);
    for (const input of [
      { type: "connected", connectionId: stale },
      { type: "connect-failed", connectionId: stale, cause: { kind: "refused", code: 5 } },
      { type: "disconnected", connectionId: stale, cause: { kind: "network", message: "gone" } },
      { type: "subscribed", connectionId: stale, ref: 1, granted: [128] },
      { type: "published", connectionId: stale, ref: 1 },
      { type: "message", connectionId: stale, topic: "s/e", payload: "40,400,bad" },
      { type: "connected", connectionId: h.connectionId + 1 },
    ] as EventInput[])
      expectIgnored(h, input);
  });

  it("are dropped even when they answer what the live connection is waiting for", () => {
    const h = new Harness(config);
    h.start();
    expect(h.state.phase.name).toBe("connecting");
    expectIgnored(h, { type: "connected", connectionId: h.connectionId - 1 });
    h.connack();
    expect(h.state.phase.name).toBe("subscribing");
    const sub = h.pendingSubscribes[0]!;
    const publish = h.inflight[0]!;
    const stale = h.connectionId - 1;
    expectIgnored(h, {
      type: "subscribed",
      connectionId: stale,
      ref: sub.ref,
      granted: sub.topics.map((t) => t.qos),
    });
    expectIgnored(h, { type: "published", connectionId: stale, ref: publish.ref });
    expectIgnored(h, { type: "disconnected", connectionId: stale, cause: { kind: "requested" } });
    expect(h.state.phase.name).toBe("subscribing");
  });

  it("while the live connection's own end is taken", () => {
    const h = online();
    h.drop("reset");
    expect(h.state.phase.name).toBe("waiting");
  });
});

describe("a message", () => {
  it("is dropped while no connection is up, even with the current connection id", () => {
    const h = online();
    h.drop();
    expect(h.state.phase.name).toBe("waiting");
    expectIgnored(h, { type: "message", connectionId: h.connectionId, topic: "s/e", payload: "40,400,bad" });
    expectIgnored(h, { type: "message", connectionId: h.connectionId, topic: "s/ds", payload: "510,dev5" });
  });

  it("on a topic never subscribed is counted and reported once per row", () => {
    const h = online();
    const before = h.state.counters.invalidInputs;
    const out = h.deliver("s/unknown", "1,a\n2,b");
    expect(commandsOf(out, "report").map((c) => c.report)).toEqual([
      { kind: "invalid-input", source: "s/unknown", reason: "message on a topic c8ylink did not subscribe" },
      { kind: "invalid-input", source: "s/unknown", reason: "message on a topic c8ylink did not subscribe" },
    ]);
    expect(h.state.counters.invalidInputs).toBe(before + 2);
  });

  it("that is not CSV is counted and reported with the parser's reason", () => {
    const h = online();
    const before = h.state.counters.invalidInputs;
    const out = h.deliver("s/ds", '510,"dev5');
    const reports = commandsOf(out, "report").map((c) => c.report);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: "invalid-input", source: "s/ds" });
    expect(reports[0]?.kind === "invalid-input" && reports[0].reason.length).toBeGreaterThan(0);
    expect(out).toHaveLength(1);
    expect(h.state.counters.invalidInputs).toBe(before + 1);
  });

  it("on s/dt is handed to the application as a template status, row by row", () => {
    const h = online();
    const out = h.deliver("s/dt", "20,x1,ok\n41,x2");
    expect(commandsOf(out, "report").map((c) => c.report)).toEqual([
      { kind: "downstream", message: { kind: "template-status", row: ["20", "x1", "ok"] } },
      { kind: "downstream", message: { kind: "template-status", row: ["41", "x2"] } },
    ]);
  });
});

describe("an s/e line", () => {
  const platformErrors = (out: readonly unknown[]) =>
    commandsOf(out as never, "report")
      .map((c) => c.report)
      .filter((r) => r.kind === "platform-error");

  it("is reported with its code, kind, reference and text, and counted by code", () => {
    const h = online();
    const out = h.deliver("s/e", "41,998,Object not found\n50,,401,Unauthorized\nnot-a-code");
    expect(platformErrors(out)).toEqual([
      {
        kind: "platform-error",
        code: 41,
        errorKind: "template-error",
        reference: "998",
        text: "Object not found",
        correlated: [],
      },
      {
        kind: "platform-error",
        code: 50,
        errorKind: "server-error",
        reference: null,
        text: "401,Unauthorized",
        correlated: [],
      },
      {
        kind: "platform-error",
        code: -1,
        errorKind: "other",
        reference: null,
        text: "not-a-code",
        correlated: [],
      },
    ]);
    expect(h.state.counters.platformErrors).toEqual({ "41": 1, "50": 1, "-1": 1 });
    h.deliver("s/e", "41,998,again");
    expect(h.state.counters.platformErrors).toEqual({ "41": 2, "50": 1, "-1": 1 });
  });

  it("names the recently published rows of its template, and only those", () => {
    const h = online();
    const refOf = (out: readonly unknown[]) => {
      const accepted = commandsOf(out as never, "report").find((c) => c.report.kind === "accepted");
      return accepted?.report.kind === "accepted" ? accepted.report.ref : -1;
    };
    const a = refOf(h.send({ type: "submit", message: { template: "400", type: "t", text: "a" } }));
    h.send({ type: "submit", message: { template: "200", fragment: "f", series: "s", value: 1 } });
    const c = refOf(h.send({ type: "submit", message: { template: "400", type: "t", text: "c" } }));
    h.flush();
    expect(platformErrors(h.deliver("s/e", "45,400,Wrong number of arguments"))).toMatchObject([
      { code: 45, reference: "400", correlated: [a, c] },
    ]);
    expect(platformErrors(h.deliver("s/e", "45,402,Wrong"))).toMatchObject([{ correlated: [] }]);
  });

  it("keeps a counter for each of the first 32 distinct codes, the rest as other", () => {
    const h = online();
    const codes = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => `${from + i},999,x`).join("\n");
    h.deliver("s/e", codes(100, 32));
    const counts = () => h.state.counters.platformErrors;
    expect(Object.keys(counts())).toHaveLength(32);
    expect(counts()["other"]).toBeUndefined();
    h.deliver("s/e", codes(200, 2));
    expect(counts()["other"]).toBe(2);
    expect(counts()["200"]).toBeUndefined();
    // A code already counted keeps its own counter.
    h.deliver("s/e", "131,999,x");
    expect(counts()["131"]).toBe(2);
    expect(counts()["other"]).toBe(2);
    expect(Object.keys(counts())).toHaveLength(33);
  });
});

describe("a PUBACK", () => {
  it("of an outbox row delivers it: report, counter, durable record deleted", () => {
    const h = online();
    const delivered = h.state.counters.delivered;
    h.send({ type: "submit", message: { template: "400", type: "t", text: "a" } });
    h.send({ type: "submit", message: { template: "400", type: "t", text: "b" } });
    h.persistAll();
    const publish = h.inflight[0];
    expect(publish).toBeDefined();
    const rows = publish!.payload.split("\n").length;
    const out = h.ackOldest();
    const reports = commandsOf(out, "report").map((c) => c.report);
    const report = reports.find((r) => r.kind === "delivered");
    expect(report?.kind === "delivered" && report.refs).toHaveLength(rows);
    expect(h.state.counters.delivered).toBe(delivered + rows);
    const deletes = commandsOf(out, "persist").flatMap((p) => p.changes.filter((c) => c.value === null));
    expect(deletes.map((c) => c.key).sort()).toEqual(
      (report?.kind === "delivered" ? report.refs : []).map((r) => expect.stringContaining(String(r))),
    );
  });

  it("of nothing in flight changes nothing", () => {
    const h = online();
    expectIgnored(h, { type: "published", connectionId: h.connectionId, ref: 99_999 });
  });
});

describe("a timer fire", () => {
  it("of an unknown or unarmed key changes nothing", () => {
    const h = online();
    expectIgnored(h, { type: "timer-fired", key: "no-such-timer" });
    expectIgnored(h, { type: "timer-fired", key: "toString" });
    expect(h.state.timers["stop-deadline"]).toBeUndefined();
    expectIgnored(h, { type: "timer-fired", key: "stop-deadline" });
  });

  it("acts exactly at its deadline, not a millisecond before", () => {
    const h = online();
    h.drop();
    const at = h.state.timers.reconnect;
    expect(at).toBeGreaterThan(h.now);
    h.now = at! - 1;
    expectIgnored(h, { type: "timer-fired", key: "reconnect" });
    h.now = at!;
    const out = h.send({ type: "timer-fired", key: "reconnect" });
    expect(commandsOf(out, "connect")).toHaveLength(1);
    expect(h.state.timers.reconnect).toBeUndefined();
    expect(h.state.phase.name).toBe("connecting");
  });

  it("of reconnect outside waiting only disarms it", () => {
    const h = online();
    withTimers(h, { timers: { ...h.state.timers, reconnect: h.now } });
    expect(h.send({ type: "timer-fired", key: "reconnect" })).toEqual([]);
    expect(h.state.timers.reconnect).toBeUndefined();
    expect(h.state.phase.name).toBe("online");
  });

  it("of stable resets the backoff attempts", () => {
    const h = online();
    withTimers(h, { backoffAttempt: 4, timers: { ...h.state.timers, stable: h.now + 1 } });
    h.send({ type: "timer-fired", key: "stable" });
    expect(h.state.backoffAttempt).toBe(4);
    h.now += 1;
    expect(h.send({ type: "timer-fired", key: "stable" })).toEqual([]);
    expect(h.state.backoffAttempt).toBe(0);
    expect(h.state.timers.stable).toBeUndefined();
  });

  it("of stop-deadline stops a stopping engine with what is undelivered, and nothing else", () => {
    const h = online();
    withTimers(h, { timers: { ...h.state.timers, "stop-deadline": h.now } });
    expect(h.send({ type: "timer-fired", key: "stop-deadline" })).toEqual([]);
    expect(h.state.phase.name).toBe("online");

    h.send({ type: "submit", message: { template: "400", type: "t", text: "a" } });
    h.persistAll();
    expect(h.inflight).toHaveLength(1);
    h.send({ type: "stop" });
    expect(h.state.phase.name).toBe("stopping");
    const deadline = h.state.timers["stop-deadline"]!;
    h.now = deadline;
    const out = h.send({ type: "timer-fired", key: "stop-deadline" });
    expect(h.state.phase.name).toBe("stopped");
    expect(commandsOf(out, "report").map((c) => c.report)).toContainEqual({
      kind: "phase",
      from: "stopping",
      to: "stopped",
      reason: "stop deadline reached",
    });
  });
});

describe("more routes", () => {
  it("a custom-template submission is published on its template's topic", () => {
    const h = online();
    const out = h.send({ type: "submit-custom", xid: "x1", values: ["a", "b"], tag: "t1" });
    const accepted = commandsOf(out, "report").find((c) => c.report.kind === "accepted");
    expect(accepted?.report).toMatchObject({ kind: "accepted", tag: "t1" });
    h.flush();
    expect(h.rowsOn("s/uc/x1")).toEqual(["a,b"]);
  });

  it("a failed outbox read is reported for its class; an unknown class is ignored", () => {
    const h = online();
    const out = h.send({ type: "outbox-load-failed", cls: "alarm", message: "disk gone" });
    expect(commandsOf(out, "report").map((c) => c.report)).toEqual([
      { kind: "outbox-storage", class: "alarm", problem: "reading queued rows failed: disk gone", lost: 0 },
    ]);
    expectIgnored(h, { type: "outbox-load-failed", cls: "nope", message: "x" });
  });

  it("only the PUBACK of the 500 starts the settle clock", () => {
    // Settling is for id-less operations: the static mode.
    const h = new Harness({ ...config, settleMs: 1_000, operations: "static" });
    h.start();
    h.connack();
    h.suback();
    expect(h.state.phase.name).toBe("online");
    const has500 = (p: { payload: string }) => p.payload.split("\n").some((l) => l.startsWith("500"));
    const others = h.inflight.filter((p) => !has500(p));
    const with500 = h.inflight.filter(has500);
    expect(others.length).toBeGreaterThan(0);
    expect(with500).toHaveLength(1);
    for (const p of others) h.send({ type: "published", connectionId: p.connectionId, ref: p.ref });
    expect(h.state.timers.settle).toBeUndefined();
    h.send({ type: "published", connectionId: with500[0]!.connectionId, ref: with500[0]!.ref });
    expect(h.state.timers.settle).toBe(h.now + 1_000);
  });

  it("while settling, an operation line pushes the quiet deadline; an ignored line does not", () => {
    const h = new Harness({
      ...config,
      settleMs: 1_000,
      operations: "static",
      supportedOperations: ["c8y_Restart"],
    });
    h.start();
    h.connack();
    h.suback();
    h.ackAll();
    const t0 = h.now;
    expect(h.state.timers.settle).toBe(t0 + 1_000);
    h.now = t0 + 500;
    h.deliver("s/ds", "999,dev5");
    h.deliver("s/ds", "510,a/b");
    expect(h.state.timers.settle).toBe(t0 + 1_000);
    h.deliver("s/ds", "510,dev5");
    expect(h.state.timers.settle).toBe(t0 + 1_500);
  });

  it("the reconnect fire says why it connects", () => {
    const h = online();
    h.drop();
    const out = h.advance(h.state.timers.reconnect! - h.now);
    expect(commandsOf(out, "report").map((c) => c.report)).toContainEqual({
      kind: "phase",
      from: "waiting",
      to: "connecting",
      reason: "backoff elapsed",
    });
  });
});
