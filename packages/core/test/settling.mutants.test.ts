/**
 * Settling after a gate open (engine/lifecycle/settling.ts), from the module's contract: the
 * quiet window starts only when the 500 is acknowledged and lasts exactly `settleMs`, at most
 * 5 × `settleMs`; a waiting operation the answer has not listed yet keeps it open until a late
 * line names it (ending it at once) or the deadline; `settleMs: 0` ends it with the PUBACK;
 * then the prefix rule per (device, fragment): rows up to the latest announced, unlisted
 * operation were applied (delivered, deleted, counted), its own later rows are re-sent.
 */
import { describe, expect, it } from "vitest";
import { Harness, commandsOf } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const SETTLE = 2_000;
const config = { ...dev2Static, settleMs: SETTLE };

const journal = (key: string, order: number, stage: string, raw = ["511", "dev2", "ls"]) => ({
  [`journal/${key}`]: {
    key,
    seq: order,
    deviceId: "dev2",
    fragment: raw[0] === "510" ? "c8y_Restart" : "c8y_Command",
    raw,
    failure: null,
    stage,
    order,
  },
});

const outboxRow = (ref: number, line: string, opKey?: string) => ({
  [`outbox/${String(ref).padStart(12, "0")}`]: {
    ref,
    cls: "operation-status",
    topic: "s/us",
    line,
    bytes: line.length,
    template: line.split(",")[0],
    ...(opKey === undefined ? {} : { opKey }),
  },
});

const statusRows = (h: Harness): string[] => h.rowsOn("s/us").filter((r) => /^50[1-7]/.test(r));

/** Started from `durable`, connected and subscribed, its persists done: the 500 is in flight. */
const gateOpen = (durable: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...config, ...extra });
  h.start(durable);
  h.connack();
  h.suback();
  h.persistAll();
  expect(h.inflight.some((p) => p.payload.split("\n").includes("500"))).toBe(true);
  return h;
};

const settleTimerSets = (commands: ReturnType<Harness["send"]>) =>
  commandsOf(commands, "timer-set").filter((t) => t.key === "settle");

describe("the quiet window", () => {
  it("starts at the 500's PUBACK: quiet for exactly settleMs, at most 5 × settleMs", () => {
    const h = gateOpen();
    h.advance(700);
    expect(h.timers.has("settle")).toBe(false);
    h.ackAll();
    expect(h.timers.get("settle")).toBe(700 + SETTLE);
    expect(h.state.session.settle).toEqual({ quiet: false, deadlineMs: 700 + 5 * SETTLE });
    h.advance(SETTLE - 1);
    expect(h.state.session.settle).not.toBeNull();
    h.advance(1);
    expect(h.state.session.settle).toBeNull();
  });

  it("an answer line before the 500's PUBACK sets no timer; the window still starts at the PUBACK", () => {
    const h = gateOpen(journal("op-1", 1, "received"));
    h.advance(100);
    expect(settleTimerSets(h.deliver("s/ds", "511,dev2,ls"))).toEqual([]);
    expect(h.timers.has("settle")).toBe(false);
    h.advance(100);
    h.ackAll();
    expect(h.timers.get("settle")).toBe(200 + SETTLE);
    expect(h.state.session.settle?.deadlineMs).toBe(200 + 5 * SETTLE);
  });

  it("each answer line pushes the window to settleMs after it, once per instant, never beyond the deadline", () => {
    const h = gateOpen({
      ...journal("op-1", 1, "received"),
      ...journal("op-2", 2, "received", ["511", "dev2", "pwd"]),
    });
    h.ackAll();
    h.advance(500);
    // op-1 seen again: not every waiting operation is covered yet, so the window moves on.
    expect(settleTimerSets(h.deliver("s/ds", "511,dev2,ls"))).toEqual([
      { type: "timer-set", key: "settle", atMs: 500 + SETTLE },
    ]);
    // The same instant again: the timer is already there.
    expect(settleTimerSets(h.deliver("s/ds", "511,dev2,ls"))).toEqual([]);
    // Lines keep coming until close to the deadline: the timer stops at it.
    for (let t = 1_500; t < 5 * SETTLE; t += 1_000) {
      h.advance(1_000);
      h.deliver("s/ds", "511,dev2,ls");
    }
    expect(h.timers.get("settle")).toBe(5 * SETTLE);
    expect(h.state.session.settle).not.toBeNull();
  });

  it("settleMs 0: settling ends with the 500's PUBACK, no timer", () => {
    const h = gateOpen({}, { settleMs: 0 });
    const out = h.ackAll();
    expect(h.state.session.settle).toBeNull();
    expect(settleTimerSets(out)).toEqual([]);
    expect(h.timers.has("settle")).toBe(false);
  });
});

describe("a waiting operation the answer has not listed yet", () => {
  it("keeps settling open after a quiet window until a late line names it, which ends settling at once", () => {
    const h = gateOpen(journal("op-1", 1, "received"));
    h.ackAll();
    h.advance(SETTLE);
    // Quiet, but op-1 was not listed: wait for it, up to the deadline.
    expect(h.state.session.settle).toEqual({ quiet: true, deadlineMs: 5 * SETTLE });
    expect(h.timers.get("settle")).toBe(5 * SETTLE);
    expect(h.handedOut).toEqual([]);
    h.advance(1_000);
    const out = h.deliver("s/ds", "511,dev2,ls");
    expect(h.state.session.settle).toBeNull();
    expect(commandsOf(out, "timer-cancel").map((c) => c.key)).toContain("settle");
    expect(h.timers.has("settle")).toBe(false);
    h.flush();
    expect(h.handedOut.map((c) => c.key)).toEqual(["op-1"]);
  });

  it("without a late line, settling ends exactly at the deadline", () => {
    const h = gateOpen(journal("op-1", 1, "received"));
    h.ackAll();
    h.advance(5 * SETTLE - 1);
    expect(h.state.session.settle).not.toBeNull();
    h.advance(1);
    expect(h.state.session.settle).toBeNull();
  });

  it("a line of another operation while quiet does not end settling", () => {
    const h = gateOpen(journal("op-1", 1, "received"));
    h.ackAll();
    h.advance(SETTLE);
    h.deliver("s/ds", "510,dev2"); // a new restart, not op-1
    expect(h.state.session.settle).toEqual({ quiet: true, deadlineMs: 5 * SETTLE });
  });
});

describe("the prefix rule", () => {
  const failed = "502,c8y_Command,c8ylink restarted while the operation was executing";

  /** Reboots from `durable` with no answer line and lets settling end. */
  const reboot = (durable: Record<string, unknown>): Harness => {
    const h = gateOpen(durable);
    h.ackAll();
    h.advance(5 * SETTLE);
    h.flush();
    return h;
  };

  it("an unlisted announced 501 was applied: delivered (counted, reported, deleted), not withdrawn, not re-sent", () => {
    const h = reboot({
      ...journal("op-1", 1, "executing"),
      ...outboxRow(2, "501,c8y_Command", "op-1#executing"),
    });
    expect(statusRows(h)).toEqual([failed]);
    const delivered = h.reports().filter((r) => r.kind === "delivered");
    expect(delivered[0]).toEqual({ kind: "delivered", refs: [2] });
    const deletes = commandsOf(h.commands, "persist").flatMap((p) =>
      p.changes.filter((c) => c.value === null).map((c) => c.key),
    );
    expect(deletes).toContain("outbox/000000000002");
    expect(h.state.counters.delivered).toBe(2); // the 501 (inferred) and the 502
    expect(h.state.counters.dropped).toBe(0);
    expect(h.state.counters.droppedByReason).toEqual({});
    expect(h.state.outbox["operation-status"]).toMatchObject({ count: 0, bytes: 0 });
  });

  it("a stale row of an ended operation is withdrawn: counted once as dropped, deleted, never delivered", () => {
    const h = reboot(outboxRow(12, "501,c8y_Restart", "op-5#executing"));
    expect(statusRows(h)).toEqual([]);
    expect(h.state.counters.dropped).toBe(1);
    expect(h.state.counters.droppedByReason).toEqual({ "operation-status-withdrawn": 1 });
    expect(h.state.counters.delivered).toBe(0);
    expect(h.reports().filter((r) => r.kind === "delivered")).toEqual([]);
    expect(h.state.outbox["operation-status"]).toMatchObject({ count: 0, bytes: 0 });
  });

  it("the anchor is the latest announced, unlisted operation of the group: rows before it applied, its own terminal row re-sent; a waiting one is no anchor", () => {
    // Keys in one order, journal order in another: op-a 1, op-b 3 (the anchor), op-c 2;
    // op-d (order 4) is waiting, never announced.
    const h = reboot({
      ...journal("op-a", 1, "finished"),
      ...journal("op-b", 3, "finished", ["511", "dev2", "pwd"]),
      ...journal("op-c", 2, "finished", ["511", "dev2", "id"]),
      ...journal("op-d", 4, "received", ["511", "dev2", "uptime"]),
      ...outboxRow(3, "503,c8y_Command,a", "op-a"),
      ...outboxRow(4, "503,c8y_Command,c", "op-c"),
      ...outboxRow(5, "501,c8y_Command", "op-b#executing"),
      ...outboxRow(6, "503,c8y_Command,b", "op-b"),
    });
    const delivered = h.reports().find((r) => r.kind === "delivered");
    expect(delivered).toEqual({ kind: "delivered", refs: [3, 4, 5] });
    // op-b's 503 is re-sent; then op-d starts.
    expect(statusRows(h).slice(0, 2)).toEqual(["503,c8y_Command,b", "501,c8y_Command"]);
  });
});
