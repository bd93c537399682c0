/**
 * Operation status rows (engine/lifecycle/statuses.ts), from the module's contract: what a
 * queued status carries (template, the journal key it marks, `#executing` for a 501), a status
 * refused by a full status budget or too large for any publish (reported, never a crash), and
 * a failure reason shortened to the largest prefix that fits — never splitting a surrogate
 * pair — checked against an independent MQTT encoder (test/support/mqtt-oracle.ts).
 */
import { describe, expect, it } from "vitest";
import { publishSize } from "../../../test/support/mqtt-oracle.js";
import { Harness, commandsOf } from "./support/harness.js";
import { dev2Static } from "./support/configs.js";

const LIMIT = 16_184;
const MARKER = " …(truncated)";

/** Every value persisted under an `outbox/` key, in order. */
const storedStatuses = (h: Harness): Record<string, unknown>[] =>
  commandsOf(h.commands, "persist").flatMap((p) =>
    p.changes.flatMap((c) =>
      c.key.startsWith("outbox/") && c.value !== null ? [c.value as Record<string, unknown>] : [],
    ),
  );

const rejected = (h: Harness) => h.reports().filter((r) => r.kind === "rejected");

/** Online in static mode, one `c8y_Command` handed out; returns its key. */
const running = (h: Harness): string => {
  h.bringOnline();
  h.flush();
  h.deliver("s/ds", "511,dev2,ls");
  h.flush();
  const key = h.handedOut[0]?.key;
  if (key === undefined) throw new Error("nothing handed out");
  return key;
};

describe("a queued status", () => {
  it("carries its template and the journal key it marks: `#executing` on the 501, the key on the 503", () => {
    const h = new Harness(dev2Static);
    const key = running(h);
    h.finish(key, { status: "successful", parameters: ["done"] });
    h.flush();
    const statuses = storedStatuses(h).filter((s) => s["cls"] === "operation-status");
    // (The 500 is a session row, never stored.)
    expect(statuses.map((s) => [s["line"], s["template"], s["opKey"]])).toEqual([
      ["501,c8y_Command", "501", `${key}#executing`],
      ["503,c8y_Command,done", "503", key],
    ]);
    expect(rejected(h)).toEqual([]);
    expect(h.rowsOn("s/us").filter((r) => r.startsWith("50"))).toEqual([
      "500",
      "501,c8y_Command",
      "503,c8y_Command,done",
    ]);
  });

  it("a status that is no operation's own stage (a cleanup row) marks no journal key", () => {
    // Seed 6122681 (static-resync.test.ts): a restart that absorbed an identical line ends any
    // other EXECUTING restart of the device with a second 503 once its own is acknowledged.
    const h = new Harness(dev2Static);
    h.start({
      "journal/op-1": {
        key: "op-1",
        seq: 1,
        deviceId: "dev2",
        fragment: "c8y_Restart",
        raw: ["510", "dev2"],
        failure: null,
        stage: "executing",
        order: 2,
      },
    });
    h.connack();
    h.suback();
    h.persistAll();
    h.ackAll();
    h.advance(60_000);
    h.flush();
    const restarts = storedStatuses(h).filter((s) => s["line"] === "503,c8y_Restart");
    expect(restarts.map((s) => [s["template"], s["opKey"]])).toEqual([
      ["503", "op-1"],
      ["503", undefined],
    ]);
    expect(rejected(h)).toEqual([]);
  });

  it("refused when the status budget is full: reported with the line, nothing queued", () => {
    const h = new Harness({
      ...dev2Static,
      outbox: { "operation-status": { maxMessages: 1, maxBytes: 1000 } },
    });
    h.bringOnline();
    h.flush();
    h.deliver("s/ds", "511,dev2,ls");
    h.persistAll(); // the 501 goes out and stays unacknowledged: it fills the budget
    const key = h.handedOut[0]!.key;
    h.finish(key, { status: "successful", parameters: ["ok"] });
    expect(rejected(h)).toEqual([
      { kind: "rejected", reason: "operation status 503,c8y_Command,ok did not fit the outbox" },
    ]);
    expect(h.state.outbox["operation-status"].count).toBe(1);
  });
});

describe("a status too large for any publish", () => {
  // A custom operation's fragment comes from the configuration; this one fills a publish alone.
  const fragment = "F".repeat(16_200);
  const config = {
    ...dev2Static,
    customTemplates: ["xt"],
    customOperations: [{ xid: "xt", messageId: "m1", fragment }],
  };

  it("is reported as rejected, the 501 and the failure alike, and the engine keeps running (it used to recurse until the stack overflowed)", () => {
    const h = new Harness(config);
    h.bringOnline();
    h.flush();
    h.deliver("s/dc/xt", "m1,dev2,abc");
    h.flush();
    for (const c of [...h.handedOut]) h.finish(c.key, { status: "successful" });
    h.flush();
    const reasons = rejected(h).map((r) => (r.kind === "rejected" ? r.reason : ""));
    expect(reasons[0]).toBe("operation status 501 too large to publish");
    // The result does not fit either: it becomes a failure, which does not fit: reported once.
    expect(reasons.slice(1)).toEqual(["operation status 502 too large to publish"]);
    expect(h.publishes().filter((p) => p.payload.includes(fragment.slice(0, 100)))).toEqual([]);
    expect(h.state.phase.name).toBe("online");
    // Still serving: the next submission goes out.
    h.send({ type: "submit", message: { template: "400", type: "t", text: "after" } });
    h.flush();
    expect(h.rowsOn("s/us")).toContain("400,t,after");
  });
});

describe("a failure reason shortened to fit", () => {
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

  /** The 502 the engine sends for a failure with `reason`. */
  const failedLine = (reason: string): string => {
    const h = new Harness(dev2Static);
    const key = running(h);
    h.finish(key, { status: "failed", reason });
    h.flush();
    const line = h.rowsOn("s/us").find((r) => r.startsWith("502,"));
    if (line === undefined) throw new Error("no 502");
    return line;
  };

  for (const padding of ["", "a", "ab", "abc"]) {
    it(`keeps whole surrogate pairs and the largest prefix that fits (padding ${JSON.stringify(padding)})`, () => {
      const reason = padding + "😀".repeat(5_000);
      const line = failedLine(reason);
      expect(line.endsWith(MARKER)).toBe(true);
      expect(lone.test(line)).toBe(false);
      expect(publishSize("s/us", line, 1)).toBeLessThanOrEqual(LIMIT);
      const kept = line.slice("502,c8y_Command,".length, -MARKER.length);
      expect(reason.startsWith(kept)).toBe(true);
      // One more whole character (a pair) would not fit.
      const next = reason.slice(0, kept.length + 2);
      expect(publishSize("s/us", `502,c8y_Command,${next}${MARKER}`, 1)).toBeGreaterThan(LIMIT);
    });
  }

  it("a 505 by id is shortened too, to exactly the limit for a one-byte-per-character reason", () => {
    const h = new Harness({ ...dev2Static, operations: "by-id" });
    h.bringOnline();
    h.flush();
    h.deliver(
      "devicecontrol/notifications",
      JSON.stringify({
        id: "4711",
        deviceId: "900",
        status: "PENDING",
        creationTime: "2026-11-29T10:00:00Z",
        c8y_Command: { text: "ls" },
      }),
    );
    h.flush();
    h.finish(h.handedOut[0]!.key, { status: "failed", reason: "r".repeat(20_000) });
    h.flush();
    const line = h.rowsOn("s/us").find((r) => r.startsWith("505,"));
    expect(line?.startsWith("505,4711,rrr")).toBe(true);
    expect(line?.endsWith(MARKER)).toBe(true);
    expect(publishSize("s/us", line!, 1)).toBe(LIMIT);
    expect(rejected(h)).toEqual([]);
  });
});
