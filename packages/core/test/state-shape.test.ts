/**
 * Per-engine state shape (fleet memory, issue 10): a step's state has exactly the fields of a
 * fresh state (the step's draft writes every field out), an online engine's phase and its
 * drained session outboxes are the shared records, not copies per engine.
 */
import { describe, expect, it } from "vitest";
import { initialState } from "../src/index.js";
import { emptyOutbox } from "../src/engine/outbox.js";
import { Harness } from "./support/harness.js";

const config = {
  deviceId: "shape-1",
  auth: { mode: "password", tenant: "t1", user: "device_shape-1", password: "pw" },
  seed: 7,
};

const online = (): Harness => {
  const h = new Harness(config);
  h.start();
  h.connack();
  h.suback();
  h.flush();
  return h;
};

describe("per-engine state shape", () => {
  it("a stepped state has exactly the fields of a fresh one", () => {
    const h = online();
    expect(Object.keys(h.state).sort()).toEqual(Object.keys(initialState(h.state.config)).sort());
    expect(Object.keys(h.state.session).sort()).toEqual(
      ["afterGateRows", "inflight", "operationsById", "registrationRows", "settle"].sort(),
    );
  });

  it("two online engines share their phase and their drained session outboxes", () => {
    const a = online();
    const b = online();
    expect(a.state.phase.name).toBe("online");
    expect(a.state.phase).toBe(b.state.phase);
    expect(a.state.session.registrationRows).toBe(emptyOutbox());
    expect(a.state.session.afterGateRows).toBe(emptyOutbox());
  });
});
