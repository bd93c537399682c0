/**
 * Topic builders, identifier validation, ClientId and topic parsing/routing (spec §1.3, §2, §6.1).
 */
import { describe, expect, it } from "vitest";
import { test, fc } from "../../../test/support/property.js";
import * as E from "fp-ts/lib/Either.js";
import {
  MAX_ID_BYTES,
  PROCESSING_MODES,
  TOPIC_CREDENTIALS_DOWN,
  TOPIC_CREDENTIALS_UP,
  TOPIC_ERRORS,
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
  type UpTopic,
  type Xid,
} from "../src/smartrest/topics.js";

/** Test helper: a known-good id. */
const ok = <A>(e: E.Either<unknown, A>): A => {
  if (E.isLeft(e)) throw new Error(`expected Right, got ${JSON.stringify(e.left)}`);
  return e.right;
};
const device = (id: string): DeviceId => ok(validateDeviceId(id));
const child = (id: string): ChildId => ok(validateChildId(id));
const xid = (id: string): Xid => ok(validateXid(id));

describe("builders", () => {
  it("builds static upstream topics for every processing mode", () => {
    expect(PROCESSING_MODES.map((m) => staticUp(m))).toEqual(["s/us", "t/us", "q/us", "c/us"]);
    expect(staticUp("persistent", child("plc1"))).toBe("s/us/plc1");
    expect(staticUp("transient", child("main:device:child1"))).toBe("t/us/main:device:child1");
  });

  it("builds custom, template and default-collection topics", () => {
    expect(customUp(xid("myTemplates"), "persistent")).toBe("s/uc/myTemplates");
    expect(customUp(xid("myTemplates"), "quiescent", child("c1"))).toBe("q/uc/myTemplates/c1");
    expect(templateUp(xid("myTemplates"))).toBe("s/ut/myTemplates");
    expect(customDown(xid("myTemplates"))).toBe("s/dc/myTemplates");
  });

  it("exports the fixed topics", () =>
    expect([
      TOPIC_STATIC_DOWN,
      TOPIC_ERRORS,
      TOPIC_TEMPLATE_STATUS,
      TOPIC_CREDENTIALS_UP,
      TOPIC_CREDENTIALS_DOWN,
      TOPIC_TOKEN_UP,
      TOPIC_TOKEN_DOWN,
    ]).toEqual(["s/ds", "s/e", "s/dt", "s/ucr", "s/dcr", "s/uat", "s/dat"]));

  it("builds ClientIds", () => {
    expect(clientId(device("1234"))).toBe("d:1234");
    expect(clientId(device("1234"), xid("myDevice_10"))).toBe("d:1234:myDevice_10");
  });
});

describe("identifier validation", () => {
  it("accepts ordinary serials", () => {
    for (const id of ["mySerialNumber", "351234567890123", "AA-BB-CC", "gerät-1", "with space"]) {
      expect(validateDeviceId(id)).toEqual(E.right(id));
    }
  });

  it("refuses empty, reserved, control and oversized ids with a reason", () => {
    for (const id of [
      "",
      "a/b",
      "a+b",
      "a#b",
      "a:b",
      "a\nb",
      "a\tb",
      "a\u0000b",
      "a\u007fb",
      "a\u0085b",
      "\ud800",
      "x".repeat(MAX_ID_BYTES + 1),
    ]) {
      const result = validateDeviceId(id);
      expect(E.isLeft(result)).toBe(true);
      if (E.isLeft(result)) {
        expect(result.left).toMatchObject({ kind: "id-invalid", what: "device id", value: id });
        expect(result.left.reason).toMatch(/^device id /);
      }
    }
    expect(E.isRight(validateDeviceId("x".repeat(MAX_ID_BYTES)))).toBe(true);
    // Bytes, not characters: 43 three-byte characters exceed 128 bytes.
    expect(E.isLeft(validateDeviceId("€".repeat(43)))).toBe(true);
  });

  it("allows ':' in child ids but not in device ids or X-IDs", () => {
    expect(E.isRight(validateChildId("main:device:child1"))).toBe(true);
    expect(E.isLeft(validateDeviceId("main:device"))).toBe(true);
    expect(E.isLeft(validateXid("tpl:1"))).toBe(true);
    expect(E.isLeft(validateXid("a/b"))).toBe(true);
    expect(E.isLeft(validateChildId("a#"))).toBe(true);
  });

  test.prop([fc.string(), fc.constantFrom("/", "+", "#", ":"), fc.string()])(
    "validateDeviceId refuses any string containing / + # :",
    (before, reserved, after) => {
      expect(E.isLeft(validateDeviceId(before + reserved + after))).toBe(true);
    },
  );

  test.prop([fc.string(), fc.constantFrom("/", "+", "#"), fc.string()])(
    "validateXid and validateChildId refuse topic syntax",
    (before, reserved, after) => {
      expect(E.isLeft(validateXid(before + reserved + after))).toBe(true);
      expect(E.isLeft(validateChildId(before + reserved + after))).toBe(true);
    },
  );

  test.prop([fc.string({ unit: "binary" })])("every valid device id is also a valid child id", (id) => {
    if (E.isRight(validateDeviceId(id))) expect(validateChildId(id)).toEqual(E.right(id));
  });
});

describe("ClientId parsing", () => {
  it("accepts the three documented forms", () => {
    expect(parseClientId("mySerialNumber")).toEqual(E.right({ deviceId: "mySerialNumber" }));
    expect(parseClientId("d:mySerialNumber")).toEqual(E.right({ deviceId: "mySerialNumber" }));
    expect(parseClientId("d:1234:myDevice_10")).toEqual(
      E.right({ deviceId: "1234", defaultXid: "myDevice_10" }),
    );
  });

  it("refuses other connection types and extra parts", () => {
    expect(E.isLeft(parseClientId("x:1234"))).toBe(true);
    expect(E.isLeft(parseClientId("d:1:2:3"))).toBe(true);
    expect(E.isLeft(parseClientId("d:"))).toBe(true);
    expect(E.isLeft(parseClientId("d:1234:"))).toBe(true);
  });
});

// Arbitraries over valid ids (filtered through the validators themselves).
const idChars = fc.string({ minLength: 1, maxLength: 20, unit: "grapheme" });
const deviceIdArb = idChars
  .map(validateDeviceId)
  .filter(E.isRight)
  .map((e) => e.right);
const childIdArb = fc
  .oneof(
    idChars,
    fc.tuple(idChars, idChars).map(([a, b]) => `${a}:${b}`),
  )
  .map(validateChildId)
  .filter(E.isRight)
  .map((e) => e.right);
const xidArb = idChars
  .map(validateXid)
  .filter(E.isRight)
  .map((e) => e.right);
const modeArb = fc.constantFrom(...PROCESSING_MODES);

const upTopicArb: fc.Arbitrary<UpTopic> = fc.oneof(
  fc.record(
    { type: fc.constant("static" as const), mode: modeArb, child: childIdArb },
    { requiredKeys: ["type", "mode"] },
  ),
  fc.record(
    { type: fc.constant("custom" as const), mode: modeArb, xid: xidArb, child: childIdArb },
    { requiredKeys: ["type", "mode", "xid"] },
  ),
  fc.record({ type: fc.constant("template" as const), xid: xidArb }),
  fc.constant({ type: "credentials" as const }),
  fc.constant({ type: "token" as const }),
);

describe("upstream topic parsing", () => {
  it("parses documented topics", () => {
    expect(parseUpTopic("s/us")).toEqual(E.right({ type: "static", mode: "persistent" }));
    expect(parseUpTopic("c/us/plc1")).toEqual(E.right({ type: "static", mode: "cep", child: "plc1" }));
    expect(parseUpTopic("t/uc/tpl/child")).toEqual(
      E.right({ type: "custom", mode: "transient", xid: "tpl", child: "child" }),
    );
    expect(parseUpTopic("s/ut/tpl")).toEqual(E.right({ type: "template", xid: "tpl" }));
    expect(parseUpTopic("s/ucr")).toEqual(E.right({ type: "credentials" }));
    expect(parseUpTopic("s/uat")).toEqual(E.right({ type: "token" }));
  });

  it("refuses unknown or malformed topics", () => {
    for (const topic of [
      "",
      "s",
      "x/us",
      "s/ds",
      "s/us/",
      "s/us/a/b",
      "s/uc",
      "s/uc/",
      "t/ut/tpl",
      "q/ucr",
      "s/ucr/x",
      "s/ud",
      "s/ul/tpl",
      "event/events/create",
      "s/us/a+b",
    ]) {
      expect(E.isLeft(parseUpTopic(topic))).toBe(true);
    }
  });

  test.prop([upTopicArb])("every built topic parses back to its description", (up) => {
    expect(parseUpTopic(upTopic(up))).toEqual(E.right(up));
  });

  test.prop([modeArb, fc.option(childIdArb, { nil: undefined }), xidArb])(
    "staticUp / customUp / templateUp outputs parse back",
    (mode, c, x) => {
      // Strictly: a topic without a child level parses to a description without a `child` key
      // (the optional field absent, not present as undefined), as the builders' inputs are.
      expect(parseUpTopic(staticUp(mode, c))).toStrictEqual(
        E.right(c === undefined ? { type: "static", mode } : { type: "static", mode, child: c }),
      );
      expect(parseUpTopic(customUp(x, mode, c))).toStrictEqual(
        E.right(
          c === undefined ? { type: "custom", mode, xid: x } : { type: "custom", mode, xid: x, child: c },
        ),
      );
      expect(parseUpTopic(templateUp(x))).toEqual(E.right({ type: "template", xid: x }));
    },
  );

  test.prop([fc.string()])("parseUpTopic is total", (topic) => {
    expect(() => parseUpTopic(topic)).not.toThrow();
  });

  test.prop([deviceIdArb, fc.option(xidArb, { nil: undefined })])("clientId parses back", (d, x) => {
    expect(parseClientId(clientId(d, x))).toEqual(
      E.right(x === undefined ? { deviceId: d } : { deviceId: d, defaultXid: x }),
    );
  });
});

describe("downstream routing", () => {
  it("classifies every subscribed topic", () => {
    expect(classifyDownTopic("s/ds")).toEqual({ kind: "static" });
    expect(classifyDownTopic("s/e")).toEqual({ kind: "error" });
    expect(classifyDownTopic("s/dcr")).toEqual({ kind: "credentials" });
    expect(classifyDownTopic("s/dat")).toEqual({ kind: "token" });
    expect(classifyDownTopic("s/dt")).toEqual({ kind: "template-status" });
    expect(classifyDownTopic("s/dc/myTemplates")).toEqual({ kind: "custom", xid: "myTemplates" });
  });

  it("everything else is unknown", () => {
    for (const topic of ["", "s/us", "s/dc", "s/dc/", "s/dc/a/b", "s/dd", "s/dl/x", "error", "t/ds"]) {
      expect(classifyDownTopic(topic)).toEqual({ kind: "unknown" });
    }
  });

  test.prop([xidArb])("customDown routes back to its X-ID", (x) => {
    expect(classifyDownTopic(customDown(x))).toEqual({ kind: "custom", xid: x });
  });
});
