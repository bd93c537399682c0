/**
 * Topics and identifiers at their exact edges: the 128-byte limit in UTF-8 bytes, each
 * forbidden character with its exact reason, every topic form and every refusal reason of the
 * parsers. (Written for mutation testing: the round-trip properties rarely reach these points.)
 */
import { describe, expect, it } from "vitest";
import * as E from "fp-ts/lib/Either.js";
import {
  MAX_ID_BYTES,
  PROCESSING_MODES,
  TOPIC_CREDENTIALS_DOWN,
  TOPIC_CREDENTIALS_UP,
  TOPIC_ERRORS,
  TOPIC_OPERATION_NOTIFICATIONS,
  TOPIC_STATIC_DOWN,
  TOPIC_TEMPLATE_STATUS,
  TOPIC_TOKEN_DOWN,
  TOPIC_TOKEN_UP,
  classifyDownTopic,
  clientId,
  customDown,
  customUp,
  parseClientId,
  parseUpTopic,
  staticUp,
  templateUp,
  upTopic,
  validateChildId,
  validateDeviceId,
  validateXid,
  type ChildId,
  type DeviceId,
  type Xid,
} from "../src/smartrest/topics.js";

const child = (s: string) => s as ChildId;
const xid = (s: string) => s as Xid;
const device = (s: string) => s as DeviceId;
const idError = (what: string, value: string, reason: string) =>
  E.left({ kind: "id-invalid", what, value, reason: `${what} ${reason}` });
const topicError = (topic: string, reason: string) => E.left({ kind: "topic-invalid", topic, reason });

describe("the fixed topics", () => {
  it("are the documented ones", () => {
    expect([
      TOPIC_STATIC_DOWN,
      TOPIC_OPERATION_NOTIFICATIONS,
      TOPIC_ERRORS,
      TOPIC_TEMPLATE_STATUS,
      TOPIC_CREDENTIALS_UP,
      TOPIC_CREDENTIALS_DOWN,
      TOPIC_TOKEN_UP,
      TOPIC_TOKEN_DOWN,
    ]).toEqual(["s/ds", "devicecontrol/notifications", "s/e", "s/dt", "s/ucr", "s/dcr", "s/uat", "s/dat"]);
    expect(PROCESSING_MODES).toEqual(["persistent", "transient", "quiescent", "cep"]);
  });
});

describe("identifiers", () => {
  it("are limited to 128 UTF-8 bytes, not 128 characters", () => {
    expect(MAX_ID_BYTES).toBe(128);
    expect(validateChildId("a".repeat(128))).toEqual(E.right("a".repeat(128)));
    expect(validateChildId("\u00e9".repeat(64))).toEqual(E.right("\u00e9".repeat(64)));
    expect(validateChildId("a".repeat(129))).toEqual(
      idError("child id", "a".repeat(129), "longer than 128 UTF-8 bytes"),
    );
    // 65 characters, 130 bytes.
    expect(validateChildId("\u00e9".repeat(65))).toMatchObject(
      E.left({ reason: "child id longer than 128 UTF-8 bytes" }),
    );
  });

  it.each([
    ["", "empty"],
    ["a/b", "contains '/'"],
    ["a+b", "contains '+'"],
    ["a#b", "contains '#'"],
    ["#", "contains '#'"],
    ["ab\u0001", "control character U+0001 at index 2"],
    ["a\ud800", "lone surrogate U+D800 at index 1"],
    ["ab\tc", "control character at index 2"],
    ["a\nb", "control character at index 1"],
    ["\rb", "control character at index 0"],
    ["a\u0080", "contains a C1 control character"],
    ["a\u009f", "contains a C1 control character"],
    // The first problem in the order of the checks: syntax before text.
    ["a/\u0001", "contains '/'"],
    ["\u0001\t", "control character U+0001 at index 0"],
  ])("refuses %j: %s", (value, reason) => {
    expect(validateChildId(value)).toEqual(idError("child id", value, reason));
    expect(validateDeviceId(value)).toEqual(idError("device id", value, reason));
    expect(validateXid(value)).toEqual(idError("X-ID", value, reason));
  });

  it.each(["a", "\u00a0", "\u007e", "\u00ff", "serial-123_A.b", "\ud83d\ude00"])("accepts %j", (value) => {
    expect(validateChildId(value)).toEqual(E.right(value));
    expect(validateDeviceId(value)).toEqual(E.right(value));
    expect(validateXid(value)).toEqual(E.right(value));
  });

  it("allows ':' in child ids only", () => {
    expect(validateChildId("tedge:main:x")).toEqual(E.right("tedge:main:x"));
    expect(validateDeviceId("a:b")).toEqual(idError("device id", "a:b", "contains ':'"));
    expect(validateXid("a:b")).toEqual(idError("X-ID", "a:b", "contains ':'"));
    // A topic-level problem is named before the ':'.
    expect(validateDeviceId("a:/")).toEqual(idError("device id", "a:/", "contains '/'"));
    expect(validateXid("a:/")).toEqual(idError("X-ID", "a:/", "contains '/'"));
  });
});

describe("builders", () => {
  it("build every upstream form", () => {
    expect(["persistent", "transient", "quiescent", "cep"].map((m) => staticUp(m as never))).toEqual([
      "s/us",
      "t/us",
      "q/us",
      "c/us",
    ]);
    expect(staticUp("transient", child("c1"))).toBe("t/us/c1");
    expect(customUp(xid("X"), "quiescent")).toBe("q/uc/X");
    expect(customUp(xid("X"), "cep", child("c1"))).toBe("c/uc/X/c1");
    expect(templateUp(xid("X"))).toBe("s/ut/X");
    expect(customDown(xid("X"))).toBe("s/dc/X");
    expect(upTopic({ type: "static", mode: "persistent", child: child("c") })).toBe("s/us/c");
    expect(upTopic({ type: "custom", mode: "transient", xid: xid("X") })).toBe("t/uc/X");
    expect(upTopic({ type: "template", xid: xid("X") })).toBe("s/ut/X");
    expect(upTopic({ type: "credentials" })).toBe("s/ucr");
    expect(upTopic({ type: "token" })).toBe("s/uat");
  });

  it("build the ClientId with and without a default collection", () => {
    expect(clientId(device("dev"))).toBe("d:dev");
    expect(clientId(device("dev"), xid("X"))).toBe("d:dev:X");
  });
});

describe("parseClientId", () => {
  it("reads the three documented forms", () => {
    expect(parseClientId("serial")).toEqual(E.right({ deviceId: "serial" }));
    expect(parseClientId("d:serial")).toEqual(E.right({ deviceId: "serial" }));
    expect(parseClientId("d:serial:X")).toEqual(E.right({ deviceId: "serial", defaultXid: "X" }));
  });

  it.each(["x:serial", "D:serial", ":serial", "d:a:b:c"])("refuses %j as not d:<id>[:<xid>]", (value) => {
    expect(parseClientId(value)).toEqual(
      E.left({ kind: "id-invalid", what: "device id", value, reason: "ClientId is not d:<id>[:<xid>]" }),
    );
  });

  it("names the part that is wrong", () => {
    expect(parseClientId("d:")).toEqual(idError("device id", "", "empty"));
    expect(parseClientId("d::X")).toEqual(idError("device id", "", "empty"));
    expect(parseClientId("d:a:")).toEqual(idError("X-ID", "", "empty"));
    expect(parseClientId("d:a:x/y")).toEqual(idError("X-ID", "x/y", "contains '/'"));
    expect(parseClientId("a/b")).toEqual(idError("device id", "a/b", "contains '/'"));
  });
});

describe("parseUpTopic", () => {
  it.each([
    ["s/us", { type: "static", mode: "persistent" }],
    ["t/us", { type: "static", mode: "transient" }],
    ["q/us/c1", { type: "static", mode: "quiescent", child: "c1" }],
    ["c/us/a:b", { type: "static", mode: "cep", child: "a:b" }],
    ["s/uc/X", { type: "custom", mode: "persistent", xid: "X" }],
    ["t/uc/X/c1", { type: "custom", mode: "transient", xid: "X", child: "c1" }],
    ["s/ut/X", { type: "template", xid: "X" }],
    ["s/ucr", { type: "credentials" }],
    ["s/uat", { type: "token" }],
  ])("reads %s", (topic, up) => {
    expect(parseUpTopic(topic)).toEqual(E.right(up));
    expect(upTopic(up as never)).toBe(topic);
  });

  it.each([
    ["", "unknown processing-mode prefix ''"],
    ["x/us", "unknown processing-mode prefix 'x'"],
    ["S/us", "unknown processing-mode prefix 'S'"],
    ["s", "unknown upstream topic type ''"],
    ["s/ud", "unknown upstream topic type 'ud'"],
    ["s/us/a/b", "more than one child level"],
    ["s/us/", "child id empty"],
    ["s/us/a+b", "child id contains '+'"],
    ["s/uc", "missing X-ID"],
    ["s/uc/X/a/b", "more than one child level"],
    ["s/uc/", "X-ID empty"],
    ["s/uc/a:b", "X-ID contains ':'"],
    ["s/uc/X/", "child id empty"],
    ["s/ut", "expected s/ut/<X-ID>"],
    ["s/ut/X/Y", "expected s/ut/<X-ID>"],
    ["s/ut/", "X-ID empty"],
    ["t/ut/X", "'ut' topics exist only with prefix 's'"],
    ["s/ucr/x", "unexpected levels after ucr"],
    ["q/ucr", "'ucr' topics exist only with prefix 's'"],
    ["s/uat/x", "unexpected levels after uat"],
    ["c/uat", "'uat' topics exist only with prefix 's'"],
  ])("refuses %j: %s", (topic, reason) => {
    expect(parseUpTopic(topic)).toEqual(topicError(topic, reason));
  });
});

describe("classifyDownTopic", () => {
  it.each([
    ["s/ds", { kind: "static" }],
    ["s/e", { kind: "error" }],
    ["s/dcr", { kind: "credentials" }],
    ["s/dat", { kind: "token" }],
    ["s/dt", { kind: "template-status" }],
    ["devicecontrol/notifications", { kind: "operations-json" }],
    ["s/dc/X", { kind: "custom", xid: "X" }],
    ["s/dc/", { kind: "unknown" }],
    ["s/dc/a/b", { kind: "unknown" }],
    ["s/dc/a:b", { kind: "unknown" }],
    ["s/dc", { kind: "unknown" }],
    ["x/s/dc/X", { kind: "unknown" }],
    ["s/us", { kind: "unknown" }],
    ["", { kind: "unknown" }],
  ])("routes %j", (topic, down) => {
    expect(classifyDownTopic(topic)).toEqual(down);
  });
});
