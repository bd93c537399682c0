/**
 * Boot and recovery (engine/lifecycle/boot.ts) as exact transitions: a second `start` is
 * refused; every unreadable durable record is counted and reported with its key; rows held
 * only by the store are restored per pageable class and move `nextRef` past them; restored
 * outbox rows go out in ref order; operations found executing end (503 for a restart, 502
 * with the reason otherwise); an unreadable journal queues the 507 cleanup line.
 */
import { describe, expect, it } from "vitest";
import { Harness, commandsOf } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";
import type { Command } from "../src/index.js";

const reportsOf = (commands: readonly Command[]) =>
  commands.flatMap((c) => (c.type === "report" ? [c.report] : []));
const persistedLines = (commands: readonly Command[]) =>
  commandsOf(commands, "persist").flatMap((p) =>
    p.changes.flatMap((c) => (c.key.startsWith("outbox/") ? [(c.value as { line: string }).line] : [])),
  );
const row = (ref: number) => {
  const line = `200,f,s,${ref},u`;
  return { ref, cls: "measurement", topic: "s/us", line, bytes: line.length, template: "200" };
};

describe("start", () => {
  it("a second start is refused naming the phase, and changes nothing", () => {
    const h = new Harness(dev2Static);
    h.start();
    const before = h.state;
    expect(h.start({ weird: 1 })).toEqual([
      {
        type: "report",
        report: { kind: "invalid-input", source: "start", reason: "engine already started (connecting)" },
      },
    ]);
    expect(h.state).toEqual(before);
  });

  it("every unreadable record is counted and reported with its key, in key order; an unreadable journal asks for 507", () => {
    const h = new Harness(dev2Static);
    const out = h.start({
      weird: 1,
      credentials: 5,
      inventory: 3,
      "outbox/000000000001": {},
      "journal/x": 1,
      "finished/42": 7,
    });
    expect(reportsOf(out).filter((r) => r.kind === "invalid-input")).toEqual([
      { kind: "invalid-input", source: "durable credentials", reason: expect.stringMatching(/got 5$/) },
      {
        kind: "invalid-input",
        source: "durable finished/42",
        reason: "(root): expected { atMs: number }, got 7",
      },
      { kind: "invalid-input", source: "durable inventory", reason: expect.stringMatching(/got 3$/) },
      { kind: "invalid-input", source: "durable journal/x", reason: expect.stringMatching(/got 1$/) },
      {
        kind: "invalid-input",
        source: "durable outbox/000000000001",
        reason: expect.stringMatching(/^ref: /),
      },
      { kind: "invalid-input", source: "durable weird", reason: "unknown durable key" },
    ]);
    expect(h.state.counters.invalidInputs).toBe(6);
    expect(persistedLines(out)).toEqual(["507,,c8ylink journal unreadable after restart"]);
  });

  it("readable records raise no report and no 507", () => {
    const h = new Harness(dev2Static);
    const out = h.start({
      inventory: { "s/us 114": "114,c8y_Restart,c8y_Command" },
      "finished/42": { atMs: 5 },
    });
    expect(reportsOf(out).filter((r) => r.kind === "invalid-input")).toEqual([]);
    expect(persistedLines(out)).toEqual([]);
    expect(h.state.counters.invalidInputs).toBe(0);
    expect(h.state.inventoryAcked).toEqual({ "s/us 114": "114,c8y_Restart,c8y_Command" });
  });

  it("stored credentials are used only in bootstrap mode", () => {
    const stored = { credentials: { tenant: "t9", user: "u9", password: "p9" } };
    const password = new Harness(dev2Static);
    expect(commandsOf(password.start(stored), "connect")[0]).toMatchObject({ username: "t7/device_dev2" });
    expect(password.state.credentials).not.toEqual(stored.credentials);
  });
});

describe("rows held by the store", () => {
  it("are counted as admitted per pageable class and move nextRef past the last", () => {
    const h = new Harness(dev2Static);
    h.send({
      type: "start",
      durable: {},
      outboxStored: {
        measurement: { count: 2, bytes: 26, lastRef: 500 },
        event: { count: 0, bytes: 0, lastRef: 900 },
      },
    });
    expect(h.state.counters.admitted).toBe(2);
    expect(h.state.outbox.measurement.stored).toBe(2);
    expect(h.state.nextRef).toBe(501);
  });

  it("of a class that cannot be paged: refused, naming it; a zero count is ignored", () => {
    const h = new Harness(dev2Static);
    const out = h.send(
      {
        type: "start",
        durable: {},
        outboxStored: {
          "operation-status": { count: 1, bytes: 13, lastRef: 700 },
          bogus: { count: 1, bytes: 13, lastRef: 800 },
          nothing: { count: 0, bytes: 0, lastRef: 900 },
        },
      },
      { raw: true },
    );
    expect(reportsOf(out).filter((r) => r.kind === "invalid-input")).toEqual([
      {
        kind: "invalid-input",
        source: "durable outbox stored operation-status",
        reason: "not a pageable outbox class",
      },
      { kind: "invalid-input", source: "durable outbox stored bogus", reason: "not a pageable outbox class" },
    ]);
    expect(h.state.counters.invalidInputs).toBe(2);
    expect(h.state.counters.admitted).toBe(0);
    expect(h.state.nextRef).toBe(1);
  });
});

describe("restored outbox rows", () => {
  it("go out in ref order whatever their keys, and nextRef moves past the highest", () => {
    const h = new Harness(dev2Static);
    h.bringOnline({ "outbox/a": row(9), "outbox/b": row(3), "outbox/c": row(5) });
    h.flush();
    expect(h.rowsOn("s/us").filter((l) => l.startsWith("200,"))).toEqual([
      "200,f,s,3,u",
      "200,f,s,5,u",
      "200,f,s,9,u",
    ]);
    const fresh = new Harness(dev2Static);
    fresh.start({ "outbox/a": row(9), "outbox/b": row(3) });
    expect(fresh.state.nextRef).toBe(10);
  });
});

describe("operations executing at the restart", () => {
  it("end: a restart as successful, anything else failed with the reason", () => {
    const h = new Harness(dev2Static);
    h.bringOnline();
    h.flush();
    h.deliver("s/ds", "511,dev2,uptime");
    h.flush();
    h.deliver("s/ds", "510,dev2");
    h.flush();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1", "op-2"]);
    const after = new Harness(dev2Static);
    const out = after.start(Object.fromEntries(h.storage));
    expect(persistedLines(out)).toEqual([
      "502,c8y_Command,c8ylink restarted while the operation was executing",
      "503,c8y_Restart",
    ]);
    expect(after.handedOut).toEqual([]);
  });
});
