/**
 * Storage results (engine/lifecycle/persistence.ts) as exact transitions: stored credentials
 * end the bootstrap session only while they are being stored; a failed write is counted,
 * reported with the retry delay only when something waits for it, arms one `persist-retry`,
 * rewrites the status rows it held under a new ref (not before they are durable do they go
 * out), and a journal stage whose write failed is written again even after a later success.
 */
import { describe, expect, it } from "vitest";
import { Harness, commandsOf } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const bootstrap = {
  deviceId: "dev1",
  auth: { mode: "bootstrap", bootstrapPassword: "bs" },
  operations: "static",
  seed: 4,
};

const storingCredentials = (): Harness => {
  const h = new Harness(bootstrap);
  h.start();
  h.connack();
  h.suback();
  h.deliver("s/dcr", "70,t1,u1,p1");
  expect(h.state.phase.name).toBe("storing-credentials");
  return h;
};

/**
 * Online (static mode), op-1 finished while op-2 of the same fragment waited: one pending
 * persist holds op-1's 503, op-2's 501 and op-2's executing stage (which op-2 waits for).
 */
const finishedOperation = (): Harness => {
  const h = new Harness(dev2Static);
  h.bringOnline();
  h.flush();
  h.deliver("s/ds", "511,dev2,uptime");
  h.flush();
  h.deliver("s/ds", "511,dev2,ls");
  h.flush();
  h.finish("op-1", { status: "successful" });
  expect(h.pendingPersists).toHaveLength(1);
  return h;
};

const persistsOf = (commands: Parameters<typeof commandsOf>[0]) =>
  commandsOf(commands, "persist").flatMap((p) => p.changes.map((c) => c.key));

describe("persisted", () => {
  it("stored credentials: the bootstrap session ends and the device connects with them", () => {
    const h = storingCredentials();
    const connectionId = h.connectionId;
    expect(h.state.timers["stable"]).toBeDefined();
    const out = h.persistAll();
    expect(out).toEqual([
      { type: "timer-cancel", key: "stable" },
      { type: "disconnect", connectionId },
      {
        type: "report",
        report: {
          kind: "phase",
          from: "storing-credentials",
          to: "connecting",
          reason: "credentials stored",
        },
      },
      expect.objectContaining({
        type: "connect",
        connectionId: connectionId + 1,
        username: "t1/u1",
        password: "p1",
      }),
      expect.objectContaining({ type: "timer-set", key: "connect-timeout" }),
    ]);
    expect(h.state.credentials).toEqual({ tenant: "t1", user: "u1", password: "p1" });
    expect(h.state.backoffAttempt).toBe(0);
    expect(h.state.persistWaiters).toEqual({});
  });

  it("an older ref after a newer one does not move persistedUpTo back", () => {
    const h = finishedOperation();
    const ref = h.pendingPersists[0]!.ref;
    h.persistAll();
    expect(h.state.persistedUpTo).toBe(ref);
    h.send({ type: "persisted", ref: ref - 1 });
    expect(h.state.persistedUpTo).toBe(ref);
  });

  it("the waiters up to the ref are taken, later ones stay", () => {
    const h = finishedOperation();
    const first = h.pendingPersists[0]!.ref;
    h.send({ type: "persisted", ref: first - 1 });
    expect(Object.keys(h.state.persistWaiters)).toEqual([String(first)]);
    h.send({ type: "persisted", ref: first });
    expect(h.state.persistWaiters).toEqual({});
  });
});

describe("persist-failed", () => {
  it("of stored credentials: counted, reported with the retry delay, retried with the credentials", () => {
    const h = storingCredentials();
    const ref = h.pendingPersists[0]!.ref;
    expect(h.failPersist("EIO")).toEqual([
      { type: "report", report: { kind: "persist-failed", ref, message: "EIO", retryInMs: 1_000 } },
      { type: "timer-set", key: "persist-retry", atMs: h.now + 1_000 },
    ]);
    expect(h.state.counters.persistFailures).toBe(1);
    const retry = h.advance(1_000);
    expect(commandsOf(retry, "persist").map((p) => p.changes)).toEqual([
      [{ key: "credentials", value: { tenant: "t1", user: "u1", password: "p1" } }],
    ]);
    expect(commandsOf(h.persistAll(), "connect")).toHaveLength(1);
  });

  it("of rows only: reported without a retry, nothing armed, delivery goes on", () => {
    const h = new Harness(dev2Static);
    h.bringOnline();
    h.flush();
    h.send({
      type: "submit",
      message: { template: "200", fragment: "c8y_Temperature", series: "T", value: 1, unit: "C" },
    });
    const ref = h.pendingPersists.at(-1)!.ref;
    const out = h.failPersistBatch("ENOSPC");
    expect(out).toEqual([
      { type: "report", report: { kind: "persist-failed", ref, message: "ENOSPC", retryInMs: null } },
    ]);
    expect(h.state.timers["persist-retry"]).toBeUndefined();
    expect(h.state.counters.persistFailures).toBe(1);
  });

  it("of a status row: rewritten at once under a new ref, sent only once that is durable", () => {
    const h = finishedOperation();
    const failed = h.pendingPersists[0]!;
    const statusKey = failed.changes.find((c) => c.key.startsWith("outbox/"))!.key;
    const out = h.failPersist();
    const rewrite = commandsOf(out, "persist");
    expect(rewrite).toHaveLength(1);
    expect(rewrite[0]!.ref).toBeGreaterThan(failed.ref);
    expect(rewrite[0]!.changes).toContainEqual({
      key: statusKey,
      value: expect.objectContaining({ line: "503,c8y_Command", durableAfter: rewrite[0]!.ref }),
    });
    h.ackAll();
    expect(h.rowsOn("s/us")).not.toContain("503,c8y_Command");
    h.persistAll();
    h.ackAll();
    expect(h.rowsOn("s/us")).toContain("503,c8y_Command");
  });

  it("arms persist-retry once while it is armed", () => {
    const h = finishedOperation();
    h.failPersist();
    expect(h.timers.has("persist-retry")).toBe(true);
    h.persistAll(); // the rewritten status rows
    h.deliver("s/ds", "510,dev2"); // a journal stage of another operation, waited for
    const again = h.failPersistBatch();
    expect(commandsOf(again, "report")[0]).toMatchObject({
      report: { kind: "persist-failed", retryInMs: 1_000 },
    });
    expect(commandsOf(again, "timer-set")).toEqual([]);
  });

  it("a journal stage whose write failed is written again, even after a later write succeeded", () => {
    const h = finishedOperation();
    h.failPersist();
    h.persistAll(); // the rewritten status rows: durable
    const retry = h.advance(h.timers.get("persist-retry")! - h.now);
    expect(persistsOf(retry)).toContain("journal/op-2");
  });

  it("a status row already durable is not rewritten when a later write fails", () => {
    const h = finishedOperation();
    h.persistAll();
    const durableStatus = Object.keys(Object.fromEntries(h.storage)).filter((k) => k.startsWith("outbox/"));
    h.ackAll();
    h.handedOut.length = 0;
    h.deliver("s/ds", "511,dev2,df");
    h.flush();
    h.finish("op-2", { status: "failed", reason: "no" });
    const out = h.failPersist();
    const rewritten = persistsOf(out).filter((k) => k.startsWith("outbox/"));
    expect(rewritten.length).toBeGreaterThan(0);
    for (const key of durableStatus) expect(rewritten).not.toContain(key);
  });

  it("a status row of a later write still in progress is not rewritten by an earlier failure", () => {
    const h = finishedOperation();
    const firstKeys = h.pendingPersists[0]!.changes.map((c) => c.key);
    h.deliver("s/ds", "511,dev2,df"); // a second persist, not yet answered
    h.ackAll();
    expect(h.pendingPersists.length).toBeGreaterThan(1);
    const laterKeys = h.pendingPersists.slice(1).flatMap((p) => p.changes.map((c) => c.key));
    const out = h.failPersist(); // the oldest only
    const rewritten = persistsOf(out);
    for (const key of laterKeys.filter((k) => k.startsWith("outbox/") && !firstKeys.includes(k))) {
      expect(rewritten).not.toContain(key);
    }
  });
});
