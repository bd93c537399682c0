/**
 * Deterministic scenarios of the fake world: each names a seed and a fault plan, so a failure
 * reproduces exactly (`explain(report)` prints the invariant and the trace leading to it).
 */
import { describe, expect, it } from "vitest";
import { listOperations, listRegistrations } from "@c8ylink/platform";
import { NO_FAULTS, explain, runWorld, type WorldReport } from "../src/index.js";

const expectOk = (r: WorldReport): void => {
  expect(r.ok, explain(r)).toBe(true);
};

describe("the fake world", () => {
  it("drains a fault-free world: everything accepted is on the platform, every operation terminal", () => {
    const r = runWorld({
      seed: 1,
      devices: 3,
      faults: "none",
      operations: ["c8y_Command", "c8y_Configuration"],
    });
    expectOk(r);
    expect(r.drainedAtMs).not.toBeNull();
    expect(r.messages.accepted).toBeGreaterThan(100);
    expect(r.messages.onPlatform).toBe(r.messages.accepted);
    expect(r.messages.duplicates).toBe(0);
    expect(r.operations.open).toBe(0);
    expect(r.operations.created).toBeGreaterThan(5);
    expect(r.deviceSummaries.every((d) => d.phase === "online")).toBe(true);
  });

  it("completes a c8y_Restart as SUCCESSFUL after the process restarts (the restart is the execution)", () => {
    const r = runWorld({
      seed: 7,
      devices: 1,
      faults: "none",
      operations: ["c8y_Restart"],
      operationEveryMs: 15_000,
    });
    expectOk(r);
    expect(r.stats["restartOperations"]).toBeGreaterThan(0);
    const restarts = listOperations(r.platform, { fragment: "c8y_Restart", deviceId: "dev0" });
    expect(restarts.length).toBeGreaterThan(0);
    for (const op of restarts) {
      expect(op.history.map((h) => h.status)).toEqual(["PENDING", "EXECUTING", "SUCCESSFUL"]);
    }
    // The process really went down: one life per executed restart (plus the first boot).
    expect(r.deviceSummaries[0]!.lives).toBe(1 + r.stats["restartOperations"]!);
  });

  it("loses no durable message to persist failures and crashes", () => {
    const r = runWorld({
      seed: 3,
      devices: 2,
      faults: { ...NO_FAULTS, persistFail: 0.3, crash: 1 },
      operations: ["c8y_Configuration"],
      operationsMode: "static",
      tolerateKnown: false, // bounded to zero: no known issue may show up here
    });
    expectOk(r);
    expect(r.stats["persistFailures"]).toBeGreaterThan(10);
    expect(r.stats["crashes"]).toBeGreaterThan(0);
    expect(
      r.messages.onPlatform + r.messages.lostAtCrash + r.messages.droppedByPolicy,
    ).toBeGreaterThanOrEqual(r.messages.accepted);
  });

  it("bootstraps every device through registration and manual acceptance under network faults", () => {
    const r = runWorld({
      seed: 11,
      devices: 3,
      auth: "bootstrap",
      faults: { ...NO_FAULTS, dropConnection: 2, refuseConnect: 0.3, delayDownstream: 0.02 },
      operations: ["c8y_Configuration"],
      operationsMode: "static",
      tolerateKnown: false, // bounded to zero: no known issue may show up here
    });
    expectOk(r);
    expect(listRegistrations(r.platform).map((x) => x.status)).toEqual(["ACCEPTED", "ACCEPTED", "ACCEPTED"]);
    expect(r.stats["connectionsBroken"]).toBeGreaterThan(0);
    expect(r.stats["refusedConnects"]).toBeGreaterThan(0);
  });

  it("keeps the SUBACK gate and the size law with refused subscriptions, clock jumps and duplicates", () => {
    const r = runWorld({
      seed: 5,
      devices: 2,
      faults: {
        ...NO_FAULTS,
        refuseSubscription: 0.3,
        clockJump: 2,
        duplicateDownstream: 0.3,
        reorderDownstream: 0.5,
      },
      operations: ["c8y_Configuration", "c8y_Relay"],
      operationsMode: "static",
      tolerateKnown: false, // bounded to zero: no known issue may show up here
    });
    expectOk(r);
    expect(r.stats["refusedSubscriptions"]).toBeGreaterThan(0);
    expect(r.stats["clockJumps"]).toBeGreaterThan(0);
    expect(r.stats["oversizeDisconnects"]).toBe(0);
  });

  it("certificate devices refresh their token and drain", () => {
    const r = runWorld({ seed: 21, devices: 2, auth: "certificate", faults: "none", faultMs: 300_000 });
    expectOk(r);
    expect(r.trace).toBeUndefined();
  });

  it("the checker notices a disk that confirms writes it never made (message-lost)", () => {
    // Whether a lie matters depends on when the crashes fall: some of the first seeds must
    // catch it, and every violation they report must be the lost message.
    const reports = Array.from({ length: 12 }, (_, i) =>
      runWorld({
        seed: i + 1,
        devices: 1,
        faults: { ...NO_FAULTS, crash: 3, dropConnection: 3 },
        operations: ["c8y_Configuration"],
        sabotage: "lying-disk",
        operationsMode: "static",
        tolerateKnown: false, // bounded to zero: no known issue may show up here
      }),
    );
    const caught = reports.filter((r) => !r.ok);
    expect(caught.length).toBeGreaterThan(0);
    for (const r of caught) {
      expect(r.violation?.invariant, explain(r)).toBe("message-lost");
      expect(r.violation?.explanation).toMatch(/accepted .* durable, never PUBACKed/);
    }
    expect(explain(caught[0]!)).toContain(`seed ${caught[0]!.seed}`);
  });

  it("is deterministic: the same seed gives the same trace hash, another seed another", () => {
    const a = runWorld({ seed: 42, devices: 2, faultMs: 60_000 });
    const b = runWorld({ seed: 42, devices: 2, faultMs: 60_000 });
    const c = runWorld({ seed: 43, devices: 2, faultMs: 60_000 });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.virtualMs).toBe(b.virtualMs);
    expect(a.messages).toEqual(b.messages);
    expect(c.traceHash).not.toBe(a.traceHash);
  });
});

/**
 * Regression tests for the engine bugs the world found, each named after what it found and
 * run strictly (no tolerance) on the seed that first showed it.
 */
describe("engine bugs found by the world (regressions)", () => {
  // Issues of the id-less mode: judged by static rules, with no tolerance.
  const commandsOnly = {
    operationsMode: "static" as const,
    devices: 1,
    faultMs: 90_000,
    operations: ["c8y_Command"] as const,
    operationEveryMs: 4000,
  };

  // finished-twin: after a crash (or a lost 501), `500` re-pushes an operation whose journal
  // entry is already finished but whose 501 the platform never processed; `findRedelivered`
  // ignores finished entries, so the line is journaled again and the operation runs twice.
  it("finished-twin: an operation re-pushed by 500 while its entry is finished does not run twice (seed 25)", () => {
    const r = runWorld({ seed: 25, ...commandsOnly, faults: { ...NO_FAULTS, crash: 1.5 } });
    expectOk(r);
  });

  // status-replay: a packet with `501,F` + `503,F,…` is processed by the platform, the PUBACK
  // is lost with the connection, the engine re-sends both; the replayed 501 moves the next
  // PENDING operation of F to EXECUTING and the replayed 503 completes it with the wrong result.
  it("status-replay: id-less 501/503 re-sent after a lost PUBACK do not complete the next operation (seed 8)", () => {
    const r = runWorld({ seed: 8, ...commandsOnly, faults: { ...NO_FAULTS, losePuback: 0.05 } });
    expectOk(r);
  });

  // push-before-500: on a fresh session the platform pushes a newly created operation before
  // the engine's 500 brings back the older PENDING one; the engine runs them in arrival order
  // and 501/503 (which act on the oldest) land on the other operation.
  it("push-before-500: a live push overtaking the 500 answer does not swap two operations' results (seed 16)", () => {
    const r = runWorld({ seed: 16, ...commandsOnly, faults: { ...NO_FAULTS, crash: 1.5 } });
    expectOk(r);
  });

  it("stale-500-answer and the other variants the world found stay fixed", () => {
    const variants = [
      { seed: 790, devices: 3 },
      { seed: 123, devices: 3 },
      { seed: 500474932, devices: 2, faultMs: 109_000 },
    ];
    for (const v of variants) expectOk(runWorld({ ...commandsOnly, ...v }));
    expectOk(runWorld({ seed: 3, ...commandsOnly, faults: { ...NO_FAULTS, persistFail: 0.3, crash: 1 } }));
  });
});
