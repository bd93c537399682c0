/**
 * Cases the codecs' mutation run (docs/testing.md, "Fifth pass: `smartrest/upstream.ts`") found
 * unchecked: `isExactUpstreamMessage` on values that are not messages at all, or whose plain
 * field has the wrong type; refusals of a message without a usable template id; the CSV line of
 * a valid message whose text needs quoting (a property of `upstream-line.test.ts` covers it, but
 * its random messages are mostly refused, so with the 25 runs of a mutation run it may not meet
 * one); and a 507 without a fragment selecting every EXECUTING operation with no fragment key.
 */
import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import { templateError, templateErrorText } from "../src/smartrest/types.js";
import {
  encodeUpstream,
  encodeUpstreamLine,
  isExactUpstreamMessage,
  operationStatusOf,
  UpstreamMessageCodec,
  type OperationStatusMessage,
  type UpstreamMessage,
} from "../src/smartrest/upstream.js";

const asMessage = (u: unknown): UpstreamMessage => u as UpstreamMessage;

describe("isExactUpstreamMessage", () => {
  it.each([null, undefined, 0, 1, "200", true, [], ["200"]])("is false, without throwing, for %j", (u) => {
    expect(isExactUpstreamMessage(u)).toBe(false);
  });

  it.each([
    ["a number where a string goes", { template: "200", fragment: 5, series: "T", value: 1 }],
    ["a boolean where a string goes", { template: "200", fragment: "c8y_T", series: true, value: 1 }],
    ["an unknown severity", { template: "305", type: "t", severity: "LOUD" }],
  ])("is false for %s, as the codec refuses it", (_why, u) => {
    expect(E.isLeft(UpstreamMessageCodec.decode(u))).toBe(true);
    expect(isExactUpstreamMessage(u)).toBe(false);
  });

  it("is true for a message the codec decodes to itself", () => {
    const u = { template: "200", fragment: "c8y_T", series: "T", value: 1 };
    expect(UpstreamMessageCodec.decode(u)).toEqual(E.right(u));
    expect(isExactUpstreamMessage(u)).toBe(true);
  });
});

describe("a message without a usable template id", () => {
  it.each([null, 7, "200", { template: 200 }, { template: null }, {}])(
    "is refused with an empty template id, by both encoders, for %j",
    (u) => {
      const row = encodeUpstream(asMessage(u));
      const line = encodeUpstreamLine(asMessage(u));
      expect(E.isLeft(row) && row.left.templateId).toBe("");
      expect(E.isLeft(row) && row.left.field).toBe("template");
      expect(line).toEqual(row);
    },
  );

  it("names an unknown string id", () => {
    const row = encodeUpstream(asMessage({ template: "999" }));
    expect(E.isLeft(row) && row.left.templateId).toBe("999");
  });

  it("reads as one line naming template, field and reason", () => {
    expect(templateErrorText(templateError("200", "series", "missing"))).toBe(
      "template 200: series: missing",
    );
  });
});

describe("the CSV line of a valid message", () => {
  it("quotes each field that needs it and joins the fields with commas", () => {
    const msg = asMessage({ template: "200", fragment: "c8y_T", series: 'a,"b"', value: 1.5, unit: "C" });
    expect(encodeUpstreamLine(msg)).toEqual(E.right('200,c8y_T,"a,""b""",1.5,C'));
    expect(encodeUpstream(msg)).toEqual(E.right(["200", "c8y_T", 'a,"b"', "1.5", "C"]));
  });
});

describe("operationStatusOf 507", () => {
  it.each([undefined, ""])(
    "selects every EXECUTING operation, with no fragment key, for fragment %j",
    (fragment) => {
      const msg = { template: "507", reason: "restarted", ...(fragment === undefined ? {} : { fragment }) };
      const change = operationStatusOf(msg as OperationStatusMessage);
      expect(change).toStrictEqual({ status: "FAILED", selector: { by: "all-executing" } });
      expect("fragment" in change.selector).toBe(false);
    },
  );

  it("keeps a fragment that is given", () => {
    const msg = { template: "507", reason: "restarted", fragment: "c8y_Restart" } as OperationStatusMessage;
    expect(operationStatusOf(msg)).toStrictEqual({
      status: "FAILED",
      selector: { by: "all-executing", fragment: "c8y_Restart" },
    });
  });
});
