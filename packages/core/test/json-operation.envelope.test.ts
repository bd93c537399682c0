/**
 * The envelope of a `devicecontrol/notifications` payload (spec §2.7), field by field: which
 * ids are valid (the id becomes a 504–506 field and a journal key), which statuses pass, whose
 * device the operation is for, which key is the fragment, and the exact reason for every
 * refusal. Each expectation is written from the rule, not read off the decoder.
 */
import { describe, expect, it } from "vitest";
import { test, fc } from "../../../test/support/property.js";
import { decodeOperationNotification, type OperationNotification } from "../src/json/operation.js";

const decode = (json: unknown, root = "dev1"): OperationNotification =>
  decodeOperationNotification(JSON.stringify(json), root);

const restart = (deviceId: string) => ({ template: "510", fragment: "c8y_Restart", deviceId });

/** Every key the platform puts next to the fragment (spec §2.7 and the REST operation object). */
const METADATA = [
  "id",
  "self",
  "deviceId",
  "deviceName",
  "agentId",
  "status",
  "failureReason",
  "creationTime",
  "description",
  "delivery",
  "externalSource",
  "bulkOperationId",
  "com_cumulocity_model_Agent",
];

describe("operation id", () => {
  const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

  it("accepts every letter, digit, underscore and hyphen, as the whole id", () => {
    for (const c of ID_CHARS) expect(decode({ id: c, c8y_Restart: {} }), c).toMatchObject({ operationId: c });
    expect(decode({ id: ID_CHARS.slice(0, 64), c8y_Restart: {} })).toMatchObject({
      kind: "operation",
      operationId: ID_CHARS.slice(0, 64),
    });
  });

  it("refuses every other printable ASCII character, alone or inside an id", () => {
    for (let code = 0x20; code < 0x7f; code += 1) {
      const c = String.fromCharCode(code);
      if (ID_CHARS.includes(c)) continue;
      for (const id of [c, `a${c}`, `${c}a`, `a${c}a`])
        expect(decode({ id, c8y_Restart: {} }), JSON.stringify(id)).toEqual({
          kind: "malformed",
          reason: `operation id ${JSON.stringify(id)} is not a valid id`,
        });
    }
  });

  it("refuses an empty id, one of 65 characters, and a trailing newline", () => {
    for (const id of ["", "a".repeat(65), "1\n", "\n1"])
      expect(decode({ id, c8y_Restart: {} })).toEqual({
        kind: "malformed",
        reason: `operation id ${JSON.stringify(id)} is not a valid id`,
      });
  });

  it("names a long invalid id by its first 80 characters of JSON", () => {
    const id = `${"x".repeat(100)},`;
    expect(decode({ id, c8y_Restart: {} })).toEqual({
      kind: "malformed",
      reason: `operation id "${"x".repeat(79)} is not a valid id`,
    });
  });

  it("reads a numeric id as its decimal text; a fraction or exponent is no id", () => {
    expect(decode({ id: 0, c8y_Restart: {} })).toMatchObject({ kind: "operation", operationId: "0" });
    expect(decode({ id: 123456789, c8y_Restart: {} })).toMatchObject({ operationId: "123456789" });
    expect(decode({ id: 1.5, c8y_Restart: {} })).toEqual({
      kind: "malformed",
      reason: 'operation id "1.5" is not a valid id',
    });
    expect(decode({ id: 1e21, c8y_Restart: {} })).toEqual({
      kind: "malformed",
      reason: 'operation id "1e+21" is not a valid id',
    });
  });

  it.each([
    ["no id", { c8y_Restart: {} }],
    ["a null id", { id: null, c8y_Restart: {} }],
    ["a boolean id", { id: true, c8y_Restart: {} }],
    ["an object id", { id: { value: "1" }, c8y_Restart: {} }],
    ["an array id", { id: ["1"], c8y_Restart: {} }],
    ["a status that is not a string", { id: "1", status: 1, c8y_Restart: {} }],
    [
      "externalSource without a string externalId",
      { id: "1", externalSource: { externalId: 7 }, c8y_Restart: {} },
    ],
    ["externalSource that is not an object", { id: "1", externalSource: "child", c8y_Restart: {} }],
    ["an array", [{ id: "1", c8y_Restart: {} }]],
    ["a string", "1"],
    ["a number", 1],
    ["null", null],
  ])("%s is not an operation object with an id", (_, json) => {
    expect(decode(json)).toEqual({ kind: "malformed", reason: "not an operation object with an id" });
  });

  it("not JSON names the parser's own message", () => {
    let message = "";
    try {
      JSON.parse("{");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).not.toBe("");
    expect(decodeOperationNotification("{", "dev1")).toEqual({
      kind: "malformed",
      reason: `not JSON (${message})`,
    });
  });
});

describe("status", () => {
  it.each(["PENDING", "EXECUTING", "SUCCESSFUL", "FAILED"])("%s is kept", (status) => {
    expect(decode({ id: "1", status, c8y_Restart: {} })).toMatchObject({ kind: "operation", status });
  });

  it.each([
    ["absent", undefined],
    ["empty", ""],
    ["lower case", "failed"],
    ["unknown", "DONE"],
  ])("an %s status reads as PENDING (the platform only forwards operations still to do)", (_, status) => {
    expect(decode({ id: "1", status, c8y_Restart: {} })).toMatchObject({
      kind: "operation",
      status: "PENDING",
    });
  });
});

describe("target device", () => {
  it("is externalSource.externalId when given, with or without its type", () => {
    expect(decode({ id: "1", externalSource: { externalId: "child-1" }, c8y_Restart: {} })).toEqual({
      kind: "operation",
      operationId: "1",
      status: "PENDING",
      deviceId: "child-1",
      fragment: "c8y_Restart",
      operation: restart("child-1"),
      failure: null,
    });
  });

  it("is the root device otherwise, whatever the platform's internal deviceId", () => {
    expect(decode({ id: "1", deviceId: "9876", c8y_Restart: {} }, "root-7")).toMatchObject({
      deviceId: "root-7",
      operation: restart("root-7"),
    });
  });

  it("an empty externalId still names the id, but the operation cannot be executed", () => {
    const n = decode({ id: "1", externalSource: { externalId: "" }, c8y_Restart: {} });
    expect(n).toMatchObject({ kind: "operation", operationId: "1", deviceId: "", operation: null });
    expect(n.kind === "operation" && n.failure).toBe("malformed c8y_Restart: missing device id");
  });
});

describe("fragment", () => {
  it.each(METADATA.filter((k) => k !== "id"))("%s is metadata, never the fragment", (key) => {
    const values =
      key === "status"
        ? ["EXECUTING"]
        : key === "externalSource"
          ? [{ externalId: "dev1" }]
          : [{}, "x", 1, [1]];
    for (const value of values)
      expect(decode({ id: "1", [key]: value }), JSON.stringify(value)).toEqual({
        kind: "operation",
        operationId: "1",
        status: key === "status" ? "EXECUTING" : "PENDING",
        deviceId: "dev1",
        fragment: "",
        operation: null,
        failure: "the operation has no fragment",
      });
    expect(decode({ [key]: values[0], id: "1", c8y_Teleport: {} })).toMatchObject({
      fragment: "c8y_Teleport",
    });
  });

  it("a known operation fragment wins over any key before it", () => {
    expect(decode({ id: "1", foo: 1, c8y_Teleport: {}, c8y_Restart: {} })).toMatchObject({
      fragment: "c8y_Restart",
      operation: restart("dev1"),
      failure: null,
    });
  });

  it("a known fragment wins even when its fields are bad (the failure names it)", () => {
    expect(decode({ id: "1", c8y_Teleport: {}, c8y_Relay: { relayState: "HALF" } })).toEqual({
      kind: "operation",
      operationId: "1",
      status: "PENDING",
      deviceId: "dev1",
      fragment: "c8y_Relay",
      operation: null,
      failure: "malformed c8y_Relay: relayState: expected one of OPEN/CLOSED, got 'HALF'",
    });
  });

  it("among unknown keys the first c8y_ one is named, else the first key", () => {
    expect(decode({ id: "1", foo: 1, xc8y_: 2, c8y_Teleport: {}, c8y_Other: {} })).toMatchObject({
      fragment: "c8y_Teleport",
      operation: null,
      failure: "no handler is defined for fragment c8y_Teleport",
    });
    expect(decode({ id: "1", foo_c8y_: 1, bar: 2 })).toMatchObject({
      fragment: "foo_c8y_",
      failure: "no handler is defined for fragment foo_c8y_",
    });
  });

  test.prop([fc.constantFrom(...METADATA.filter((k) => k !== "id")), fc.string({ minLength: 1 })])(
    "a metadata key's value never changes the decoded operation",
    (key, value) => {
      const plain = decode({ id: "1", c8y_Command: { text: "ls" } });
      const withKey = decode({
        id: "1",
        [key]: key === "status" || key === "externalSource" ? undefined : value,
        c8y_Command: { text: "ls" },
      });
      expect(withKey).toEqual(plain);
    },
  );
});
