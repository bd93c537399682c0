/**
 * Operations by id that meet something already known (written against the survivors of a
 * mutation run of engine/lifecycle/by-id.ts): an id-less twin journaled from the `s/ds` line
 * takes the id, a stale notification of a line-born operation that just ended is absorbed by
 * its tombstone, a redelivery is counted on its entry, and a target that is not a valid topic
 * level is refused. Also the state a new entry starts in.
 */
import { describe, expect, it } from "vitest";
import { entryOf } from "@c8ylink/core";
import { Harness } from "./support/harness.js";

const TOPIC = "devicecontrol/notifications";
const config = {
  deviceId: "dev1",
  auth: { mode: "password", tenant: "t7", user: "device_dev1", password: "pw" },
  supportedOperations: ["c8y_Restart", "c8y_Command"],
  seed: 3,
};
const command = (id: string, text: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id,
    deviceId: "900",
    status: "PENDING",
    creationTime: "2026-11-29T10:00:00Z",
    c8y_Command: { text },
    ...extra,
  });

const online = (extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...config, ...extra });
  h.bringOnline();
  h.flush();
  return h;
};
/** Online in a session whose JSON subscription the platform refused: operations come as lines. */
const staticSession = (extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...config, ...extra });
  h.start();
  h.connack();
  h.suback(h.pendingSubscribes[0]!.topics.map((t) => (t.topic === TOPIC ? 0x80 : t.qos)));
  h.ackAll();
  return h;
};
/** The next session accepts the JSON subscription. */
const reconnectById = (h: Harness): void => {
  h.drop();
  h.advance(60_000);
  h.connack();
  h.suback();
  h.flush();
};
const statusRows = (h: Harness): string[] => h.rowsOn("s/us").filter((r) => /^50[1-7]/.test(r));
const journaled = (h: Harness) => [...h.storage.keys()].filter((k) => k.startsWith("journal/"));

describe("operations by id that meet something already known", () => {
  it("a new entry starts received, not acknowledged executing, not handed out, with no duplicates", () => {
    const h = online();
    h.deliver(TOPIC, command("4711", "uptime"));
    expect(entryOf(h.state.journal, "id-4711")).toMatchObject({
      operationId: "4711",
      stage: "received",
      executingAcked: false,
      handedOut: false,
      duplicates: 0,
    });
  });

  it("counts every redelivery on the entry it matched", () => {
    const h = online();
    h.deliver(TOPIC, command("8", "a"));
    h.deliver(TOPIC, command("8", "a"));
    expect(entryOf(h.state.journal, "id-8")?.duplicates).toBe(1);
    h.persistAll();
    h.deliver(TOPIC, command("8", "a"));
    expect(entryOf(h.state.journal, "id-8")?.duplicates).toBe(2);
    expect(h.state.counters.operationsDuplicate).toBe(2);
    expect(h.handedOut.map((o) => o.key)).toEqual(["id-8"]);
  });

  it.each(["kid/x", "kid+", "#"])("refuses a target device id %j that is not a valid topic level", (bad) => {
    const h = online();
    const line = command("90", "uptime", { externalSource: { externalId: bad, type: "c8y_Serial" } });
    h.deliver(TOPIC, line);
    h.flush();
    expect(h.reports().filter((r) => r.kind === "operation-ignored")).toEqual([
      {
        kind: "operation-ignored",
        reason: `operation 90: target device id "${bad}" is not a valid topic level`,
        raw: [line],
      },
    ]);
    expect(h.state.counters.operationsReceived).toBe(0);
    expect(journaled(h)).toEqual([]);
    expect(h.handedOut).toEqual([]);
    expect(statusRows(h).filter((r) => r.includes("90"))).toEqual([]);
  });

  it("a waiting id-less twin from the s/ds line adopts the id: it runs once, its statuses go by id", () => {
    const h = staticSession();
    // Two lines of one fragment: the second waits (received) while the first executes.
    h.deliver("s/ds", "511,dev1,first");
    h.deliver("s/ds", "511,dev1,uptime");
    h.advance(60_000);
    h.persistAll();
    h.flush();
    expect(h.handedOut.map((o) => o.operation)).toMatchObject([{ text: "first" }]);
    const [, waiting] = [...h.storage.keys()].filter((k) => k.startsWith("journal/"));
    const twinKey = waiting!.slice("journal/".length);
    expect(entryOf(h.state.journal, twinKey)).toMatchObject({ stage: "received", operationId: null });
    reconnectById(h);
    const duplicatesBefore = h.state.counters.operationsDuplicate;
    const json = command("61", "uptime");
    h.deliver(TOPIC, json);
    expect(entryOf(h.state.journal, twinKey)).toMatchObject({ operationId: "61", json, duplicates: 1 });
    expect(entryOf(h.state.journal, "id-61")).toBeUndefined();
    expect(h.state.counters.operationsDuplicate).toBe(duplicatesBefore + 1);
    h.persistAll();
    expect(h.storage.get(`journal/${twinKey}`)).toMatchObject({ operationId: "61" });
    h.finish(h.handedOut[0]!.key, { status: "successful" });
    h.persistAll();
    h.flush();
    expect(h.handedOut).toHaveLength(2);
    h.finish(h.handedOut[1]!.key, { status: "successful" });
    h.advance(10_000); // the answer window of the session's 500 (statuses wait for it)
    h.flush();
    expect(statusRows(h)).toEqual(["501,c8y_Command", "503,c8y_Command", "504,61", "506,61"]);
  });

  it("a twin from the s/ds line that already started keeps its id-less statuses and asks again (500) when it ends", () => {
    const h = staticSession();
    h.deliver("s/ds", "511,dev1,uptime");
    h.advance(60_000);
    h.flush();
    const [started] = h.handedOut;
    expect(statusRows(h)).toEqual(["501,c8y_Command"]);
    reconnectById(h);
    // 501 acted on "the oldest PENDING" of the fragment: whether that was id 63 cannot be known.
    h.deliver(TOPIC, command("63", "uptime"));
    h.flush();
    expect(entryOf(h.state.journal, started!.key)).toMatchObject({ operationId: null, duplicates: 1 });
    expect(entryOf(h.state.journal, "id-63")).toBeUndefined();
    expect(h.handedOut).toHaveLength(1);
    const asked = h.rowsOn("s/us").filter((r) => r === "500").length;
    h.finish(started!.key, { status: "successful" });
    h.advance(10_000); // the answer window of the session's 500 (statuses wait for it)
    h.flush();
    expect(statusRows(h)).toEqual(["501,c8y_Command", "503,c8y_Command"]);
    h.advance(120_000); // past the tombstone laid when the 503 was acknowledged (60 s)
    h.flush();
    expect(h.rowsOn("s/us").filter((r) => r === "500").length).toBe(asked + 1);
  });

  it("a stale notification of a line-born operation that just ended is absorbed by its tombstone", () => {
    const h = staticSession({ tombstoneMs: 600_000 });
    h.deliver("s/ds", "511,dev1,uptime");
    h.advance(60_000);
    h.persistAll();
    h.flush();
    h.finish(h.handedOut[0]!.key, { status: "successful" });
    h.persistAll();
    h.flush();
    expect(statusRows(h)).toEqual(["501,c8y_Command", "503,c8y_Command"]);
    reconnectById(h);
    const duplicatesBefore = h.state.counters.operationsDuplicate;
    const json = command("62", "uptime");
    h.deliver(TOPIC, json);
    h.persistAll();
    h.flush();
    expect(h.state.counters.operationsDuplicate).toBe(duplicatesBefore + 1);
    expect(entryOf(h.state.journal, "id-62")).toBeUndefined();
    expect(journaled(h)).toEqual([]);
    expect(h.handedOut).toHaveLength(1);
    expect(h.reports().filter((r) => r.kind === "operation-ignored")).toEqual([]);
    // The tombstone counted what it absorbed: when it expires the engine asks for PENDING
    // operations again (500), so a genuine twin that was hidden comes back.
    const asked = h.rowsOn("s/us").filter((r) => r === "500").length;
    h.advance(600_000);
    h.flush();
    expect(h.rowsOn("s/us").filter((r) => r === "500").length).toBe(asked + 1);
  });
});
