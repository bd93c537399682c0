/**
 * Losing the connection in the phases where it means little or nothing
 * (engine/lifecycle/session.ts `onConnectionEnded`): before the engine started, and while
 * stopping, where the loss ends the stop and says so.
 */
import { describe, expect, it } from "vitest";
import { Harness, commandsOf } from "./support/harness.js";

const config = {
  deviceId: "dev6",
  auth: { mode: "password", tenant: "t6", user: "device_dev6", password: "pw" },
  seed: 13,
};

describe("a lost connection", () => {
  it("before start changes nothing: no reconnect is scheduled, the engine stays idle", () => {
    const h = new Harness(config);
    const out = h.drop();
    expect(out).toEqual([]);
    expect(h.state.phase.name).toBe("idle");
    expect(h.state.timers).toEqual({});
    expect(commandsOf(h.start(), "connect")).toHaveLength(1);
  });

  it("while stopping ends the stop, naming the loss as the reason, with what was not delivered", () => {
    const h = new Harness(config);
    h.bringOnline();
    h.send({ type: "submit", message: { template: "400", type: "t", text: "x" } });
    h.send({ type: "stop" });
    const out = h.drop();
    expect(
      h
        .reports()
        .filter((r) => r.kind === "phase")
        .at(-1),
    ).toEqual({
      kind: "phase",
      from: "stopping",
      to: "stopped",
      reason: "connection lost while stopping",
    });
    expect(h.reports().at(-1)).toEqual({ kind: "stopped", undelivered: 1 });
    expect(commandsOf(out, "timer-set")).toEqual([]);
    expect(h.state.counters.connectionLosses).toBe(1);
  });
});
