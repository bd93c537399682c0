/**
 * Control lines at the edges the golden rows do not reach: the type guards refusing what is
 * not their value, the exact reasons of refusals, the error code's digit limits and anchors,
 * and the catalogue entries field by field. (Written for mutation testing.)
 */
import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import {
  CONTROL_SPECS,
  CREDENTIALS_CODEC,
  ERROR_LINE_CODEC,
  TEMPLATE_EXISTS_CODEC,
  TEMPLATE_MISSING_CODEC,
  TOKEN_CODEC,
  decodeCredentials,
  decodeErrorLine,
  decodeTemplateStatus,
  decodeToken,
  errorLineKind,
} from "../src/smartrest/control.js";

const refusal = (templateId: string, field: string, reason: string) =>
  E.left({ kind: "template-invalid", templateId, field, reason });

describe("s/e error codes", () => {
  it.each([
    ["0", 0],
    ["7", 7],
    ["007", 7],
    ["999999999", 999_999_999],
  ])("accepts the code %s", (first, code) => {
    expect(decodeErrorLine([first, "r", "t"])).toMatchObject({ code, reference: "r", text: "t" });
  });

  it.each(["1234567890", "4x", "x4", " 40", "40 ", "4.0", "+4", "", "-1"])(
    "refuses the code '%s' with the reason, and keeps the whole line as text",
    (first) => {
      expect(ERROR_LINE_CODEC.decode([first, "r"])).toMatchObject(
        E.left([{ message: `code: not a code: '${first}'` }]),
      );
      expect(decodeErrorLine([first, "r", "a", "b"])).toEqual({
        code: -1,
        kind: "other",
        text: `${first},r,a,b`,
        raw: [first, "r", "a", "b"],
      });
    },
  );

  it("refuses an empty row as an empty code", () => {
    expect(ERROR_LINE_CODEC.decode([])).toMatchObject(E.left([{ message: "code: not a code: ''" }]));
  });

  it("re-joins every field after the reference with commas", () => {
    expect(decodeErrorLine(["50", "", "401", "Unauthorized", ""])).toEqual({
      code: 50,
      kind: "server-error",
      text: "401,Unauthorized,",
      raw: ["50", "", "401", "Unauthorized", ""],
    });
  });

  it("names codes without a kind 'other'", () => {
    expect(errorLineKind(44)).toBe("other");
    expect(errorLineKind(0)).toBe("other");
    expect(errorLineKind(41)).toBe("template-error");
  });

  it("the guard accepts reports and refuses what is not one", () => {
    expect(ERROR_LINE_CODEC.is({ code: 0, text: "" })).toBe(true);
    expect(ERROR_LINE_CODEC.is({ code: 40, reference: "1", text: "x" })).toBe(true);
    for (const notReport of [
      null,
      undefined,
      "40",
      40,
      { code: -1, text: "" },
      { code: 1.5, text: "" },
      { code: "40", text: "" },
      { code: 40 },
      { code: 40, text: 1 },
      { code: 40, text: "", reference: "" },
      { code: 40, text: "", reference: 1 },
      { code: 40, text: "", reference: undefined },
    ]) {
      expect(ERROR_LINE_CODEC.is(notReport), JSON.stringify(notReport)).toBe(false);
    }
  });
});

describe("fixed-arity lines: exact refusals", () => {
  it("names the expected id and what came, also for an empty row", () => {
    expect(decodeToken(["70", "x"])).toEqual(refusal("71", "id", "expected a 71 line, got '70'"));
    expect(decodeToken([])).toEqual(refusal("71", "id", "expected a 71 line, got ''"));
  });

  it("counts the fields after the id when there are too many", () => {
    expect(decodeToken(["71", "a", "b"])).toEqual(
      refusal("71", "row", "expected 1 field(s) after 71, got 2"),
    );
    expect(decodeCredentials(["70", "t", "u", "p", "", "x"])).toEqual(
      refusal("70", "row", "expected 3 field(s) after 70, got 5"),
    );
    // Non-empty extras anywhere after the arity are refused, not only the first.
    expect(decodeCredentials(["70", "t", "u", "p", "x", ""])).toMatchObject(E.left({ field: "row" }));
  });

  it("names the first missing or empty field", () => {
    expect(decodeToken(["71"])).toEqual(refusal("71", "token", "missing or empty"));
    expect(decodeToken(["71", ""])).toEqual(refusal("71", "token", "missing or empty"));
    expect(decodeCredentials(["70", "t", "", ""])).toEqual(refusal("70", "username", "missing or empty"));
  });

  it("keeps trailing empty fields out of the value", () => {
    expect(decodeToken(["71", "jwt", "", ""])).toEqual(E.right({ token: "jwt" }));
    expect(decodeTemplateStatus(["41", "x", ""])).toEqual(E.right({ kind: "template-missing", xid: "x" }));
  });

  it("refuses s/dt lines other than 20 and 41, and names the id", () => {
    expect(decodeTemplateStatus(["40", "x"])).toEqual(refusal("40", "id", "expected 20 or 41 on s/dt"));
    expect(decodeTemplateStatus([])).toEqual(refusal("", "id", "expected 20 or 41 on s/dt"));
    expect(decodeTemplateStatus(["41"])).toEqual(refusal("41", "xid", "missing or empty"));
    expect(decodeTemplateStatus(["20", "", "1"])).toEqual(refusal("20", "xid", "missing or empty"));
  });

  it("io-ts failures carry 'field: reason'", () => {
    for (const [codec, row, message] of [
      [TOKEN_CODEC, ["71"], "token: missing or empty"],
      [TEMPLATE_EXISTS_CODEC, ["20", "x"], "collectionId: missing or empty"],
      [TEMPLATE_MISSING_CODEC, ["20", "x"], "id: expected a 41 line, got '20'"],
    ] as const) {
      expect(codec.decode(row)).toMatchObject(E.left([{ message }]));
    }
  });
});

describe("type guards refuse what is not their value", () => {
  it("credentials", () => {
    expect(CREDENTIALS_CODEC.is({ tenant: "t", username: "u", password: "p" })).toBe(true);
    for (const bad of [
      null,
      "70",
      { tenant: "", username: "u", password: "p" },
      { tenant: "t", username: "", password: "p" },
      { tenant: "t", username: "u", password: "" },
      { tenant: "t", username: "u" },
      { tenant: "t", username: "u", password: 1 },
    ]) {
      expect(CREDENTIALS_CODEC.is(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it("token", () => {
    expect(TOKEN_CODEC.is({ token: "j" })).toBe(true);
    for (const bad of [null, "j", {}, { token: "" }, { token: 1 }]) {
      expect(TOKEN_CODEC.is(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it("template status", () => {
    expect(TEMPLATE_EXISTS_CODEC.is({ kind: "template-exists", xid: "x", collectionId: "1" })).toBe(true);
    for (const bad of [
      null,
      { kind: "template-missing", xid: "x", collectionId: "1" },
      { kind: "template-exists", xid: "", collectionId: "1" },
      { kind: "template-exists", xid: "x", collectionId: "" },
      { kind: "template-exists", xid: "x" },
    ]) {
      expect(TEMPLATE_EXISTS_CODEC.is(bad), JSON.stringify(bad)).toBe(false);
    }
    expect(TEMPLATE_MISSING_CODEC.is({ kind: "template-missing", xid: "x" })).toBe(true);
    for (const bad of [null, { kind: "template-exists", xid: "x" }, { kind: "template-missing", xid: "" }]) {
      expect(TEMPLATE_MISSING_CODEC.is(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it("the codecs build their lines", () => {
    expect(TOKEN_CODEC.encode({ token: "j" })).toEqual(["71", "j"]);
    expect(TEMPLATE_EXISTS_CODEC.encode({ kind: "template-exists", xid: "x", collectionId: "1" })).toEqual([
      "20",
      "x",
      "1",
    ]);
    expect(TEMPLATE_MISSING_CODEC.encode({ kind: "template-missing", xid: "x" })).toEqual(["41", "x"]);
  });
});

describe("CONTROL_SPECS, entry by entry", () => {
  it("lists the exact catalogue", () => {
    const error = (id: string, name: string) => ({
      id,
      direction: "control",
      name,
      fields: ["reference", "text"],
      topic: "s/e",
    });
    expect(CONTROL_SPECS).toEqual([
      error("40", "unknown-template"),
      error("41", "template-error"),
      error("42", "malformed-request"),
      error("43", "invalid-message-id"),
      error("45", "invalid-arguments"),
      error("50", "server-error"),
      {
        id: "70",
        direction: "control",
        name: "credentials",
        fields: ["tenant", "username", "password"],
        topic: "s/dcr",
      },
      { id: "71", direction: "control", name: "token", fields: ["token"], topic: "s/dat" },
      {
        id: "20",
        direction: "control",
        name: "template-exists",
        fields: ["xid", "collectionId"],
        topic: "s/dt",
      },
      { id: "41", direction: "control", name: "template-missing", fields: ["xid"], topic: "s/dt" },
    ]);
  });
});
