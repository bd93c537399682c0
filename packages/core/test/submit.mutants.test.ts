/**
 * Submitting rows (engine/lifecycle/submit.ts), one transition at a time, from the module's
 * contract: who may submit (not before `start`, not while stopping), which topic and class a
 * row gets (static or custom template, child, processing mode, priority), the exact refusal
 * of each kind and how it is counted, the stored entry, the refs of a batch, and a batch's one
 * report. Sizes are checked against an independent MQTT encoder (test/support/mqtt-oracle.ts).
 */
import { describe, expect, it } from "vitest";
import type { BatchRow, Report } from "@c8ylink/core";
import { publishSize } from "../../../test/support/mqtt-oracle.js";
import { Harness, commandsOf } from "./support/harness.js";

const config = {
  deviceId: "dev5",
  auth: { mode: "password", tenant: "t5", user: "device_dev5", password: "pw" },
  subscribeErrors: false,
  seed: 5,
};

const outboxKey = (ref: number) => `outbox/${String(ref).padStart(12, "0")}`;

const temperature = (value: number) =>
  ({ template: "200", fragment: "c8y_T", series: "T", value, unit: "C" }) as const;

const online = (extra: Record<string, unknown> = {}): Harness => {
  const h = new Harness({ ...config, ...extra });
  h.bringOnline();
  h.flush();
  return h;
};

const lastReport = (h: Harness): Report | undefined => h.reports().at(-1);

/** The value every persist so far wrote under `key` (the last one wins). */
const stored = (h: Harness, key: string): unknown =>
  commandsOf(h.commands, "persist")
    .flatMap((p) => p.changes)
    .filter((c) => c.key === key)
    .at(-1)?.value;

/** Online with one row in flight (window 1), then `stop`: the engine is stopping until it is acknowledged. */
const stopping = (): Harness => {
  const h = online({ inflightWindow: 1 });
  h.send({ type: "submit", message: temperature(1) });
  expect(h.inflight).toHaveLength(1);
  h.send({ type: "stop" });
  expect(h.state.phase.name).toBe("stopping");
  return h;
};

describe("who may submit", () => {
  it("before start: refused as not running, with and without a tag, counted by reason, nothing stored", () => {
    const h = new Harness(config);
    h.send({ type: "submit", message: temperature(1) });
    expect(lastReport(h)).toEqual({ kind: "rejected", reason: "engine not started" });
    h.send({ type: "submit-custom", xid: "x1", values: ["7"], tag: "mine" });
    expect(lastReport(h)).toEqual({ kind: "rejected", reason: "engine not started", tag: "mine" });
    expect(h.state.counters.rejected).toBe(2);
    expect(h.state.counters.rejectedByReason).toEqual({ "not-running": 2 });
    expect(h.state.counters.accepted).toBe(0);
    expect(commandsOf(h.commands, "persist")).toEqual([]);
  });

  it("while stopping: refused as stopping, one row and every row of a batch", () => {
    const h = stopping();
    const before = h.commands.length;
    h.send({ type: "submit", message: temperature(2), tag: "late" });
    expect(lastReport(h)).toEqual({ kind: "rejected", reason: "engine is stopping", tag: "late" });
    h.send({ type: "submit-batch", rows: [{ message: temperature(3) }, { xid: "x1", values: ["1"] }] });
    expect(lastReport(h)).toMatchObject({
      kind: "batch",
      rows: 2,
      accepted: 0,
      rejected: [
        { index: 0, reason: "engine is stopping" },
        { index: 1, reason: "engine is stopping" },
      ],
    });
    expect(h.state.counters.rejectedByReason).toEqual({ "not-running": 3 });
    expect(commandsOf(h.commands.slice(before), "persist")).toEqual([]);
    expect(commandsOf(h.commands.slice(before), "publish")).toEqual([]);
  });

  it("once started (not yet connected): accepted, stored, and published when the session opens", () => {
    const h = new Harness(config);
    h.start();
    h.send({ type: "submit", message: temperature(4) });
    expect(lastReport(h)).toEqual({ kind: "accepted", ref: 1 });
    expect(h.state.counters.accepted).toBe(1);
    expect(h.state.counters.rejected).toBe(0);
    expect(stored(h, outboxKey(1))).toEqual({
      ref: 1,
      cls: "measurement",
      topic: "s/us",
      line: "200,c8y_T,T,4,C",
      bytes: 15,
      template: "200",
    });
  });
});

describe("one row", () => {
  it("accepted: reported with its ref (and tag), stored with its class, topic and bytes, published at once", () => {
    const h = online();
    const firstRef = h.state.nextRef;
    const out = h.send({ type: "submit", message: { template: "400", type: "door", text: "é" }, tag: "t1" });
    // The row takes the first ref of the step (its persist and publish take the next ones).
    const ref = firstRef;
    expect(commandsOf(out, "report").map((r) => r.report)).toEqual([{ kind: "accepted", ref, tag: "t1" }]);
    expect(stored(h, outboxKey(ref))).toEqual({
      ref,
      cls: "event",
      topic: "s/us",
      line: "400,door,é",
      bytes: 11, // é is two bytes in UTF-8
      template: "400",
      tag: "t1",
    });
    expect(commandsOf(out, "publish").map((p) => [p.topic, p.payload])).toEqual([["s/us", "400,door,é"]]);
  });

  it("the processing mode and a child choose the static topic; the device's own id is no child", () => {
    const h = online();
    const topicOf = (options: Record<string, unknown>): string | undefined => {
      const out = h.send({ type: "submit", message: temperature(1), ...options });
      return commandsOf(out, "publish")[0]?.topic;
    };
    expect(topicOf({})).toBe("s/us");
    expect(topicOf({ mode: "transient" })).toBe("t/us");
    expect(topicOf({ mode: "quiescent", child: "kid:1" })).toBe("q/us/kid:1");
    expect(topicOf({ mode: "cep", child: "dev5" })).toBe("c/us");
    expect(topicOf({ child: "dev5" })).toBe("s/us");
    h.ackAll();
  });

  it("a child that cannot be a topic level is refused as invalid, naming the child id", () => {
    const h = online();
    h.send({ type: "submit", message: temperature(1), child: "a/b", tag: "k" });
    expect(lastReport(h)).toEqual({
      kind: "rejected",
      reason: expect.stringMatching(/^child id /),
      tag: "k",
    });
    expect(h.state.counters.rejectedByReason).toEqual({ invalid: 1 });
  });

  it("an invalid static message is refused with the template, the field and the reason", () => {
    const h = online();
    h.send({ type: "submit", message: { ...temperature(1), value: Number.NaN } }, { raw: true });
    expect(lastReport(h)).toEqual({ kind: "rejected", reason: expect.stringMatching(/^template 200: /) });
    expect(h.state.counters.rejectedByReason).toEqual({ invalid: 1 });
  });

  it("custom rows: the X-ID's topic (with mode and child), class event unless a priority is given", () => {
    const h = online({ inflightWindow: 1 });
    // One row in flight: the rest queue, so their classes decide the order they go out in.
    h.send({ type: "submit", message: temperature(0) });
    h.send({ type: "submit-custom", xid: "xa", values: ["m1", "low"], priority: "measurement" });
    h.send({ type: "submit-custom", xid: "xa", values: ["e1", "x,y"], mode: "transient", child: "kid" });
    h.send({ type: "submit-custom", xid: "xb", values: ["a1"], priority: "alarm", tag: "al" });
    const refs = h.reports().flatMap((r) => (r.kind === "accepted" ? [r.ref] : []));
    expect(refs).toHaveLength(4);
    expect(stored(h, outboxKey(refs[1]!))).toEqual({
      ref: refs[1],
      cls: "measurement",
      topic: "s/uc/xa",
      line: "m1,low",
      bytes: 6,
      template: "m1",
    });
    expect(stored(h, outboxKey(refs[2]!))).toEqual({
      ref: refs[2],
      cls: "event",
      topic: "t/uc/xa/kid",
      line: 'e1,"x,y"',
      bytes: 8,
      template: "e1",
    });
    expect(stored(h, outboxKey(refs[3]!))).toMatchObject({ cls: "alarm", tag: "al", template: "a1" });
    h.ackAll();
    expect(
      h
        .publishes()
        .slice(-3)
        .map((p) => p.payload),
    ).toEqual(["a1", 'e1,"x,y"', "m1,low"]);
  });

  it("custom rows: an invalid X-ID and an empty row are refused, each with its reason", () => {
    const h = online();
    h.send({ type: "submit-custom", xid: "x/y", values: ["1"] });
    expect(lastReport(h)).toEqual({ kind: "rejected", reason: expect.stringMatching(/^X-ID /) });
    h.send({ type: "submit-custom", xid: "x:y", values: ["1"] });
    expect(lastReport(h)).toEqual({ kind: "rejected", reason: "X-ID contains ':'" });
    h.send({ type: "submit-custom", xid: "xok", values: [], tag: "e" });
    expect(lastReport(h)).toEqual({ kind: "rejected", reason: "custom row needs a message id", tag: "e" });
    h.send({ type: "submit-custom", xid: "xok", values: ["1"], child: "c#" });
    expect(lastReport(h)).toEqual({ kind: "rejected", reason: expect.stringMatching(/^child id /) });
    expect(h.state.counters.rejectedByReason).toEqual({ invalid: 4 });
    expect(h.state.counters.accepted).toBe(0);
  });

  it("too large for one publish: refused naming the template, the PUBLISH's bytes and the limit", () => {
    const h = online();
    const text = "x".repeat(16_200);
    h.send({ type: "submit", message: { template: "400", type: "big", text } });
    const bytes = publishSize("s/us", `400,big,${text}`, 1);
    expect(lastReport(h)).toEqual({
      kind: "rejected",
      reason: `row-too-large: template 400 needs ${bytes} bytes, limit 16184`,
    });
    const values = ["c9", "y".repeat(16_180)];
    h.send({ type: "submit-custom", xid: "xz", values, child: "kid", tag: "z" });
    const custom = publishSize("s/uc/xz/kid", values.join(","), 1);
    expect(lastReport(h)).toEqual({
      kind: "rejected",
      reason: `row-too-large: template c9 needs ${custom} bytes, limit 16184`,
      tag: "z",
    });
    expect(h.state.counters.rejectedByReason).toEqual({ "too-large": 2 });
  });

  it("exactly at the limit on a child's custom topic: accepted", () => {
    const h = online();
    const topic = "s/uc/xz/kid";
    // 2 (topic length) + topic + 2 (packet id) + payload, behind a 3-byte fixed header.
    const payloadBytes = 16_184 - 3 - 2 - topic.length - 2;
    const values = ["c9", "y".repeat(payloadBytes - 3)];
    expect(publishSize(topic, values.join(","), 1)).toBe(16_184);
    h.send({ type: "submit-custom", xid: "xz", values, child: "kid" });
    expect(lastReport(h)).toMatchObject({ kind: "accepted" });
  });

  it("a row its class cannot hold at all is refused as outbox full", () => {
    const h = online({ outbox: { event: { maxMessages: 5, maxBytes: 20 } } });
    h.send({ type: "submit", message: { template: "400", type: "t", text: "x".repeat(30) }, tag: "f" });
    expect(lastReport(h)).toEqual({ kind: "rejected", reason: "outbox full", tag: "f" });
    expect(h.state.counters.rejectedByReason).toEqual({ "outbox-full": 1 });
    expect(h.state.counters.accepted).toBe(0);
  });
});

describe("a batch", () => {
  it("row i owns ref firstRef + i whether admitted or not; the next submission comes after the batch", () => {
    const h = online();
    const firstRef = h.state.nextRef;
    h.send({
      type: "submit-batch",
      rows: [{ xid: "bad/x", values: ["1"] }, { message: temperature(1) }, { xid: "x", values: [] }],
    });
    expect(lastReport(h)).toMatchObject({ kind: "batch", firstRef, accepted: 1 });
    expect(stored(h, outboxKey(firstRef + 1))).toMatchObject({ ref: firstRef + 1, line: "200,c8y_T,T,1,C" });
    // The batch's persist and publish take the refs after the rows'.
    const persist = commandsOf(h.commands, "persist").at(-1)?.ref;
    expect([persist, h.publishes().at(-1)?.ref].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
      firstRef + 3,
      firstRef + 4,
    ]);
    h.send({ type: "submit", message: temperature(2) });
    expect(lastReport(h)).toEqual({ kind: "accepted", ref: firstRef + 5 });
  });

  it("one report: rows, accepted, each refusal with its index, reason and tag; counted by kind on top of earlier counts", () => {
    const h = online({ outbox: { event: { maxMessages: 5, maxBytes: 40 } } });
    h.send({ type: "submit-custom", xid: "x", values: [] }); // one earlier refusal
    const firstRef = h.state.nextRef;
    const rows: BatchRow[] = [
      { message: temperature(1), tag: "ok" },
      { xid: "x", values: [], tag: "empty" },
      { message: { template: "400", type: "t", text: "x".repeat(16_200) } },
      { message: temperature(2), child: "a+b" },
      { message: { template: "400", type: "t", text: "x".repeat(50) }, tag: "full" },
      { xid: "x", values: ["9"], priority: "alarm" },
    ];
    const out = h.send({ type: "submit-batch", rows });
    const bigBytes = publishSize("s/us", `400,t,${"x".repeat(16_200)}`, 1);
    expect(commandsOf(out, "report").map((r) => r.report)).toEqual([
      {
        kind: "batch",
        firstRef,
        rows: 6,
        accepted: 2,
        rejected: [
          { index: 1, reason: "custom row needs a message id", tag: "empty" },
          { index: 2, reason: `row-too-large: template 400 needs ${bigBytes} bytes, limit 16184` },
          { index: 3, reason: expect.stringMatching(/^child id /) },
          { index: 4, reason: "outbox full", tag: "full" },
        ],
      },
    ]);
    expect(h.state.counters.rejected).toBe(5);
    expect(h.state.counters.rejectedByReason).toEqual({ invalid: 3, "too-large": 1, "outbox-full": 1 });
    expect(h.state.counters.accepted).toBe(2);
    expect(stored(h, outboxKey(firstRef))).toMatchObject({ tag: "ok", cls: "measurement" });
    expect(stored(h, outboxKey(firstRef + 5))).toEqual({
      ref: firstRef + 5,
      cls: "alarm",
      topic: "s/uc/x",
      line: "9",
      bytes: 1,
      template: "9",
    });
    // Admitted rows go out in the same step, highest class first.
    expect(commandsOf(out, "publish").map((p) => p.payload)).toEqual(["9", "200,c8y_T,T,1,C"]);
  });

  it("a batch refused whole counts nothing as accepted and publishes nothing", () => {
    const h = online();
    const out = h.send({ type: "submit-batch", rows: [{ xid: "x", values: [] }] });
    expect(commandsOf(out, "publish")).toEqual([]);
    expect(commandsOf(out, "persist")).toEqual([]);
    expect(h.state.counters.accepted).toBe(0);
    expect(h.state.counters.rejectedByReason).toEqual({ invalid: 1 });
  });

  it("an empty batch: one report of nothing, no count changes", () => {
    const h = online();
    const counters = h.state.counters;
    const firstRef = h.state.nextRef;
    const out = h.send({ type: "submit-batch", rows: [] });
    expect(out).toEqual([
      { type: "report", report: { kind: "batch", firstRef, rows: 0, accepted: 0, rejected: [] } },
    ]);
    expect(h.state.counters).toEqual(counters);
  });

  it("rows switching child and mode each get their own topic; a refused child does not stick", () => {
    const h = online({ inflightWindow: 1 });
    h.send({ type: "submit", message: temperature(0) }); // holds the window: the batch queues
    const rows: BatchRow[] = [
      { message: temperature(1), child: "c1" },
      { message: temperature(2), child: "c1" },
      { message: temperature(3), child: "c2" },
      { message: temperature(4), child: "c2", mode: "transient" },
      { message: temperature(5), mode: "transient" },
      { message: temperature(6), child: "bad/" },
      { message: temperature(7), child: "c1" },
      { message: temperature(8), child: "dev5" },
      { message: temperature(9) },
      { xid: "xq", values: ["1"], child: "c2", mode: "transient" },
    ];
    const firstRef = h.state.nextRef;
    h.send({ type: "submit-batch", rows });
    const topics = rows.map(
      (_, i) => (stored(h, outboxKey(firstRef + i)) as { topic?: string } | undefined)?.topic,
    );
    expect(topics).toEqual([
      "s/us/c1",
      "s/us/c1",
      "s/us/c2",
      "t/us/c2",
      "t/us",
      undefined,
      "s/us/c1",
      "s/us",
      "s/us",
      "t/uc/xq/c2",
    ]);
    expect(lastReport(h)).toMatchObject({ accepted: 9, rejected: [{ index: 5 }] });
  });

  it("a refused child refuses the next row of the same child too, not just the first", () => {
    const h = online();
    h.send({
      type: "submit-batch",
      rows: [
        { message: temperature(1), child: "x#" },
        { message: temperature(2), child: "x#" },
      ],
    });
    expect(lastReport(h)).toMatchObject({ accepted: 0, rejected: [{ index: 0 }, { index: 1 }] });
  });
});
