/**
 * The transitions of one id-less operation in the journal (engine/lifecycle/operations.ts),
 * each stated as what the engine promises at that step: received → durable → executing
 * (501 out, acknowledged) → handed out → result → finished (terminal row durable) → terminal
 * row acknowledged → forgotten, its line kept as a tombstone for `tombstoneMs`. Also what
 * may not happen: a result for an operation that is not running, two operations of one
 * fragment at once, a group starting before its entries are durable or the gate is open.
 */
import { describe, expect, it } from "vitest";
import { entryOf } from "@c8ylink/core";
import { Harness, commandsOf } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const config = dev2Static;

const online = (extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...config, ...extra });
  h.bringOnline();
  h.flush();
  return h;
};
const statusRows = (h: Harness): string[] => h.rowsOn("s/us").filter((r) => /^50[1-7]/.test(r));
const invalid = (h: Harness) => h.reports().filter((r) => r.kind === "invalid-input");

describe("a result for an operation that is not running", () => {
  it("is refused when the key is unknown: named, counted, nothing sent", () => {
    const h = online();
    const out = h.finish("op-404", { status: "successful" });
    expect(invalid(h)).toEqual([
      { kind: "invalid-input", source: "operation-result", reason: "unknown operation op-404" },
    ]);
    expect(h.state.counters.invalidInputs).toBe(1);
    expect(commandsOf(out, "publish")).toEqual([]);
    expect(commandsOf(out, "persist")).toEqual([]);
  });

  it("is refused while the operation is received but not durable, and it still runs once it is", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,ls");
    h.finish("op-1", { status: "successful" });
    expect(invalid(h).map((r) => r.kind === "invalid-input" && r.reason)).toEqual([
      "operation op-1 is not executing (received)",
    ]);
    expect(entryOf(h.state.journal, "op-1")?.stage).toBe("received");
    h.persistAll();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1"]);
  });

  it("is refused while the executing stage is not yet durable (not handed out)", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,ls");
    h.persistAll(1); // the entry is durable: 501 queued, the executing stage is being written
    expect(entryOf(h.state.journal, "op-1")).toMatchObject({ stage: "executing", handedOut: false });
    h.finish("op-1", { status: "successful" });
    expect(invalid(h).map((r) => r.kind === "invalid-input" && r.reason)).toEqual([
      "operation op-1 is not executing (executing)",
    ]);
    expect(statusRows(h).filter((r) => r.startsWith("503"))).toEqual([]);
  });

  it("is refused the second time: one terminal row, whatever the second result says", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,ls");
    h.persistAll();
    h.finish("op-1", { status: "successful" });
    h.finish("op-1", { status: "failed", reason: "late" });
    h.flush();
    expect(invalid(h).map((r) => r.kind === "invalid-input" && r.reason)).toEqual([
      "operation op-1 is not executing (finished)",
    ]);
    expect(h.state.counters.operationsFailed).toBe(0);
    expect(statusRows(h)).toEqual(["501,c8y_Command", "503,c8y_Command"]);
  });
});

describe("failures are counted once each", () => {
  it("a failed result counts, a successful one does not", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,a\n510,dev2");
    h.persistAll();
    h.finish("op-1", { status: "failed", reason: "exit 2" });
    h.finish("op-2", { status: "successful" });
    h.flush();
    expect(h.state.counters.operationsFailed).toBe(1);
    expect(h.reports().filter((r) => r.kind === "operation-failed")).toEqual([]);
  });

  it("an operation that cannot run is failed without being handed out, reported with its key and reason", () => {
    const h = online();
    h.deliver("s/ds", "513,dev2,text");
    h.persistAll();
    h.flush();
    const failed = h.reports().filter((r) => r.kind === "operation-failed");
    expect(failed).toEqual([
      {
        kind: "operation-failed",
        key: "op-1",
        fragment: "c8y_Configuration",
        reason: expect.stringContaining("c8y_Configuration is not supported"),
      },
    ]);
    expect(h.state.counters.operationsFailed).toBe(1);
    expect(h.handedOut).toEqual([]);
    // The next operation of the fragment is not held up by it.
    h.deliver("s/ds", "511,dev2,b");
    h.persistAll();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-2"]);
  });
});

describe("from received to forgotten", () => {
  it("persists each stage, marks the acknowledged 501, and deletes the entry once its terminal row is acknowledged", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,ls");
    h.persistAll(1);
    expect(h.storage.get("journal/op-1")).toMatchObject({ stage: "received" });
    h.persistAll(1);
    expect(h.storage.get("journal/op-1")).toMatchObject({ stage: "executing" });
    expect(entryOf(h.state.journal, "op-1")?.executingAcked).toBe(false);
    h.ackAll();
    expect(entryOf(h.state.journal, "op-1")).toMatchObject({ executingAcked: true, handedOut: true });

    h.finish("op-1", { status: "successful" });
    expect(entryOf(h.state.journal, "op-1")?.stage).toBe("finished");
    h.persistAll();
    expect(h.storage.get("journal/op-1")).toMatchObject({ stage: "finished" });
    h.ackAll();
    expect(entryOf(h.state.journal, "op-1")).toBeUndefined();
    h.persistAll();
    expect(h.storage.has("journal/op-1")).toBe(false);
  });

  it("keeps the ended line as a tombstone until exactly tombstoneMs after its terminal row was acknowledged", () => {
    const h = online({ tombstoneMs: 5_000 });
    h.deliver("s/ds", "511,dev2,ls");
    h.persistAll();
    h.persistAll();
    h.finish("op-1", { status: "successful" });
    h.persistAll();
    h.advance(1_000);
    const acked = h.now;
    h.ackAll();
    expect(h.timers.get("tombstones")).toBe(acked + 5_000);

    h.advance(4_999);
    h.deliver("s/ds", "511,dev2,ls"); // a stale copy: absorbed, not journaled
    h.persistAll();
    expect(entryOf(h.state.journal, "op-2")).toBeUndefined();
    expect(h.state.counters.operationsDuplicate).toBe(1);
    expect(h.handedOut).toHaveLength(1);

    const rows500 = () => h.rowsOn("s/us").filter((r) => r === "500").length;
    const before = rows500();
    h.advance(1);
    h.flush();
    // It absorbed a line that might have been a real second operation: ask again.
    expect(rows500()).toBe(before + 1);
    expect(h.timers.has("tombstones")).toBe(false);

    h.deliver("s/ds", "511,dev2,ls"); // now a new operation
    h.persistAll();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1", "op-2"]);
  });

  it("takes a line arriving at its tombstone's expiry as a new operation, before the expiry timer fired", () => {
    const h = online({ tombstoneMs: 5_000 });
    h.deliver("s/ds", "511,dev2,ls");
    h.flush();
    h.finish("op-1", { status: "successful" });
    h.flush();
    const expiry = h.timers.get("tombstones")!;
    h.now = expiry; // the line and the timer are due at once; the line is handled first
    h.deliver("s/ds", "511,dev2,ls");
    h.flush();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1", "op-2"]);
    expect(h.state.counters.operationsDuplicate).toBe(0);
  });

  it("asks for nothing when a tombstone that absorbed nothing expires", () => {
    const h = online({ tombstoneMs: 5_000 });
    h.deliver("s/ds", "511,dev2,ls");
    h.persistAll();
    h.persistAll();
    h.finish("op-1", { status: "successful" });
    h.flush();
    const before = h.rowsOn("s/us").length;
    expect(h.timers.has("tombstones")).toBe(true);
    h.advance(5_000);
    h.flush();
    expect(h.rowsOn("s/us").length).toBe(before);
    expect(h.timers.has("tombstones")).toBe(false);
  });

  it("re-arms the tombstone timer for the next expiry when the earliest one goes", () => {
    const h = online({ tombstoneMs: 5_000 });
    h.deliver("s/ds", "511,dev2,a\n510,dev2");
    h.persistAll();
    h.persistAll();
    h.finish("op-1", { status: "successful" });
    h.flush();
    const first = h.now + 0;
    h.advance(2_000);
    h.finish("op-2", { status: "successful" });
    h.flush();
    expect(h.timers.get("tombstones")).toBe(first + 5_000);
    h.advance(3_000);
    expect(h.timers.get("tombstones")).toBe(first + 2_000 + 5_000);
  });
});

describe("one operation per (device, fragment) at a time", () => {
  it("a line seen again while its operation runs does not let the next one start", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,a\n511,dev2,b");
    h.persistAll();
    h.persistAll();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1"]);
    h.deliver("s/ds", "511,dev2,a"); // redelivered while executing
    h.flush();
    h.deliver("s/ds", "511,dev2,c"); // the group is looked at again once this one is durable
    h.flush();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1"]);
    expect(entryOf(h.state.journal, "op-1")).toMatchObject({ stage: "executing", duplicates: 1 });
    expect(entryOf(h.state.journal, "op-2")?.stage).toBe("received");
    h.finish("op-1", { status: "successful" });
    h.flush();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1", "op-2"]);
  });

  it("a line seen again while it waits moves behind the lines seen before that sighting", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,a\n511,dev2,b\n511,dev2,a");
    h.persistAll();
    h.persistAll();
    expect(entryOf(h.state.journal, "op-1")?.duplicates).toBe(1);
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-2"]);
    h.finish("op-2", { status: "successful" });
    h.flush();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-2", "op-1"]);
  });

  it("groups made durable by one persist start in the order their first lines arrived", () => {
    for (const payload of ["511,dev2,a\n510,dev2", "510,dev2\n511,dev2,a"]) {
      const h = online();
      h.deliver("s/ds", payload);
      h.persistBatch();
      h.persistBatch();
      const fragments = payload.split("\n").map((l) => (l.startsWith("510") ? "c8y_Restart" : "c8y_Command"));
      h.ackAll();
      expect(h.handedOut.map((o) => o.fragment)).toEqual(fragments);
      expect(statusRows(h)).toEqual(fragments.map((f) => `501,${f}`));
    }
  });

  it("starts nothing while the connection is down, and starts it once the next session has settled", () => {
    const h = online();
    h.deliver("s/ds", "511,dev2,late");
    h.drop(); // before the entry is durable
    h.persistAll();
    expect(h.handedOut).toEqual([]);
    expect(entryOf(h.state.journal, "op-1")?.stage).toBe("received");
    h.advance(400_000);
    h.connack();
    h.suback();
    h.ackAll();
    expect(h.handedOut).toEqual([]); // an older PENDING operation may still show up
    h.deliver("s/ds", "511,dev2,late"); // the answer to the 500 lists it, alone
    h.flush();
    expect(h.handedOut).toEqual([]);
    h.advance(h.timers.get("settle")! - h.now);
    h.flush();
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-1"]);
  });
});

describe("how many operations the engine takes on", () => {
  it("journals up to maxOpenOperations unfinished ones and ignores the next, naming the line", () => {
    const h = online({ maxOpenOperations: 2 });
    h.deliver("s/ds", "511,dev2,a\n511,dev2,b\n511,dev2,c");
    expect(h.reports().filter((r) => r.kind === "operation-ignored")).toEqual([
      { kind: "operation-ignored", reason: "too many open operations", raw: ["511", "dev2", "c"] },
    ]);
    expect(h.state.counters.operationsReceived).toBe(3);
    h.persistAll();
    h.persistAll();
    h.finish("op-1", { status: "successful" });
    // op-1 is finished (no longer open) though its terminal row is still on its way: room again.
    h.deliver("s/ds", "511,dev2,c");
    expect(entryOf(h.state.journal, "op-3")).toMatchObject({ raw: ["511", "dev2", "c"], stage: "received" });
  });

  it("names a target that cannot be a topic level in the reason", () => {
    const h = online();
    h.deliver("s/ds", "510,a/b");
    expect(h.reports().at(-1)).toEqual({
      kind: "operation-ignored",
      reason: 'target device id "a/b" is not a valid topic level',
      raw: ["510", "a/b"],
    });
    expect(h.state.counters.operationsReceived).toBe(0);
  });
});

describe("lines of custom templates", () => {
  const custom = {
    customTemplates: ["ops"],
    customOperations: [{ xid: "ops", messageId: "511", fragment: "c8y_Command" }],
  };

  it("run in a by-id session, where the s/ds line of an operation is skipped and counted", () => {
    const h = online({ ...custom, operations: "by-id" });
    h.deliver("s/ds", "511,dev2,a");
    h.deliver("s/dc/ops", "511,dev2,b");
    h.flush();
    expect(h.state.counters.operationsStaticSkipped).toBe(1);
    expect(h.handedOut.map((o) => o.operation)).toEqual([
      {
        template: "custom",
        xid: "ops",
        messageId: "511",
        fragment: "c8y_Command",
        deviceId: "dev2",
        values: ["b"],
      },
    ]);
  });

  it("do not answer a probe of an s/ds line, even when the text is the same", () => {
    // After a crash while executing, the 501 is taken as applied; the platform says it was not
    // (s/e 41) and the engine watches for the s/ds line to come back (static-resync.test.ts).
    const h = new Harness({ ...config, ...custom });
    h.start({
      "journal/op-1": {
        key: "op-1",
        seq: 1,
        deviceId: "dev2",
        fragment: "c8y_Command",
        raw: ["511", "dev2", "ls"],
        failure: null,
        stage: "executing",
        order: 1,
      },
      "outbox/000000000002": {
        ref: 2,
        cls: "operation-status",
        topic: "s/us",
        line: "501,c8y_Command",
        bytes: 15,
        template: "501",
        opKey: "op-1#executing",
      },
    });
    h.connack();
    h.suback();
    h.flush();
    h.advance(60_000);
    h.flush();
    const failed = "502,c8y_Command,c8ylink restarted while the operation was executing";
    expect(statusRows(h)).toEqual([failed]);
    h.deliver("s/e", "41,502,No EXECUTING operation with fragment c8y_Command for device dev2");
    h.flush();
    h.deliver("s/dc/ops", "511,dev2,ls"); // another collection's operation, not the probed line
    h.flush();
    expect(statusRows(h).filter((r) => r === failed)).toHaveLength(1);
    h.deliver("s/ds", "511,dev2,ls"); // the probed line itself
    h.flush();
    expect(statusRows(h).filter((r) => r === failed)).toHaveLength(2);
  });
});

describe("after a restart", () => {
  const received = (key: string, seq: number, fragment: string, raw: string[]) => ({
    [`journal/${key}`]: {
      key,
      seq,
      deviceId: "dev2",
      fragment,
      raw,
      failure: null,
      stage: "received",
      order: seq,
    },
  });

  it("starts the waiting groups in the order their operations arrived, not in key order", () => {
    // "op-10" sorts before "op-9" as a key; op-9 arrived first.
    const h = new Harness(config);
    h.start({
      ...received("op-9", 9, "c8y_Command", ["511", "dev2", "first"]),
      ...received("op-10", 10, "c8y_Restart", ["510", "dev2"]),
    });
    h.connack();
    h.suback();
    h.flush();
    h.advance(60_000);
    h.flush();
    expect(statusRows(h)).toEqual(["501,c8y_Command", "501,c8y_Restart"]);
    expect(h.handedOut.map((o) => o.key)).toEqual(["op-9", "op-10"]);
  });
});
