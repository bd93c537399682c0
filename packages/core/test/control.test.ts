/**
 * Control lines: `s/e` errors, `s/dcr` 70, `s/dat` 71, `s/dt` 20/41 — golden rows, refusals
 * with clear reasons, codec round trips and totality of `decodeErrorLine`.
 */
import { describe, expect, it } from "vitest";
import { test, fc } from "../../../test/support/property.js";
import * as E from "fp-ts/lib/Either.js";
import {
  CONTROL_SPECS,
  CREDENTIALS_CODEC,
  ERROR_LINE_CODEC,
  TEMPLATE_EXISTS_CODEC,
  TEMPLATE_MISSING_CODEC,
  TOKEN_CODEC,
  UNPARSEABLE_ERROR_CODE,
  decodeCredentials,
  decodeErrorLine,
  decodeTemplateStatus,
  decodeToken,
  type ErrorReport,
} from "../src/smartrest/control.js";
import type { Row } from "../src/smartrest/types.js";

describe("s/e error lines", () => {
  it("decodes the documented 40 example", () => {
    const row = ["40", "999", "No static template for this message id"];
    expect(decodeErrorLine(row)).toEqual({
      code: 40,
      kind: "unknown-template",
      reference: "999",
      text: "No static template for this message id",
      raw: row,
    });
  });

  it("maps every documented code to its kind", () => {
    const kinds: Record<string, string> = {
      "40": "unknown-template",
      "41": "template-error",
      "42": "malformed-request",
      "43": "invalid-message-id",
      "45": "invalid-arguments",
      "50": "server-error",
      "44": "other",
      "88": "other",
    };
    for (const [code, kind] of Object.entries(kinds)) {
      expect(decodeErrorLine([code, "1", "x"])).toMatchObject({ code: Number(code), kind });
    }
  });

  it("keeps the HTTP status of 50 in the text", () =>
    expect(decodeErrorLine(["50", "1", "401", "Unauthorized"])).toMatchObject({
      code: 50,
      kind: "server-error",
      reference: "1",
      text: "401,Unauthorized",
    }));

  it("omits an absent or empty reference", () => {
    const bare = decodeErrorLine(["42"]);
    expect(bare).toEqual({ code: 42, kind: "malformed-request", text: "", raw: ["42"] });
    expect("reference" in decodeErrorLine(["45", "", "Wrong number of arguments"])).toBe(false);
  });

  it("turns a line without numeric code into kind other", () => {
    expect(decodeErrorLine([])).toEqual({ code: UNPARSEABLE_ERROR_CODE, kind: "other", text: "", raw: [] });
    expect(decodeErrorLine(["oops", "a"])).toEqual({
      code: UNPARSEABLE_ERROR_CODE,
      kind: "other",
      text: "oops,a",
      raw: ["oops", "a"],
    });
    expect(decodeErrorLine(["-40", "1"])).toMatchObject({ kind: "other" });
  });

  it("builds error lines for the simulator", () => {
    expect(
      ERROR_LINE_CODEC.encode({ code: 40, reference: "999", text: "No static template for this message id" }),
    ).toEqual(["40", "999", "No static template for this message id"]);
    expect(ERROR_LINE_CODEC.encode({ code: 42, text: "Malformed Request" })).toEqual([
      "42",
      "",
      "Malformed Request",
    ]);
  });

  test.prop([fc.array(fc.oneof(fc.string(), fc.constantFrom("40", "41", "50", "", "007")))])(
    "decodeErrorLine is total",
    (row) => {
      const line = decodeErrorLine(row);
      expect(line.raw).toBe(row);
      expect(Number.isInteger(line.code)).toBe(true);
      expect([
        "unknown-template",
        "template-error",
        "malformed-request",
        "invalid-message-id",
        "invalid-arguments",
        "server-error",
        "other",
      ]).toContain(line.kind);
      expect(typeof line.text).toBe("string");
    },
  );

  const report: fc.Arbitrary<ErrorReport> = fc.record(
    { code: fc.integer({ min: 0, max: 999 }), reference: fc.string({ minLength: 1 }), text: fc.string() },
    { requiredKeys: ["code", "text"] },
  );
  test.prop([report])("error line encode → decode round trip", (r) => {
    expect(ERROR_LINE_CODEC.is(r)).toBe(true);
    const row = ERROR_LINE_CODEC.encode(r);
    expect(ERROR_LINE_CODEC.decode(row)).toEqual(E.right(r));
  });
});

describe("s/dcr 70 credentials", () => {
  it("decodes the golden line", () =>
    expect(decodeCredentials(["70", "t123", "device_1", "secret"])).toEqual(
      E.right({ tenant: "t123", username: "device_1", password: "secret" }),
    ));

  it("tolerates trailing empty fields", () =>
    expect(E.isRight(decodeCredentials(["70", "t", "u", "p", ""]))).toBe(true));

  it("refuses with a reason naming the problem", () => {
    expect(decodeCredentials(["71", "t", "u", "p"])).toEqual(
      E.left({
        kind: "template-invalid",
        templateId: "70",
        field: "id",
        reason: "expected a 70 line, got '71'",
      }),
    );
    expect(decodeCredentials(["70", "t", "u"])).toMatchObject(E.left({ field: "password" }));
    expect(decodeCredentials(["70", "", "u", "p"])).toMatchObject(E.left({ field: "tenant" }));
    expect(decodeCredentials(["70", "t", "u", "p", "extra"])).toMatchObject(E.left({ field: "row" }));
    expect(decodeCredentials([])).toMatchObject(E.left({ field: "id" }));
  });

  it("the codec builds the line and reports failures as io-ts errors", () => {
    expect(CREDENTIALS_CODEC.encode({ tenant: "t123", username: "device_1", password: "secret" })).toEqual([
      "70",
      "t123",
      "device_1",
      "secret",
    ]);
    const failed = CREDENTIALS_CODEC.decode(["70", "t"]);
    expect(E.isLeft(failed) && failed.left[0]?.message).toBe("username: missing or empty");
  });
});

describe("s/dat 71 token and s/dt 20/41", () => {
  it("decodes tokens", () => {
    expect(decodeToken(["71", "eyJhbGciOi.abc.def"])).toEqual(E.right({ token: "eyJhbGciOi.abc.def" }));
    expect(E.isLeft(decodeToken(["71"]))).toBe(true);
    expect(E.isLeft(decodeToken(["71", "a", "b"]))).toBe(true);
  });

  it("decodes template status", () => {
    expect(decodeTemplateStatus(["20", "myTemplates", "4711"])).toEqual(
      E.right({ kind: "template-exists", xid: "myTemplates", collectionId: "4711" }),
    );
    expect(decodeTemplateStatus(["41", "myTemplates"])).toEqual(
      E.right({ kind: "template-missing", xid: "myTemplates" }),
    );
    expect(decodeTemplateStatus(["20", "x"])).toMatchObject(E.left({ field: "collectionId" }));
    expect(decodeTemplateStatus(["40", "x"])).toMatchObject(E.left({ field: "id" }));
  });

  const id = fc.string({ minLength: 1 });
  const cases: [
    string,
    fc.Arbitrary<unknown>,
    { is: (u: unknown) => boolean; encode: (a: never) => Row; decode: (r: Row) => unknown },
  ][] = [
    ["70", fc.record({ tenant: id, username: id, password: id }), CREDENTIALS_CODEC],
    ["71", fc.record({ token: id }), TOKEN_CODEC],
    [
      "20",
      fc.record({ kind: fc.constant("template-exists"), xid: id, collectionId: id }),
      TEMPLATE_EXISTS_CODEC,
    ],
    ["41", fc.record({ kind: fc.constant("template-missing"), xid: id }), TEMPLATE_MISSING_CODEC],
  ];
  for (const [code, arbitrary, codec] of cases) {
    test.prop([arbitrary])(`${code}: encode → decode round trip`, (value) => {
      expect(codec.is(value)).toBe(true);
      const row = codec.encode(value as never);
      expect(row[0]).toBe(code);
      expect(codec.decode(row)).toEqual(E.right(value));
    });
  }
});

describe("CONTROL_SPECS", () => {
  it("lists every control line once per (id, topic)", () => {
    const keys = CONTROL_SPECS.map((s) => `${s.id}@${s.topic}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual([
      "40@s/e",
      "41@s/e",
      "42@s/e",
      "43@s/e",
      "45@s/e",
      "50@s/e",
      "70@s/dcr",
      "71@s/dat",
      "20@s/dt",
      "41@s/dt",
    ]);
    for (const spec of CONTROL_SPECS) expect(spec.direction).toBe("control");
  });
});
