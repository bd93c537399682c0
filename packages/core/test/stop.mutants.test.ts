/**
 * Stopping (engine/lifecycle/stop.ts), transition by transition: online drains until the outbox
 * and the in-flight window are empty or the deadline passes; any other phase stops at once,
 * disconnecting only a connection that exists; a second `stop` is a no-op; finishing cancels
 * every timer and reports how many rows were not delivered (in-flight ones included).
 */
import { describe, expect, it } from "vitest";
import { Harness } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const temperature = (value: number) => ({
  type: "submit" as const,
  message: { template: "200" as const, fragment: "c8y_Temperature", series: "T", value, unit: "C" },
});

const online = (extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...dev2Static, ...extra });
  h.bringOnline();
  h.flush();
  return h;
};

const stopped = (reason: string, from: string, undelivered: number) => [
  { type: "report", report: { kind: "phase", from, to: "stopped", reason } },
  { type: "report", report: { kind: "stopped", undelivered } },
];

describe("stop while online", () => {
  it("with nothing queued: stopping, the deadline armed, then at once disconnected and stopped", () => {
    const h = online({ stopDeadlineMs: 7_000 });
    expect(Object.keys(h.state.timers)).toEqual(["stable"]);
    const deadline = h.now + 7_000;
    expect(h.send({ type: "stop" })).toEqual([
      { type: "report", report: { kind: "phase", from: "online", to: "stopping", reason: "stop requested" } },
      { type: "timer-set", key: "stop-deadline", atMs: deadline },
      { type: "disconnect", connectionId: h.connectionId },
      { type: "timer-cancel", key: "stable" },
      { type: "timer-cancel", key: "stop-deadline" },
      ...stopped("outbox drained", "stopping", 0),
    ]);
    expect(h.state.phase).toEqual({ name: "stopped" });
    expect(h.state.timers).toEqual({});
  });

  it("with rows in flight: waits; the last PUBACK of the last row disconnects and stops", () => {
    const h = online({ inflightWindow: 1 });
    h.send(temperature(1));
    h.send(temperature(2));
    const first = h.send({ type: "stop" });
    expect(first.map((c) => c.type)).toEqual(["report", "timer-set"]);
    expect(h.state.phase).toEqual({ name: "stopping" });
    // The first PUBACK sends the next row: not yet drained.
    const next = h.ackOldest();
    expect(next.filter((c) => c.type === "publish")).toHaveLength(1);
    expect(next.filter((c) => c.type === "disconnect")).toEqual([]);
    expect(h.state.phase).toEqual({ name: "stopping" });
    const last = h.ackOldest();
    // (The delivered row's storage record is deleted by the step's one persist, at its end.)
    const fromDisconnect = last
      .slice(last.findIndex((c) => c.type === "disconnect"))
      .filter((c) => c.type !== "persist");
    expect(fromDisconnect).toEqual([
      { type: "disconnect", connectionId: h.connectionId },
      ...last.filter((c) => c.type === "timer-cancel"),
      ...stopped("outbox drained", "stopping", 0),
    ]);
    expect(
      last.filter((c) => c.type === "timer-cancel").map((c) => c.type === "timer-cancel" && c.key),
    ).toContain("stop-deadline");
    expect(h.state.counters.delivered).toBe(2);
  });

  it("a status row still waiting for its write keeps the engine stopping, with nothing in flight", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,uptime");
    h.flush();
    h.finish("op-1", { status: "successful" }); // its 503 waits for this persist
    h.send({ type: "stop" });
    expect(h.state.session.inflight.count).toBe(0);
    expect(h.state.phase).toEqual({ name: "stopping" });
    h.persistAll();
    h.ackAll();
    expect(h.rowsOn("s/us")).toContain("503,c8y_Command");
    expect(h.state.phase).toEqual({ name: "stopped" });
    expect(h.reports().at(-1)).toEqual({ kind: "stopped", undelivered: 0 });
  });

  it("a second stop while stopping changes nothing", () => {
    const h = online({ inflightWindow: 1 });
    h.send(temperature(1));
    h.send({ type: "stop" });
    const before = h.state;
    expect(h.send({ type: "stop" })).toEqual([]);
    expect(h.state).toEqual(before);
  });

  it("the deadline stops with the rows still in flight counted as undelivered, every timer cancelled", () => {
    const h = online({ inflightWindow: 1, stopDeadlineMs: 5_000 });
    h.send(temperature(1));
    h.send(temperature(2));
    h.send(temperature(3));
    h.send({ type: "stop" });
    const fired = h.advance(5_000);
    expect(fired.slice(-2)).toEqual(stopped("stop deadline reached", "stopping", 3));
    expect(h.state.timers).toEqual({});
    expect(h.state.session.inflight.count).toBe(0);
    expect(h.state.phase).toEqual({ name: "stopped" });
  });

  it("the deadline does nothing once stopped, and a stopped engine ignores stop", () => {
    const h = online();
    h.send({ type: "stop" });
    expect(h.state.phase).toEqual({ name: "stopped" });
    expect(h.send({ type: "stop" })).toEqual([]);
    expect(h.send({ type: "timer-fired", key: "stop-deadline" })).toEqual([]);
  });
});

describe("stop in any other phase: at once", () => {
  it("idle: no connection to close", () => {
    const h = new Harness(dev2Static);
    expect(h.send({ type: "stop" })).toEqual(stopped("stop requested", "idle", 0));
  });

  it("connecting: the pending connection is closed", () => {
    const h = new Harness(dev2Static);
    h.start();
    const id = h.connectionId;
    const out = h.send({ type: "stop" });
    expect(out[0]).toEqual({ type: "disconnect", connectionId: id });
    expect(out.slice(-2)).toEqual(stopped("stop requested", "connecting", 0));
    expect(h.state.timers).toEqual({});
  });

  it("subscribing: the connection is closed and the rows in flight count as undelivered", () => {
    const h = new Harness({ ...dev2Static, inflightWindow: 4 });
    h.start();
    h.connack();
    h.send(temperature(1));
    expect(h.state.phase.name).toBe("subscribing");
    const out = h.send({ type: "stop" });
    expect(out[0]).toEqual({ type: "disconnect", connectionId: h.connectionId });
    expect(out.slice(-2)).toEqual(stopped("stop requested", "subscribing", 1));
    expect(h.state.session.inflight.count).toBe(0);
    expect(h.state.session.registrationRows).toEqual(new Harness(dev2Static).state.session.registrationRows);
  });

  it("waiting for a reconnect: no disconnect, the reconnect timer cancelled, queued rows counted", () => {
    const h = online();
    h.send(temperature(1));
    h.send(temperature(2));
    h.drop();
    expect(h.state.phase.name).toBe("waiting");
    expect(h.send({ type: "stop" })).toEqual([
      { type: "timer-cancel", key: "reconnect" },
      ...stopped("stop requested", "waiting", 2),
    ]);
  });

  it("bootstrapping: the bootstrap connection is closed, the poll timer cancelled", () => {
    const h = new Harness({
      deviceId: "dev1",
      auth: { mode: "bootstrap", bootstrapPassword: "bs" },
      operations: "static",
    });
    h.start();
    h.connack();
    h.suback();
    const out = h.send({ type: "stop" });
    expect(out[0]).toEqual({ type: "disconnect", connectionId: h.connectionId });
    expect(out).toContainEqual({ type: "timer-cancel", key: "bootstrap-poll" });
    expect(out.slice(-2)).toEqual(stopped("stop requested", "bootstrapping", 0));
  });
});
