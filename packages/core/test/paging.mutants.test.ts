/**
 * Paging results (engine/lifecycle/paging.ts) as single transitions: an `outbox-loaded` of a
 * class with no load out is refused; every row that is not a durable outbox entry is reported
 * with the codec's reason and not sent (each field checked on its own); a row's `durableAfter`
 * is dropped (read back from storage, it is durable); rows missing from the store are counted
 * as lost once; `outbox-load-failed` is reported and the next refill asks again.
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { Harness, commandsOf } from "./support/harness.js";
import { DurableOutboxEntryCodec } from "../src/engine/durable.js";
import { decode, formatProblems } from "../src/engine/decode.js";
import type { Command } from "../src/index.js";

const config = {
  deviceId: "dev",
  auth: { mode: "password", tenant: "t", user: "u", password: "p" },
  outboxMemoryRows: 4,
  settleMs: 0,
  seed: 1,
};

const row = (ref: number, extra: Record<string, unknown> = {}) => {
  const line = `200,f,s,${ref},u`;
  return { ref, cls: "measurement", topic: "s/us", line, bytes: line.length, template: "200", ...extra };
};

/** Online with `count` measurement rows held only by the store, the load for them out. */
const withLoadOut = (count = 3) => {
  const h = new Harness(config);
  h.send({
    type: "start",
    durable: {},
    outboxStored: { measurement: { count, bytes: count * 13, lastRef: 100 + count } },
  });
  h.connack();
  h.suback();
  h.flush();
  const load = commandsOf(h.commands, "load-outbox");
  expect(load).toEqual([{ type: "load-outbox", cls: "measurement", afterRef: expect.any(Number), max: 4 }]);
  return h;
};

const reportsOf = (commands: readonly Command[]) =>
  commands.flatMap((c) => (c.type === "report" ? [c.report] : []));
const sentLines = (h: Harness) => h.rowsOn("s/us").filter((l) => l.startsWith("200,"));

describe("outbox-loaded", () => {
  it("of a class with no load out, or no class at all: refused, naming it", () => {
    const h = withLoadOut();
    for (const cls of ["event", "bogus"]) {
      const out = h.send({ type: "outbox-loaded", cls, max: 4, rows: [row(101)] }, { raw: true });
      expect(out).toEqual([
        {
          type: "report",
          report: {
            kind: "invalid-input",
            source: "outbox-loaded",
            reason: `no load of class ${cls} is out`,
          },
        },
      ]);
    }
    expect(sentLines(h)).toEqual([]);
  });

  it("sends the rows it gets, in ref order", () => {
    const h = withLoadOut();
    h.send({ type: "outbox-loaded", cls: "measurement", max: 4, rows: [row(101), row(102), row(103)] });
    h.flush();
    expect(sentLines(h)).toEqual(["200,f,s,101,u", "200,f,s,102,u", "200,f,s,103,u"]);
    expect(h.state.counters.dropped).toBe(0);
    expect(reportsOf(h.commands).filter((r) => r.kind === "outbox-storage")).toEqual([]);
  });

  it("a row with a durableAfter is taken as durable: sent, not held back", () => {
    const h = withLoadOut(1);
    h.send({ type: "outbox-loaded", cls: "measurement", max: 4, rows: [row(101, { durableAfter: 1e12 })] });
    h.flush();
    expect(sentLines(h)).toEqual(["200,f,s,101,u"]);
  });

  const bad: [string, unknown][] = [
    ["not an object", 5],
    ["null", null],
    ["a string", "row"],
    ["ref not a number", row(101, { ref: "101" })],
    ["cls not a string", row(101, { cls: 5 })],
    ["cls not a class", row(101, { cls: "bogus" })],
    ["topic not a string", row(101, { topic: 1 })],
    ["line not a string", row(101, { line: 1 })],
    ["bytes not a number", row(101, { bytes: "13" })],
    ["template not a string", row(101, { template: 200 })],
    ["tag not a string", row(101, { tag: 1 })],
    ["opKey not a string", row(101, { opKey: 1 })],
    ["uncertain not a boolean", row(101, { uncertain: "yes" })],
    ["durableAfter not a number", row(101, { durableAfter: "7" })],
    // Every optional field present: a wrong one must not pass as "optional".
    ["tag not a string, the others set", row(101, { tag: 1, opKey: "k", uncertain: false, durableAfter: 3 })],
  ];
  it.each(bad)("a row with %s: reported with the codec's reason, not sent; the rest go on", (_, value) => {
    const h = withLoadOut(2);
    const decoded = decode(DurableOutboxEntryCodec, value);
    expect(E.isLeft(decoded)).toBe(true);
    const reason = E.isLeft(decoded) ? formatProblems(decoded.left) : "";
    const out = h.send(
      { type: "outbox-loaded", cls: "measurement", max: 4, rows: [value, row(102)] },
      { raw: true },
    );
    expect(reportsOf(out)[0]).toEqual({ kind: "invalid-input", source: "outbox-loaded", reason });
    h.flush();
    expect(sentLines(h)).toEqual(["200,f,s,102,u"]);
  });

  it("optional fields of the right type are accepted", () => {
    const h = withLoadOut(1);
    const out = h.send({
      type: "outbox-loaded",
      cls: "measurement",
      max: 4,
      rows: [row(101, { tag: "t", opKey: "k", uncertain: false, durableAfter: 3 })],
    });
    expect(reportsOf(out).filter((r) => r.kind === "invalid-input")).toEqual([]);
    h.flush();
    expect(sentLines(h)).toEqual(["200,f,s,101,u"]);
  });

  it("rows the store does not have are lost: counted by reason and reported once", () => {
    const h = withLoadOut(3);
    h.state = {
      ...h.state,
      counters: {
        ...h.state.counters,
        dropped: 5,
        droppedByReason: { "measurement-lost-in-storage": 2, x: 3 },
      },
    };
    const out = h.send({ type: "outbox-loaded", cls: "measurement", max: 4, rows: [row(101)] });
    expect(reportsOf(out)).toEqual([
      {
        kind: "outbox-storage",
        class: "measurement",
        problem: "2 queued rows were not in storage (their write had failed)",
        lost: 2,
      },
    ]);
    expect(h.state.counters.dropped).toBe(7);
    expect(h.state.counters.droppedByReason).toEqual({ "measurement-lost-in-storage": 4, x: 3 });
    h.flush();
    expect(sentLines(h)).toEqual(["200,f,s,101,u"]);
  });

  it("a first loss starts its reason's count", () => {
    const h = withLoadOut(2);
    h.send({ type: "outbox-loaded", cls: "measurement", max: 4, rows: [] });
    expect(h.state.counters.droppedByReason).toEqual({ "measurement-lost-in-storage": 2 });
    expect(h.state.counters.dropped).toBe(2);
  });
});

describe("outbox-load-failed", () => {
  it("is reported with the message; the load is no longer out, so the next refill asks again", () => {
    const h = withLoadOut(3);
    const out = h.send({ type: "outbox-load-failed", cls: "measurement", message: "EIO" });
    expect(out).toEqual([
      {
        type: "report",
        report: {
          kind: "outbox-storage",
          class: "measurement",
          problem: "reading queued rows failed: EIO",
          lost: 0,
        },
      },
    ]);
    expect(h.state.outbox.measurement.loading).toBeNull();
    // A late answer to the failed load is refused.
    expect(
      reportsOf(h.send({ type: "outbox-loaded", cls: "measurement", max: 4, rows: [row(101)] })),
    ).toEqual([
      { kind: "invalid-input", source: "outbox-loaded", reason: "no load of class measurement is out" },
    ]);
  });

  it("of no class: ignored", () => {
    const h = withLoadOut(3);
    expect(h.send({ type: "outbox-load-failed", cls: "bogus", message: "EIO" }, { raw: true })).toEqual([]);
    expect(h.state.outbox.measurement.loading).not.toBeNull();
  });
});
