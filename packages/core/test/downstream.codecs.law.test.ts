/**
 * Each exported downstream codec on its own (`DOWNSTREAM_CODECS`, an io-ts Type per template),
 * not only through `decodeDownstreamRow`, which picks the codec by the row's first field and so
 * never hands a codec a row of another template. Laws: a codec's guard accepts exactly the
 * values of its own template (what its decoder yields, not another template's or fragment's);
 * its decoder refuses a row of any other template naming its own, and an operation row without
 * a device id as "missing device id".
 */
import { describe, expect, it } from "vitest";
import { test } from "../../../test/support/property.js";
import * as E from "fp-ts/lib/Either.js";
import type * as t from "io-ts";
import { DOWNSTREAM_CODECS, OPERATION_CODECS, encodeOperation } from "../src/smartrest/downstream.js";
import type { Row } from "../src/smartrest/types.js";
import { anyOperation } from "./support/operations.js";

type AnyCodec = t.Type<unknown, Row, Row>;
const codecs = DOWNSTREAM_CODECS as unknown as Readonly<Record<string, AnyCodec>>;
const ids = Object.keys(codecs);

/** The decoded value, or the test fails with the decoder's messages. */
const decoded = (codec: AnyCodec, row: Row): unknown => {
  const r = codec.decode(row);
  if (E.isLeft(r)) throw new Error(`${codec.name} refused ${JSON.stringify(row)}: ${r.left[0]?.message}`);
  return r.right;
};

/** The single refusal message of decoding `row` with `codec`. */
const refusal = (codec: AnyCodec, row: Row): string | undefined => {
  const r = codec.decode(row);
  return E.isLeft(r) ? r.left.map((e) => e.message).join("; ") : undefined;
};

describe("operation codecs", () => {
  test.prop([anyOperation])(
    "the guard accepts what the decoder yields and nothing of another template or fragment",
    (op) => {
      const row = encodeOperation(op);
      const own = codecs[op.template]!;
      const value = decoded(own, row);
      expect(own.is(value)).toBe(true);
      expect(own.is({ ...(value as object), fragment: "c8y_Other" })).toBe(false);
      expect(own.is({ ...(value as object), deviceId: 7 })).toBe(false);
      for (const other of ids.filter((id) => id !== op.template)) {
        expect(codecs[other]!.is(value), other).toBe(false);
        expect(refusal(codecs[other]!, row), other).toBe(`not a ${other} row`);
      }
    },
  );

  it("refuses a row without a device id, or with an empty one, as missing device id", () => {
    for (const id of Object.keys(OPERATION_CODECS)) {
      expect(refusal(codecs[id]!, [id]), id).toBe("missing device id");
      expect(refusal(codecs[id]!, [id, ""]), id).toBe("missing device id");
    }
  });
});

describe("answer codecs (106, 124, 601, 603)", () => {
  const rows: Readonly<Record<string, Row>> = {
    "106": ["106", "child-1", "child-2"],
    "124": ["124", "4711"],
    "601": ["601", "10.15.0"],
    "603": ["603", "tpl-a", "tpl-b"],
  };

  it("the guard accepts what the decoder yields; each decoder refuses the others' rows naming its own", () => {
    for (const [id, row] of Object.entries(rows)) {
      const value = decoded(codecs[id]!, row);
      expect(codecs[id]!.is(value), id).toBe(true);
      expect(codecs[id]!.is({ ...(value as object), kind: "other" }), id).toBe(false);
      for (const other of ids.filter((o) => o !== id)) {
        expect(codecs[other]!.is(value), `${other} on ${id}`).toBe(false);
        expect(refusal(codecs[other]!, row), `${other} on ${id}`).toBe(`not a ${other} row`);
      }
    }
  });

  it("a list of ids holds no empty id: the decoder drops them, the guard refuses them", () => {
    expect(decoded(codecs["106"]!, ["106", "", "a", ""])).toEqual({ kind: "child-list", children: ["a"] });
    expect(codecs["106"]!.is({ kind: "child-list", children: ["a", ""] })).toBe(false);
    expect(codecs["106"]!.is({ kind: "child-list", children: [] })).toBe(true);
    expect(codecs["603"]!.is({ kind: "template-ids", ids: [""] })).toBe(false);
    expect(codecs["603"]!.is({ kind: "template-ids", ids: ["x"] })).toBe(true);
  });
});
