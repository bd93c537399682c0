/**
 * Transitions of engine/lifecycle/operations.ts that operations.transitions.test.ts leaves
 * open, each stated as behaviour: an operation restored from storage that no longer decodes
 * is failed with its reason; tombstones keep what their entry absorbed and arm their timer
 * only when the earliest expiry changes; an operation known by id starts while an id-less
 * answer is still settling.
 */
import { describe, expect, it } from "vitest";
import { entryOf } from "@c8ylink/core";
import { Harness, commandsOf } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const online = (extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...dev2Static, ...extra });
  h.bringOnline();
  h.flush();
  return h;
};
const statusRows = (h: Harness): string[] => h.rowsOn("s/us").filter((r) => /^50[1-7]/.test(r));
const count500 = (h: Harness) => h.rowsOn("s/us").filter((r) => r === "500").length;

describe("an operation restored from storage that no longer decodes", () => {
  it("is failed when its turn comes, with the reason 'operation could not be decoded'", () => {
    const h = new Harness(dev2Static);
    h.start({
      "journal/op-1": {
        key: "op-1",
        seq: 1,
        deviceId: "dev2",
        fragment: "c8y_Command",
        raw: ["999", "dev2"], // no template 999: no operation
        failure: null,
        stage: "received",
        order: 1,
      },
    });
    h.connack();
    h.suback();
    h.flush();
    h.advance(60_000);
    h.flush();
    expect(h.reports().filter((r) => r.kind === "operation-failed")).toEqual([
      {
        kind: "operation-failed",
        key: "op-1",
        fragment: "c8y_Command",
        reason: "operation could not be decoded",
      },
    ]);
    expect(statusRows(h)).toEqual(["501,c8y_Command", "502,c8y_Command,operation could not be decoded"]);
    expect(h.handedOut).toEqual([]);
    expect(h.state.counters.operationsFailed).toBe(1);
  });
});

describe("the acknowledged terminal row of an id-less operation", () => {
  it("remembers no finished operation id: there is none", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,ls");
    h.flush();
    h.finish("op-1", { status: "successful" });
    h.flush();
    expect(entryOf(h.state.journal, "op-1")).toBeUndefined();
    expect([...h.storage.keys()].filter((k) => k.startsWith("finished/"))).toEqual([]);
    expect(h.state.finishedIds).toEqual(new Harness(dev2Static).state.finishedIds);
  });
});

describe("tombstones", () => {
  it("a line absorbed while its operation ran is remembered by the tombstone: its expiry asks again (500)", () => {
    const h = online({ tombstoneMs: 5_000 });
    h.deliver("s/ds", "511,dev2,ls");
    h.flush();
    h.deliver("s/ds", "511,dev2,ls"); // redelivered while executing
    expect(entryOf(h.state.journal, "op-1")?.duplicates).toBe(1);
    h.finish("op-1", { status: "successful" });
    h.flush();
    const before = count500(h);
    h.advance(5_000);
    h.flush();
    expect(count500(h)).toBe(before + 1);
  });

  it("arms the timer for the first tombstone and leaves it alone for a later one", () => {
    const h = online({ tombstoneMs: 5_000 });
    h.deliver("s/ds", "511,dev2,a\n510,dev2");
    h.flush();
    const first = h.finish("op-1", { status: "successful" });
    const firstTimers = [...first, ...h.flush()].filter(
      (c) => c.type === "timer-set" && c.key === "tombstones",
    );
    expect(firstTimers).toEqual([{ type: "timer-set", key: "tombstones", atMs: h.now + 5_000 }]);
    h.advance(1_000);
    const second = [...h.finish("op-2", { status: "successful" }), ...h.flush()];
    expect(commandsOf(second, "timer-set").filter((t) => t.key === "tombstones")).toEqual([]);
    expect(h.timers.get("tombstones")).toBe(h.now - 1_000 + 5_000);
  });

  it("a line arriving one millisecond before its tombstone expires is absorbed", () => {
    const h = online({ tombstoneMs: 5_000 });
    h.deliver("s/ds", "511,dev2,ls");
    h.flush();
    h.finish("op-1", { status: "successful" });
    h.flush();
    h.now = h.timers.get("tombstones")! - 1;
    h.deliver("s/ds", "511,dev2,ls");
    h.flush();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1"]);
    expect(h.state.counters.operationsDuplicate).toBe(1);
  });
});

describe("an operation known by id", () => {
  const TOPIC = "devicecontrol/notifications";
  const byId = {
    deviceId: "dev1",
    auth: { mode: "password", tenant: "t7", user: "device_dev1", password: "pw" },
    supportedOperations: ["c8y_Restart", "c8y_Command"],
    seed: 3,
  };

  it("starts while the answer to the 500 is still settling, where an id-less one waits", () => {
    const h = new Harness(byId);
    // An id-less operation journaled from its s/ds line in an earlier (static) session.
    h.start({
      "journal/op-1": {
        key: "op-1",
        seq: 1,
        deviceId: "dev1",
        fragment: "c8y_Restart",
        raw: ["510", "dev1"],
        failure: null,
        stage: "received",
        order: 1,
      },
    });
    h.connack();
    h.suback();
    h.ackAll();
    expect(h.timers.has("settle")).toBe(true);
    h.deliver(
      TOPIC,
      JSON.stringify({
        id: "42",
        deviceId: "900",
        status: "PENDING",
        creationTime: "2026-11-29T10:00:00Z",
        c8y_Command: { text: "ls" },
      }),
    );
    h.flush();
    expect(h.timers.has("settle")).toBe(true);
    expect(h.handedOut.map((o) => o.key)).toEqual(["id-42"]);
    expect(entryOf(h.state.journal, "id-42")?.stage).toBe("executing");
    // The id-less one waits: an older PENDING operation of its fragment may still show up.
    expect(entryOf(h.state.journal, "op-1")?.stage).toBe("received");
  });
});

describe("the cleanup 507 of a group, after a restart", () => {
  const CLEANUP = "507,c8y_Command,c8ylink: a status row may have been applied twice";
  const RESTART_CLEANUP = "507,c8y_Restart,c8ylink: a status row may have been applied twice";
  const CRASHED = "502,c8y_Command,c8ylink restarted while the operation was executing";
  const entry = (key: string, seq: number, fragment: string, raw: string[], stage: string, order = seq) => ({
    [`journal/${key}`]: { key, seq, deviceId: "dev2", fragment, raw, failure: null, stage, order },
  });
  const row = (ref: number, line: string) => ({
    [`outbox/${String(ref).padStart(12, "0")}`]: {
      ref,
      cls: "operation-status",
      topic: "s/us",
      line,
      bytes: line.length,
      template: line.split(",")[0],
    },
  });
  /** Boots from `durable`, lets the session settle and delivers everything. */
  const reboot = (durable: Record<string, unknown>): Harness => {
    const h = new Harness(dev2Static);
    h.start(durable);
    h.connack();
    h.suback();
    h.flush();
    h.advance(60_000);
    h.flush();
    return h;
  };
  const runCommand = (h: Harness, text: string) => {
    h.deliver("s/ds", `511,dev2,${text}`);
    h.flush();
    h.finish(h.handedOut.at(-1)!.key, { status: "successful" });
    h.flush();
  };

  it("goes out once per group however often the group was marked, and never again for that mark", () => {
    const h = reboot({
      ...entry("op-1", 1, "c8y_Command", ["511", "dev2", "ls"], "executing"),
      ...row(3, CLEANUP),
      ...row(4, CLEANUP),
    });
    expect(statusRows(h)).toEqual([CRASHED, CLEANUP]);
    runCommand(h, "date");
    expect(statusRows(h)).toEqual([CRASHED, CLEANUP, "501,c8y_Command", "503,c8y_Command"]);
  });

  it("waits until no operation of the group is left, so it cannot fail one of ours", () => {
    const h = reboot({
      ...entry("op-1", 1, "c8y_Command", ["511", "dev2", "ls"], "executing"),
      ...entry("op-2", 2, "c8y_Command", ["511", "dev2", "date"], "received"),
      ...row(3, CLEANUP),
    });
    expect(statusRows(h)).toEqual([CRASHED, "501,c8y_Command"]);
    h.finish("op-2", { status: "successful" });
    h.flush();
    expect(statusRows(h)).toEqual([CRASHED, "501,c8y_Command", "503,c8y_Command", CLEANUP]);
  });

  it("belongs to its group: an operation of another group ending first sends none", () => {
    const h = reboot({
      ...entry("op-1", 1, "c8y_Restart", ["510", "dev2"], "executing"),
      ...entry("op-2", 2, "c8y_Command", ["511", "dev2", "ls"], "executing"),
      ...row(3, CLEANUP),
    });
    expect(statusRows(h)).toEqual(["503,c8y_Restart", CRASHED, CLEANUP]);
  });

  it("fails a stray restart when the group was also marked for a reason other than the reboot", () => {
    // The restart absorbed an identical line while PENDING (order bumped): marked after the
    // reboot, where a stray restart ends SUCCESSFUL; a restored 507 of the group marks it again.
    const h = reboot({
      ...entry("op-1", 1, "c8y_Restart", ["510", "dev2"], "executing", 2),
      ...row(3, RESTART_CLEANUP),
    });
    expect(statusRows(h)).toEqual(["503,c8y_Restart", RESTART_CLEANUP]);
  });
});

describe("when an operation starts", () => {
  it("a line not yet durable when settling ends starts only once it is durable", () => {
    const h = online();
    h.drop();
    h.advance(h.timers.get("reconnect")! - h.now);
    h.connack();
    h.suback();
    h.ackAll();
    h.deliver("s/ds", "511,dev2,ls");
    h.advance(h.timers.get("settle")! - h.now);
    h.ackAll();
    expect(statusRows(h)).toEqual([]);
    expect(entryOf(h.state.journal, "op-1")?.stage).toBe("received");
    h.flush();
    expect(statusRows(h)).toEqual(["501,c8y_Command"]);
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1"]);
  });

  it("an operation whose EXECUTING stage becomes durable while the connection is down is handed out", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,ls");
    h.persistAll(1); // the entry is durable: 501 queued, the executing stage is being written
    h.drop();
    h.persistAll();
    expect(h.state.phase.name).toBe("waiting");
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1"]);
  });

  it("groups made durable together start in the order of their oldest entries, ended ones included", () => {
    // The order a restart would start them in (advanceAll), whatever order the lines came in.
    const h = online();
    h.deliver("s/ds", "511,dev2,a");
    h.flush();
    h.finish("op-1", { status: "successful" });
    h.persistAll(); // op-1 ended; its 503 stays unacknowledged, so op-1 stays in the journal
    h.deliver("s/ds", "510,dev2\n511,dev2,b");
    h.persistBatch();
    expect(entryOf(h.state.journal, "op-1")?.stage).toBe("finished");
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1"]);
    h.persistBatch();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1", "op-3", "op-2"]);
  });
});
