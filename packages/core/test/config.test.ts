/** Configuration decoding: every refusal names the path and the reason. */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { decodeConfig, formatProblems } from "@c8ylink/core";

const ok = { deviceId: "dev1", auth: { mode: "password", tenant: "t1", user: "u", password: "p" } };

const problems = (input: unknown): string => {
  const result = decodeConfig(input);
  return E.isLeft(result) ? formatProblems(result.left) : "";
};

describe("config", () => {
  it("applies defaults", () => {
    const result = decodeConfig(ok);
    expect(E.isRight(result) && result.right).toMatchObject({
      deviceName: "dev1",
      deviceType: "c8y_MQTTDevice",
      keepAliveSeconds: 60,
      inflightWindow: 100,
      subscribeErrors: true,
      children: [],
    });
  });

  it.each([
    ["a device id with '/'", { ...ok, deviceId: "a/b" }, "deviceId: device id contains '/'"],
    ["a device id with '+'", { ...ok, deviceId: "a+b" }, "deviceId: device id contains '+'"],
    ["a device id with '#'", { ...ok, deviceId: "a#" }, "deviceId: device id contains '#'"],
    ["a device id with ':'", { ...ok, deviceId: "d:x" }, "deviceId: device id contains ':'"],
    [
      "an in-flight window of 65535",
      { ...ok, inflightWindow: 65535 },
      "inflightWindow: must be an integer in [1, 65534] (got 65535)",
    ],
    [
      "keep-alive out of range",
      { ...ok, keepAliveSeconds: 3600 },
      "keepAliveSeconds: must be an integer in [10, 1200] (got 3600)",
    ],
    ["an unknown auth mode", { ...ok, auth: { mode: "oauth" } }, 'auth: unknown auth mode "oauth"'],
    ["a missing password", { ...ok, auth: { mode: "password", tenant: "t", user: "u" } }, "auth.password"],
    [
      "a child with an unknown parent",
      { ...ok, children: [{ id: "c", parent: "nope" }] },
      'children.0.parent: unknown parent "nope"',
    ],
    [
      "duplicate children",
      { ...ok, children: [{ id: "c" }, { id: "c" }] },
      'children.1.id: duplicate child id "c"',
    ],
    [
      "a parent cycle",
      {
        ...ok,
        children: [
          { id: "a", parent: "b" },
          { id: "b", parent: "a" },
        ],
      },
      "children: parent cycle",
    ],
    [
      "cap below floor",
      { ...ok, backoff: { floorMs: 5000, capMs: 1000 } },
      "backoff.capMs: must be ≥ backoff.floorMs",
    ],
    ["an X-ID with '/'", { ...ok, customTemplates: ["x/y"] }, "customTemplates.0: X-ID contains '/'"],
  ])("refuses %s", (_name, input, expected) => {
    expect(problems(input)).toContain(expected);
  });

  it("reports every problem at once", () => {
    const text = problems({ deviceId: "a/b", auth: { mode: "password" }, inflightWindow: 0 });
    expect(text.split("\n").length).toBeGreaterThanOrEqual(3);
  });

  it("orders children parents first, keeping configuration order otherwise", () => {
    const result = decodeConfig({
      ...ok,
      children: [{ id: "grandchild", parent: "child" }, { id: "other" }, { id: "child" }],
    });
    expect(E.isRight(result) && result.right.children.map((c) => c.id)).toEqual([
      "other",
      "child",
      "grandchild",
    ]);
  });

  test.prop([fc.anything()])("never throws on any input", (input) => {
    const result = decodeConfig(input);
    expect(result._tag === "Left" || result._tag === "Right").toBe(true);
  });
});
