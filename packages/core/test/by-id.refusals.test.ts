/**
 * Operations by id that are refused or absorbed rather than started (written against the
 * survivors of a mutation run of engine/lifecycle/by-id.ts): each says why in an
 * `operation-ignored` report carrying the line, journals nothing, and is counted once.
 */
import { describe, expect, it } from "vitest";
import { Harness } from "./support/harness.js";

const TOPIC = "devicecontrol/notifications";
const config = {
  deviceId: "dev1",
  auth: { mode: "password", tenant: "t7", user: "device_dev1", password: "pw" },
  supportedOperations: ["c8y_Restart", "c8y_Command"],
  seed: 3,
};
const command = (id: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    id,
    deviceId: "900",
    status: "PENDING",
    creationTime: "2026-11-29T10:00:00Z",
    c8y_Command: { text: "uptime" },
    ...extra,
  });

const online = (extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...config, ...extra });
  h.bringOnline();
  h.flush();
  return h;
};
const ignored = (h: Harness) => h.reports().filter((r) => r.kind === "operation-ignored");
const journaled = (h: Harness) => [...h.storage.keys()].filter((k) => k.startsWith("journal/"));

describe("operations by id that are not started", () => {
  it.each(["SUCCESSFUL", "FAILED"])("one already %s: ignored with the reason and the line", (status) => {
    const h = online();
    const line = command("77", { status });
    h.deliver(TOPIC, line);
    h.flush();
    expect(ignored(h)).toEqual([
      { kind: "operation-ignored", reason: `operation 77 is already ${status}`, raw: [line] },
    ]);
    expect(journaled(h)).toEqual([]);
    expect(h.handedOut).toEqual([]);
    expect(h.state.counters.operationsReceived).toBe(1);
  });

  it("one beyond maxOpenOperations: ignored (it stays PENDING on the platform), the open one runs", () => {
    const h = online({ maxOpenOperations: 1 });
    h.deliver(TOPIC, command("1"));
    h.flush();
    const second = command("2");
    h.deliver(TOPIC, second);
    h.flush();
    expect(ignored(h)).toEqual([
      { kind: "operation-ignored", reason: "too many open operations", raw: [second] },
    ]);
    expect(journaled(h)).toEqual(["journal/id-1"]);
    expect(h.handedOut.map((o) => o.key)).toEqual(["id-1"]);
    expect(h.state.counters.operationsReceived).toBe(2);
  });

  it("counts each notification once, a redelivery once as a duplicate, and a malformed one as bad input", () => {
    const h = online();
    h.deliver(TOPIC, command("5"));
    h.flush();
    h.deliver(TOPIC, command("5"));
    h.flush();
    expect(h.state.counters.operationsReceived).toBe(2);
    expect(h.state.counters.operationsDuplicate).toBe(1);
    expect(h.handedOut.map((o) => o.key)).toEqual(["id-5"]);
    expect(h.state.counters.invalidInputs).toBe(0);
    h.deliver(TOPIC, "{not json");
    expect(h.state.counters.invalidInputs).toBe(1);
    expect(h.state.counters.operationsReceived).toBe(2);
  });
});
