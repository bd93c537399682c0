/**
 * Issue 9, "Say what is wrong": a misspelt or mistyped option is refused with the key, the
 * nearest valid key and the expected type and range, instead of silently keeping its default;
 * the bootstrap user is accepted in both spellings Cumulocity's documentation uses.
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { decodeConfig, editDistance, formatProblems, nearestName, type AuthConfig } from "@c8ylink/core";

const ok = { deviceId: "dev1", auth: { mode: "password", tenant: "t1", user: "u", password: "p" } };

const problems = (input: unknown): string => {
  const result = decodeConfig(input);
  return E.isLeft(result) ? formatProblems(result.left) : "";
};

const authOf = (auth: unknown): AuthConfig | string => {
  const result = decodeConfig({ deviceId: "dev1", auth });
  return E.isRight(result) ? result.right.auth : formatProblems(result.left);
};

describe("unknown configuration keys", () => {
  it.each([
    [
      "a misspelt root key",
      { ...ok, keepAlive: 30 },
      'keepAlive: unknown key "keepAlive": did you mean "keepAliveSeconds"?',
    ],
    [
      "a transposition",
      { ...ok, inflihgtWindow: 5 },
      'inflihgtWindow: unknown key "inflihgtWindow": did you mean "inflightWindow"?',
    ],
    ["a wrong case", { ...ok, deviceid: "x" }, 'deviceid: unknown key "deviceid": did you mean "deviceId"?'],
    [
      "a nested key",
      { ...ok, backoff: { floorMz: 500 } },
      'backoff.floorMz: unknown key "floorMz": did you mean "floorMs"?',
    ],
    [
      "a key of an auth mode",
      { ...ok, auth: { mode: "bootstrap", bootstrapPassword: "x", bootstrapUsr: "u" } },
      'auth.bootstrapUsr: unknown key "bootstrapUsr": did you mean "bootstrapUser"?',
    ],
    [
      "a key of a child",
      { ...ok, children: [{ id: "c", parnet: "dev1" }] },
      'children.0.parnet: unknown key "parnet": did you mean "parent"?',
    ],
    [
      "an outbox class",
      { ...ok, outbox: { measurements: { maxMessages: 5 } } },
      'outbox.measurements: unknown key "measurements": did you mean "measurement"?',
    ],
    [
      "an inventory key",
      { ...ok, inventory: { hardware: { serial: "1" } } },
      'inventory.hardware.serial: unknown key "serial": did you mean "serialNumber"?',
    ],
  ])("refuses %s, naming the nearest valid key", (_name, input, expected) => {
    expect(problems(input)).toContain(expected);
  });

  it("lists the valid keys when none is near", () => {
    expect(problems({ ...ok, backoff: { zzz: 1 } })).toContain(
      'backoff.zzz: unknown key "zzz" (valid keys: floorMs, capMs, stableMs, configErrorDelayMs)',
    );
  });

  it("reports an unknown key together with the other problems", () => {
    const text = problems({ ...ok, stateDri: "/x", keepAliveSeconds: "60" });
    expect(text).toContain('stateDri: unknown key "stateDri"');
    expect(text).toContain("keepAliveSeconds: must be an integer in [10, 1200]");
  });
});

describe("type errors", () => {
  it.each([
    [
      "a number as a string",
      { ...ok, keepAliveSeconds: "60" },
      'keepAliveSeconds: must be an integer in [10, 1200] (got "60")',
    ],
    [
      "a fraction",
      { ...ok, backoff: { floorMs: 1.5 } },
      "backoff.floorMs: must be an integer in [100, 3600000] (got 1.5)",
    ],
    [
      "a boolean as a string",
      { ...ok, subscribeErrors: "yes" },
      'subscribeErrors: expected boolean, got "yes"',
    ],
    ["an object as a list", { ...ok, children: { id: "c" } }, "children: expected"],
    ["a list as an object", { ...ok, backoff: [1] }, "backoff: expected an object with keys floorMs, capMs"],
  ])("names the key, the type and the range for %s", (_name, input, expected) => {
    expect(problems(input)).toContain(expected);
  });
});

describe("bootstrap user spelling", () => {
  const bootstrap = { tenant: "management", user: "devicebootstrap", password: "secret" };

  it("defaults to management/devicebootstrap", () => {
    expect(authOf({ mode: "bootstrap", bootstrapPassword: "secret" })).toEqual({
      mode: "bootstrap",
      ...bootstrap,
    });
  });

  it.each([
    ["devicebootstrap", {}],
    ["management/devicebootstrap", {}],
    ["management/devicebootstrap", { bootstrapTenant: "management" }],
  ])("accepts the user written as %s", (user, extra) => {
    expect(authOf({ mode: "bootstrap", bootstrapPassword: "secret", bootstrapUser: user, ...extra })).toEqual(
      {
        mode: "bootstrap",
        ...bootstrap,
      },
    );
  });

  it("takes the tenant from a prefixed user", () => {
    expect(authOf({ mode: "bootstrap", bootstrapPassword: "s", bootstrapUser: "edge/boot" })).toEqual({
      mode: "bootstrap",
      tenant: "edge",
      user: "boot",
      password: "s",
    });
  });

  it("refuses a prefix that contradicts the tenant", () => {
    expect(
      authOf({
        mode: "bootstrap",
        bootstrapPassword: "s",
        bootstrapUser: "edge/boot",
        bootstrapTenant: "management",
      }),
    ).toContain('auth.bootstrapUser: names tenant "edge" but auth.bootstrapTenant is "management"');
  });

  it("refuses a malformed user", () => {
    expect(authOf({ mode: "bootstrap", bootstrapPassword: "s", bootstrapUser: "a/b/c" })).toContain(
      'auth.bootstrapUser: must be "<user>" or "<tenant>/<user>"',
    );
  });

  it("strips the tenant from a password-mode user written as tenant/user", () => {
    expect(authOf({ mode: "password", tenant: "t1", user: "t1/device_x", password: "p" })).toEqual({
      mode: "password",
      tenant: "t1",
      user: "device_x",
      password: "p",
    });
  });
});

describe("nearestName", () => {
  it("finds typos, case slips and abbreviations", () => {
    const keys = ["stateDir", "record", "handlers", "keepAliveSeconds", "url"];
    expect(nearestName("stateDri", keys)).toBe("stateDir");
    expect(nearestName("handler", keys)).toBe("handlers");
    expect(nearestName("keepAlive", keys)).toBe("keepAliveSeconds");
    expect(nearestName("URL", keys)).toBe("url");
    expect(nearestName("colour", keys)).toBeUndefined();
  });

  test.prop([fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 })])(
    "edit distance is a symmetric measure bounded by the longer length",
    (a, b) => {
      const d = editDistance(a, b);
      expect(d).toBe(editDistance(b, a));
      expect(d).toBeLessThanOrEqual(Math.max(a.length, b.length));
      expect(d === 0).toBe(a === b);
    },
  );

  test.prop([fc.array(fc.string({ minLength: 1, maxLength: 10 }), { minLength: 1, maxLength: 8 })])(
    "a valid name suggests itself",
    (names) => {
      for (const name of names) expect(nearestName(name, names)?.toLowerCase()).toBe(name.toLowerCase());
    },
  );
});
