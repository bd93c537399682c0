/**
 * Scenario tests of operations by id (the default `operations: "by-id"`): JSON on
 * `devicecontrol/notifications`, the journal keyed by operation id, status by id (504/505/506),
 * redeliveries never run twice (across restarts too), `s/ds` twins skipped or adopted, and the
 * fallback to id-less operations when the platform refuses the JSON subscription.
 */
import { describe, expect, it } from "vitest";
import { Harness, commandsOf } from "./support/harness.js";
import { entryOf, finishedRecord, openEntries } from "@c8ylink/core";

const TOPIC = "devicecontrol/notifications";

const config = {
  deviceId: "dev1",
  auth: { mode: "password", tenant: "t7", user: "device_dev1", password: "pw" },
  children: [{ id: "kid" }],
  supportedOperations: ["c8y_Restart", "c8y_Command"],
  seed: 3,
};

const op = (id: string, fragment: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id,
    deviceId: "900",
    status: "PENDING",
    creationTime: "2026-11-29T10:00:00Z",
    ...extra,
    ...fragment,
  });
const command = (id: string, text: string, extra: Record<string, unknown> = {}) =>
  op(id, { c8y_Command: { text } }, extra);

const online = (durable: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...config, ...extra });
  h.bringOnline(durable);
  h.flush();
  return h;
};

const statusRows = (h: Harness, topic = "s/us"): string[] =>
  h.rowsOn(topic).filter((r) => /^50[1-7]/.test(r));

describe("operations by id", () => {
  it("subscribes devicecontrol/notifications in the Step 3 gate, beside s/ds, and goes online without settling", () => {
    const h = new Harness(config);
    h.start();
    h.connack();
    const [sub] = h.pendingSubscribes;
    expect(sub!.topics.map((t) => t.topic)).toEqual(["s/ds", TOPIC, "s/e"]);
    h.suback();
    expect(h.state.phase.name).toBe("online");
    expect(h.state.session.operationsById).toBe(true);
    expect(h.state.session.settle).toBeNull();
    h.ackAll();
    expect(h.rowsOn("s/us")).toContain("500");
  });

  it("journals an operation by id, announces 504 by id, hands it out once durable, ends with 506 by id", () => {
    const h = online();
    h.deliver(TOPIC, command("4711", "uptime"));
    expect(h.handedOut).toEqual([]); // not before the journal entry is durable
    expect(h.storage.has("journal/id-4711")).toBe(false);
    h.persistAll();
    expect(h.storage.get("journal/id-4711")).toMatchObject({ operationId: "4711", stage: "executing" });
    expect(h.handedOut).toMatchObject([
      { key: "id-4711", fragment: "c8y_Command", operation: { template: "511", text: "uptime" } },
    ]);
    h.finish("id-4711", { status: "successful", parameters: ["up 3 days"] });
    h.flush();
    expect(statusRows(h)).toEqual(["504,4711", "506,4711,up 3 days"]);
    // Forgotten from the journal once the platform has the terminal status; the id is remembered.
    expect(openEntries(h.state.journal)).toEqual([]);
    expect(h.storage.get("finished/4711")).toEqual({ atMs: h.now });
  });

  it("reports a child's operation on the child's own topic", () => {
    const h = online();
    h.deliver(
      TOPIC,
      op("77", { c8y_Restart: {} }, { externalSource: { externalId: "kid", type: "c8y_Serial" } }),
    );
    h.persistAll();
    expect(h.handedOut[0]).toMatchObject({ deviceId: "kid", fragment: "c8y_Restart" });
    h.finish(h.handedOut[0]!.key, { status: "failed", reason: "busy" });
    h.flush();
    expect(statusRows(h, "s/us/kid")).toEqual(["504,77", "505,77,busy"]);
    expect(statusRows(h)).toEqual([]);
  });

  it("never hands out a redelivered id: while pending, executing, finishing, or finished", () => {
    const h = online();
    h.deliver(TOPIC, command("1", "a"));
    h.deliver(TOPIC, command("1", "a")); // received
    h.persistAll();
    h.deliver(TOPIC, command("1", "a")); // executing
    h.finish("id-1", { status: "successful" });
    h.deliver(TOPIC, command("1", "a")); // finished, status not yet acknowledged
    h.flush();
    h.deliver(TOPIC, command("1", "a")); // finished and forgotten by the journal
    h.flush();
    expect(h.handedOut).toHaveLength(1);
    expect(h.state.counters.operationsDuplicate).toBe(4);
    expect(statusRows(h)).toEqual(["504,1", "506,1"]);
  });

  it("skips the s/ds line of the same operation (the platform sends both)", () => {
    const h = online();
    h.deliver("s/ds", "511,dev1,uptime");
    h.deliver(TOPIC, command("5", "uptime"));
    h.deliver("s/ds", "511,dev1,uptime");
    h.flush();
    expect(h.handedOut).toHaveLength(1);
    expect(h.state.counters.operationsStaticSkipped).toBe(2);
  });

  it("remembers finished ids across a restart, so a late redelivery is not run again", () => {
    const h = online();
    h.deliver(TOPIC, command("9", "reboot-ish"));
    h.persistAll();
    h.finish("id-9", { status: "successful" });
    h.flush();
    const storage = Object.fromEntries(h.storage);
    const after = online(storage);
    expect(finishedRecord(after.state.finishedIds)).toEqual({ "9": expect.any(Number) });
    after.deliver(TOPIC, command("9", "reboot-ish"));
    after.flush();
    expect(after.handedOut).toEqual([]);
    expect(after.state.counters.operationsDuplicate).toBe(1);
  });

  it("after a crash while executing: c8y_Restart ends SUCCESSFUL by id, anything else FAILED by id, neither runs again", () => {
    const h = online();
    h.deliver(TOPIC, op("21", { c8y_Restart: {} }));
    h.deliver(TOPIC, command("22", "long job"));
    h.persistAll();
    expect(h.handedOut.map((o) => o.key)).toEqual(["id-21", "id-22"]);
    const storage = Object.fromEntries(h.storage); // crash: nothing more is written
    const after = online(storage);
    after.deliver(TOPIC, op("21", { c8y_Restart: {} })); // redelivered after the reboot
    after.flush();
    expect(after.handedOut).toEqual([]);
    // The 504s were durable but not yet acknowledged at the crash: they go out again first.
    expect(statusRows(after)).toEqual([
      "504,21",
      "504,22",
      "506,21",
      "505,22,c8ylink restarted while the operation was executing",
    ]);
  });

  it("fails an id the platform lists EXECUTING but this device never started, without running it", () => {
    const h = online();
    h.deliver(TOPIC, command("31", "x", { status: "EXECUTING" }));
    h.flush();
    expect(h.handedOut).toEqual([]);
    expect(statusRows(h)).toEqual([
      "504,31",
      "505,31,the platform lists it EXECUTING but this device has no record of starting it: not run again",
    ]);
  });

  it("fails unsupported and malformed operations by id, with the reason", () => {
    const h = online();
    h.deliver(TOPIC, op("41", { c8y_Teleport: {} }));
    h.deliver(TOPIC, op("42", { c8y_Relay: { relayState: "OPEN" } }));
    h.deliver(TOPIC, "{not json");
    h.flush();
    expect(h.handedOut).toEqual([]);
    expect(statusRows(h)).toEqual([
      "504,41",
      "505,41,no handler is defined for fragment c8y_Teleport",
      "504,42",
      "505,42,operation c8y_Relay is not supported by this device",
    ]);
    expect(h.reports()).toContainEqual(expect.objectContaining({ kind: "invalid-input", source: TOPIC }));
  });

  it("bounds the remembered ids by count and by age, deleting the forgotten ones durably", () => {
    const h = online({}, { finishedOperations: { maxCount: 2, maxAgeMs: 3_600_000 } });
    for (const id of ["1", "2", "3"]) {
      h.deliver(TOPIC, command(id, "x"));
      h.persistAll();
      h.finish(`id-${id}`, { status: "successful" });
      h.flush();
      h.advance(1000);
    }
    expect(Object.keys(finishedRecord(h.state.finishedIds)).sort()).toEqual(["2", "3"]);
    expect(h.storage.has("finished/1")).toBe(false);
    h.advance(3_600_000);
    h.deliver(TOPIC, command("4", "x"));
    h.persistAll();
    h.finish("id-4", { status: "successful" });
    h.flush();
    expect(Object.keys(finishedRecord(h.state.finishedIds))).toEqual(["4"]);
  });

  it("falls back to id-less operations for the session when the platform refuses the JSON subscription", () => {
    const h = new Harness(config);
    h.start();
    h.connack();
    const sub = h.pendingSubscribes[0]!;
    h.suback(sub.topics.map((t) => (t.topic === TOPIC ? 0x80 : t.qos)));
    expect(h.state.phase.name).toBe("online");
    expect(h.state.session.operationsById).toBe(false);
    expect(h.reports()).toContainEqual(expect.objectContaining({ kind: "operations-mode", mode: "static" }));
    h.ackAll();
    h.advance(60_000); // settling (id-less mode)
    h.deliver("s/ds", "511,dev1,uptime");
    h.flush();
    h.advance(60_000);
    h.flush();
    expect(h.handedOut).toHaveLength(1);
    h.finish(h.handedOut[0]!.key, { status: "successful" });
    h.flush();
    expect(statusRows(h)).toEqual(["501,c8y_Command", "503,c8y_Command"]);
  });

  it("an operation journaled from its s/ds line adopts its id when the JSON arrives, and runs once", () => {
    // A static session (fallback) journals the line; the next session is by id.
    const h = new Harness(config);
    h.start();
    h.connack();
    h.suback(h.pendingSubscribes[0]!.topics.map((t) => (t.topic === TOPIC ? 0x80 : t.qos)));
    h.deliver("s/ds", "511,dev1,uptime");
    h.persistAll();
    expect(openEntries(h.state.journal).map((e) => e.key)).toEqual(["op-1"]);
    h.drop();
    h.advance(60_000);
    h.connack();
    h.suback();
    h.deliver(TOPIC, command("61", "uptime"));
    h.flush();
    h.advance(60_000);
    h.flush();
    expect(entryOf(h.state.journal, "op-1")?.operationId ?? "ended").not.toBe(null);
    expect(h.handedOut).toHaveLength(1);
    h.finish(h.handedOut[0]!.key, { status: "successful" });
    h.flush();
    expect(statusRows(h)).toEqual(["504,61", "506,61"]);
  });

  it("never emits a subscribe for the JSON topic in static mode", () => {
    const h = new Harness({ ...config, operations: "static" });
    h.start();
    const subs = commandsOf(h.connack(), "subscribe");
    expect(subs[0]!.topics.map((t) => t.topic)).not.toContain(TOPIC);
  });
});
