/**
 * The fast checks `parseLog` uses for the rows of a `submit-batch` step must never accept what
 * the codecs would refuse or change: `isExactBatchRow(u)` implies `BatchRowCodec.decode(u)` is
 * `u` itself. And they must accept the usual rows, or they would be no faster.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import * as E from "fp-ts/lib/Either.js";
import { BatchRowCodec, isExactBatchRow } from "../src/engine/events.js";
import { parseLog } from "../src/engine/log.js";
import { isExactUpstreamMessage, UpstreamMessageCodec } from "../src/smartrest/upstream.js";
import { upstreamMessages } from "./support/upstream-messages.js";

const scalar = fc.oneof(
  fc.string({ maxLength: 4 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("2026-12-07T10:00:00Z", "CRITICAL", "persistent", "cep", "alarm", "bogus"),
);
const item = fc.dictionary(
  fc.constantFrom("name", "version", "url", "type", "fragment", "series", "value", "unit", "path", "extra"),
  scalar,
  { maxKeys: 4 },
);
const value = fc.oneof(
  scalar,
  fc.array(fc.oneof(scalar, item), { maxLength: 3 }),
  item,
  fc.constant(undefined),
);
const message = upstreamMessages(value, ["ber", "extra"], { maxKeys: 5 });
const row = fc.record(
  {
    message: fc.oneof(message, scalar),
    xid: fc.oneof(fc.string({ maxLength: 3 }), scalar),
    values: fc.oneof(
      fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
      fc.array(scalar, { maxLength: 2 }),
    ),
    child: fc.oneof(fc.string({ maxLength: 3 }), scalar),
    mode: fc.oneof(fc.constantFrom("persistent", "transient", "quiescent", "cep"), scalar),
    tag: fc.oneof(fc.string({ maxLength: 3 }), scalar),
    priority: fc.oneof(fc.constantFrom("alarm", "event", "measurement"), scalar),
    extra: scalar,
  },
  { requiredKeys: [] },
);

describe("fast batch row checks", () => {
  test.prop([fc.oneof(row, fc.anything())], { numRuns: 5000 })(
    "accepted rows decode to themselves (through JSON, as a log holds them)",
    (input) => {
      const json = JSON.parse(JSON.stringify(input) ?? "null") as unknown;
      if (!isExactBatchRow(json)) return;
      const decoded = BatchRowCodec.decode(json);
      expect(E.isRight(decoded) && decoded.right === json).toBe(true);
    },
  );

  test.prop([fc.oneof(message, fc.anything())], { numRuns: 5000 })(
    "accepted messages decode to themselves",
    (input) => {
      const json = JSON.parse(JSON.stringify(input) ?? "null") as unknown;
      if (!isExactUpstreamMessage(json)) return;
      const decoded = UpstreamMessageCodec.decode(json);
      expect(E.isRight(decoded) && decoded.right === json).toBe(true);
    },
  );

  it("accepts the usual rows: static with options, with a repeating group, custom", () => {
    const rows = [
      { message: { template: "200", fragment: "c8y_T", series: "T", value: 1.5, unit: "C" }, tag: "a" },
      {
        message: { template: "201", type: "t", series: [{ fragment: "f", series: "s", value: 2 }] },
        child: "c1",
        mode: "transient",
      },
      { message: { template: "114", operations: ["c8y_Restart"] } },
      { xid: "x1", values: ["301", "v"], priority: "alarm" },
    ];
    for (const r of rows) expect(isExactBatchRow(JSON.parse(JSON.stringify(r)))).toBe(true);
  });

  it("leaves rows the codec would change or refuse to the codec", () => {
    expect(
      isExactBatchRow({ message: { template: "200", fragment: "f", series: "s", value: 1, extra: 1 } }),
    ).toBe(false);
    expect(
      isExactBatchRow({
        message: { template: "201", type: "t", series: [{ fragment: "f", series: "s", value: 2, x: 1 }] },
      }),
    ).toBe(false);
    expect(isExactBatchRow({ message: { template: "200", fragment: "f", series: "s" } })).toBe(false);
    expect(isExactBatchRow({ message: { template: "999" } })).toBe(false);
    expect(isExactBatchRow({ xid: "x", values: [1] })).toBe(false);
    expect(isExactBatchRow({ xid: "x", values: ["1"], mode: "fast" })).toBe(false);
  });

  it("parseLog reads a batch step the fast way and the codec way alike", () => {
    const header = {
      kind: "header",
      format: "c8ylink-event-log",
      schemaVersion: 3,
      engineVersion: "0",
      configHash: "0",
      seed: 1,
      config: {},
    };
    const rows = [
      { message: { template: "200", fragment: "f", series: "s", value: 1 } },
      { message: { template: "200", fragment: "f", series: "s", value: 2, stripped: true } },
    ];
    const line = (r: unknown[]) =>
      JSON.stringify({
        kind: "step",
        seq: 1,
        event: { type: "submit-batch", nowMs: 0, rows: r },
        digest: "00",
      });
    const fast = parseLog([JSON.stringify(header), line(rows.slice(0, 1))].join("\n"));
    const slow = parseLog([JSON.stringify(header), line(rows)].join("\n"));
    expect(fast.problems).toEqual([]);
    expect(slow.problems).toEqual([]);
    expect(fast.steps[0]).toEqual({
      kind: "step",
      seq: 1,
      event: { type: "submit-batch", nowMs: 0, rows: rows.slice(0, 1) },
      digest: "00",
      commands: [],
    });
    // The codec strips the unknown key of the second row's message.
    expect(slow.steps[0]?.event).toEqual({
      type: "submit-batch",
      nowMs: 0,
      rows: [rows[0], { message: { template: "200", fragment: "f", series: "s", value: 2 } }],
    });
  });
});
