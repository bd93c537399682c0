/**
 * Events at the boundary: the fast batch-row check guard by guard (each refusal is one the
 * codec makes too, each acceptance one the codec returns unchanged), and the event codec's
 * acceptance of every event type and refusal of near misses. (Written for mutation testing.)
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { BatchRowCodec, EventCodec, isExactBatchRow, SCHEMA_VERSION } from "../src/engine/events.js";

const message = { template: "400", type: "t", text: "x" };

describe("isExactBatchRow, guard by guard", () => {
  it.each([
    ["a static row", { message }],
    ["with every option", { message, child: "c1", mode: "cep", tag: "t" }],
    ["each processing mode", { message, mode: "persistent" }],
    ["quiescent", { message, mode: "quiescent" }],
    ["transient", { message, mode: "transient" }],
    ["a custom row", { xid: "x1", values: [] }],
    [
      "a custom row with options and priority",
      { xid: "x1", values: ["a", "b"], child: "c", tag: "t", priority: "measurement" },
    ],
    ["the other priorities", { xid: "x1", values: ["a"], priority: "operation-status" }],
    ["inventory priority", { xid: "x1", values: ["a"], priority: "inventory" }],
  ])("takes %s, which the codec returns unchanged", (_name, row) => {
    expect(isExactBatchRow(row)).toBe(true);
    const decoded = BatchRowCodec.decode(row);
    expect(E.isRight(decoded) && decoded.right).toEqual(row);
  });

  it.each([
    ["nothing", undefined],
    ["null", null],
    ["an array", [message]],
    ["text", "400,t,x"],
    ["a child that is not text", { message, child: 1 }],
    ["an unknown mode", { message, mode: "fast" }],
    ["a mode that is not text", { message, mode: 1 }],
    ["a tag that is not text", { message, tag: false }],
    ["an xid that is not text", { xid: 1, values: [] }],
    ["no xid", { values: [] }],
    ["values that are not a list", { xid: "x", values: "a" }],
    ["a value that is not text", { xid: "x", values: ["a", 1] }],
    ["an unknown priority", { xid: "x", values: [], priority: "urgent" }],
  ])("refuses %s, which the codec refuses too", (_name, row) => {
    expect(isExactBatchRow(row)).toBe(false);
    expect(E.isLeft(BatchRowCodec.decode(row))).toBe(true);
  });
});

describe("isExactBatchRow and a message", () => {
  it("judges a row with a message by the message alone, even with custom fields beside it", () => {
    // The codec may still take such a row as a custom row: that is the codec's call.
    expect(isExactBatchRow({ message: { template: "999" }, xid: "x", values: [] })).toBe(false);
    const row = { message, xid: 1 };
    expect(isExactBatchRow(row)).toBe(true);
    const decoded = BatchRowCodec.decode(row);
    expect(E.isRight(decoded) && decoded.right).toBe(row);
  });
});

describe("the event codec", () => {
  it("decodes one of every event type unchanged", () => {
    const events = [
      { type: "start", nowMs: 0, durable: { k: 1 } },
      { type: "start", nowMs: 0, durable: {}, outboxStored: { alarm: { count: 1, bytes: 2, lastRef: 3 } } },
      { type: "connected", nowMs: 1, connectionId: 1 },
      { type: "connect-failed", nowMs: 1, connectionId: 1, cause: { kind: "refused", code: 5 } },
      { type: "disconnected", nowMs: 1, connectionId: 1, cause: { kind: "network", message: "m" } },
      { type: "disconnected", nowMs: 1, connectionId: 1, cause: { kind: "requested" } },
      { type: "subscribed", nowMs: 1, connectionId: 1, ref: 2, granted: [1, 128] },
      { type: "published", nowMs: 1, connectionId: 1, ref: 2 },
      { type: "message", nowMs: 1, connectionId: 1, topic: "s/ds", payload: "510,d" },
      { type: "timer-fired", nowMs: 1, key: "reconnect" },
      { type: "persisted", nowMs: 1, ref: 3 },
      { type: "persist-failed", nowMs: 1, ref: 3, message: "disk full" },
      { type: "outbox-loaded", nowMs: 1, cls: "alarm", max: 5, rows: [{}] },
      { type: "outbox-load-failed", nowMs: 1, cls: "alarm", message: "m" },
      { type: "submit", nowMs: 1, message, child: "c", mode: "transient", tag: "t" },
      { type: "submit-custom", nowMs: 1, xid: "x", values: ["a"], priority: "alarm" },
      { type: "submit-batch", nowMs: 1, rows: [{ message }, { xid: "x", values: [] }] },
      {
        type: "operation-result",
        nowMs: 1,
        key: "op-1",
        outcome: { status: "successful", parameters: ["p"] },
      },
      { type: "operation-result", nowMs: 1, key: "op-1", outcome: { status: "failed", reason: "r" } },
      { type: "stop", nowMs: 1 },
    ];
    for (const event of events) {
      const decoded = EventCodec.decode(event);
      expect(E.isRight(decoded) && decoded.right, JSON.stringify(event)).toEqual(event);
    }
  });

  it("refuses near misses", () => {
    for (const event of [
      { type: "stop" },
      { type: "halt", nowMs: 1 },
      { type: "connected", nowMs: 1, connectionId: "1" },
      { type: "connect-failed", nowMs: 1, connectionId: 1, cause: { kind: "refused" } },
      { type: "submit", nowMs: 1, message, mode: "fast" },
      { type: "submit-custom", nowMs: 1, xid: "x", values: ["a"], priority: "urgent" },
      { type: "operation-result", nowMs: 1, key: "k", outcome: { status: "failed" } },
      { type: "operation-result", nowMs: 1, key: "k", outcome: { status: "done" } },
    ]) {
      expect(E.isLeft(EventCodec.decode(event)), JSON.stringify(event)).toBe(true);
    }
  });

  it("is at schema version 3", () => {
    expect(SCHEMA_VERSION).toBe(3);
  });
});
