/**
 * The in-flight window and admission (engine/lifecycle/outbox-pump.ts), from the module's
 * contract: a dropped session gives back only outbox rows (session rows are rebuilt) and
 * ends settling; a status goes out only once durable; statuses are never paged; rows read
 * back at start are held to today's class limits (statuses excepted), and every drop is
 * reported with its exact reason and tag, counted, and deleted from storage.
 */
import { describe, expect, it } from "vitest";
import type { Report } from "@c8ylink/core";
import { Harness, commandsOf } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const outboxKey = (ref: number) => `outbox/${String(ref).padStart(12, "0")}`;

const storedRow = (ref: number, cls: string, line: string, extra: Record<string, unknown> = {}) => ({
  [outboxKey(ref)]: {
    ref,
    cls,
    topic: "s/us",
    line,
    bytes: Buffer.byteLength(line),
    template: line.split(",")[0],
    ...extra,
  },
});

const dropped = (h: Harness): Report[] => h.reports().filter((r) => r.kind === "dropped");

/** Every key some persist deleted. */
const deleted = (h: Harness): string[] =>
  commandsOf(h.commands, "persist").flatMap((p) =>
    p.changes.filter((c) => c.value === null).map((c) => c.key),
  );

const temperature = (value: number, tag?: string) => ({
  type: "submit" as const,
  message: { template: "200" as const, fragment: "c8y_T", series: "T", value, unit: "C" },
  ...(tag === undefined ? {} : { tag }),
});

describe("dropping a session", () => {
  it("gives back the in-flight outbox rows but not the session rows, which the next session rebuilds once", () => {
    const h = new Harness({ ...dev2Static, inflightWindow: 10 });
    h.start();
    h.send(temperature(1));
    h.connack();
    h.suback(); // the registration row, the 500 and the queued row go out together
    h.persistAll();
    const firstSession = h.inflight.map((p) => p.payload);
    expect(firstSession.join("\n")).toContain("500");
    expect(firstSession.join("\n")).toContain("200,c8y_T,T,1,C");
    h.drop();
    // Only the measurement is queued again; nothing of the session.
    expect(h.state.outbox.measurement.queue.size).toBe(1);
    expect(h.state.outbox["operation-status"].queue.size).toBe(0);
    expect(h.state.outbox.inventory.queue.size).toBe(0);
    h.advance(h.timers.get("reconnect")! - h.now);
    h.connack();
    h.suback();
    const rows = h.inflight.flatMap((p) => p.payload.split("\n"));
    expect(rows.filter((r) => r === "500")).toEqual(["500"]);
    expect(rows.filter((r) => r.startsWith("100,"))).toHaveLength(1);
    expect(rows.filter((r) => r === "200,c8y_T,T,1,C")).toHaveLength(1);
  });

  it("ends settling: the settle timer is cancelled with the connection", () => {
    const h = new Harness(dev2Static);
    h.start();
    h.connack();
    h.suback();
    h.persistAll();
    h.ackAll(); // the 500 is acknowledged: the quiet window runs
    expect(h.timers.has("settle")).toBe(true);
    const out = h.drop();
    expect(commandsOf(out, "timer-cancel").map((c) => c.key)).toContain("settle");
    expect(h.timers.has("settle")).toBe(false);
    expect(h.state.session.settle).toBeNull();
  });
});

describe("statuses wait until durable", () => {
  it("a terminal status goes out only once the persist that makes it durable is acknowledged", () => {
    const h = new Harness(dev2Static);
    h.bringOnline();
    h.flush();
    h.deliver("s/ds", "511,dev2,ls");
    h.flush();
    const key = h.handedOut[0]!.key;
    const out = h.finish(key, { status: "successful", parameters: ["ok"] });
    expect(commandsOf(out, "publish")).toEqual([]);
    expect(h.pendingPersists.length).toBeGreaterThan(0);
    const after = h.persistAll();
    expect(commandsOf(after, "publish").map((p) => p.payload)).toEqual(["503,c8y_Command,ok"]);
  });
});

describe("statuses are never paged", () => {
  it("more statuses than outboxMemoryRows all stay in memory and go out in order", () => {
    const h = new Harness({ ...dev2Static, outboxMemoryRows: 2, inflightWindow: 1 });
    h.bringOnline();
    h.flush();
    // Keep the window busy so that the statuses queue.
    h.send(temperature(1));
    expect(h.inflight).toHaveLength(1);
    h.deliver("s/ds", "511,dev2,ls\n510,dev2");
    h.persistAll();
    for (const c of [...h.handedOut]) h.finish(c.key, { status: "successful" });
    h.persistAll();
    expect(h.state.outbox["operation-status"].queue.size).toBe(4);
    expect(h.state.outbox["operation-status"].stored).toBe(0);
    h.flush();
    expect(h.rowsOn("s/us").filter((r) => /^50[123]/.test(r))).toEqual([
      "501,c8y_Command",
      "501,c8y_Restart",
      "503,c8y_Command",
      "503,c8y_Restart",
    ]);
    expect(commandsOf(h.commands, "load-outbox")).toEqual([]);
  });
});

describe("rows read back at start", () => {
  it("a stored row larger than today's whole class budget is dropped, reported with its tag, counted and deleted", () => {
    const h = new Harness({ ...dev2Static, outbox: { measurement: { maxMessages: 10, maxBytes: 20 } } });
    h.start({
      ...storedRow(1, "measurement", "200,f,s,1"),
      ...storedRow(2, "measurement", "200,f,s,123456789012345", { tag: "big" }),
      ...storedRow(3, "measurement", "200,f,s,2222222222222222"),
    });
    expect(dropped(h)).toEqual([
      {
        kind: "dropped",
        ref: 2,
        class: "measurement",
        reason: "measurement outbox budget smaller than this stored row: dropped",
        tag: "big",
      },
      {
        kind: "dropped",
        ref: 3,
        class: "measurement",
        reason: "measurement outbox budget smaller than this stored row: dropped",
      },
    ]);
    expect(h.state.counters).toMatchObject({
      admitted: 3,
      dropped: 2,
      droppedByReason: { "measurement-overflow": 2 },
    });
    expect(deleted(h)).toEqual([outboxKey(2), outboxKey(3)]);
    expect(h.state.outbox.measurement).toMatchObject({ count: 1, bytes: 9 });
  });

  it("stored rows beyond today's message limit: the oldest are dropped as an overflow, with the tag if any", () => {
    const h = new Harness({ ...dev2Static, outbox: { event: { maxMessages: 1, maxBytes: 1000 } } });
    h.start({
      ...storedRow(1, "event", "400,a,x", { tag: "first" }),
      ...storedRow(2, "event", "400,b,y"),
      ...storedRow(3, "event", "400,c,z"),
    });
    expect(dropped(h)).toEqual([
      { kind: "dropped", ref: 1, class: "event", reason: "event outbox full: oldest dropped", tag: "first" },
      { kind: "dropped", ref: 2, class: "event", reason: "event outbox full: oldest dropped" },
    ]);
    expect(h.state.counters).toMatchObject({
      admitted: 3,
      dropped: 2,
      droppedByReason: { "event-overflow": 2 },
    });
    expect(deleted(h)).toEqual([outboxKey(1), outboxKey(2)]);
    expect(h.state.outbox.event.count).toBe(1);
  });

  it("statuses are restored whatever today's status budget, each counted as admitted", () => {
    const h = new Harness({
      ...dev2Static,
      outbox: { "operation-status": { maxMessages: 1, maxBytes: 10 } },
    });
    h.start({
      ...storedRow(1, "operation-status", "502,c8y_Command,a long failure reason"),
      ...storedRow(2, "operation-status", "507,c8y_Restart"),
      ...storedRow(3, "operation-status", "500"),
    });
    expect(dropped(h)).toEqual([]);
    expect(h.state.counters).toMatchObject({ admitted: 3, dropped: 0 });
    expect(h.state.outbox["operation-status"].count).toBe(3);
    expect(deleted(h)).toEqual([]);
  });
});

describe("overflow of a queued class", () => {
  it("a new row that fits only by dropping the oldest queued one is accepted; the drop is reported with its tag", () => {
    const h = new Harness({
      ...dev2Static,
      inflightWindow: 1,
      outbox: { measurement: { maxMessages: 3, maxBytes: 10_000 } },
    });
    h.bringOnline();
    h.flush();
    h.send(temperature(1, "in-flight"));
    h.send(temperature(2, "t2"));
    h.send(temperature(3));
    expect(h.state.counters.admitted).toBe(3);
    h.send(temperature(4, "t4"));
    h.send(temperature(5));
    const accepted = h.reports().filter((r) => r.kind === "accepted");
    expect(accepted).toHaveLength(5);
    const refOf = (i: number) => (accepted[i] as { ref: number }).ref;
    expect(dropped(h)).toEqual([
      {
        kind: "dropped",
        ref: refOf(1),
        class: "measurement",
        reason: "measurement outbox full: oldest dropped",
        tag: "t2",
      },
      {
        kind: "dropped",
        ref: refOf(2),
        class: "measurement",
        reason: "measurement outbox full: oldest dropped",
      },
    ]);
    expect(h.state.counters).toMatchObject({
      accepted: 5,
      admitted: 5,
      dropped: 2,
      droppedByReason: { "measurement-overflow": 2 },
      rejected: 0,
    });
    expect(deleted(h)).toEqual([outboxKey(refOf(1)), outboxKey(refOf(2))]);
    h.flush();
    expect(h.rowsOn("s/us").filter((r) => r.startsWith("200,"))).toEqual([
      "200,c8y_T,T,1,C",
      "200,c8y_T,T,4,C",
      "200,c8y_T,T,5,C",
    ]);
  });
});
