/**
 * The configuration contract at its edges: the whole resolved configuration for a minimal and
 * a complete input, every integer option exactly at both ends of its range, partial objects
 * merged with the defaults, every refusal with its exact path and text, children ordered
 * parents first, the tenant prefix of a user split or refused. (Written for mutation testing.)
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { ConfigInputCodec, decodeConfig, type EngineConfig } from "../src/engine/config.js";
import { formatProblems } from "../src/engine/decode.js";
import { AuthInput } from "../src/engine/config-input.js";

const password = { mode: "password", tenant: "t1", user: "u", password: "p" };
const ok = { deviceId: "dev1", auth: password };

const resolved = (input: unknown): EngineConfig => {
  const result = decodeConfig(input);
  if (E.isLeft(result)) throw new Error(formatProblems(result.left));
  return result.right;
};

/** Every problem, one per line (empty when the input is accepted). */
const problems = (input: unknown): string => {
  const result = decodeConfig(input);
  return E.isLeft(result) ? formatProblems(result.left) : "";
};

const DEFAULT_OUTBOX = {
  "operation-status": { maxMessages: 10_000, maxBytes: 16_777_216 },
  alarm: { maxMessages: 10_000, maxBytes: 8_388_608 },
  event: { maxMessages: 50_000, maxBytes: 33_554_432 },
  inventory: { maxMessages: 10_000, maxBytes: 8_388_608 },
  measurement: { maxMessages: 1_000_000, maxBytes: 268_435_456 },
};

/** What docs/configuration.md promises for every option left out. */
const DEFAULTS = {
  deviceId: "dev1",
  deviceName: "dev1",
  deviceType: "c8y_MQTTDevice",
  auth: { mode: "password", tenant: "t1", user: "u", password: "p" },
  children: [],
  subscribeErrors: true,
  customTemplates: [],
  customOperations: [],
  supportedOperations: [],
  resumableOperations: [],
  inventory: {},
  keepAliveSeconds: 60,
  inflightWindow: 100,
  outbox: DEFAULT_OUTBOX,
  outboxMemoryRows: 10_000,
  backoff: { floorMs: 1_000, capMs: 300_000, stableMs: 60_000, configErrorDelayMs: 60_000 },
  connectTimeoutMs: 30_000,
  bootstrapPollMs: 5_000,
  credentialRejectLimit: 3,
  stopDeadlineMs: 10_000,
  settleMs: 5_000,
  tombstoneMs: 60_000,
  maxOpenOperations: 1_000,
  seed: 1,
  operations: "by-id",
  finishedOperations: { maxCount: 1_000, maxAgeMs: 2_592_000_000 },
};

describe("resolved configuration", () => {
  it("is exactly the documented defaults for a minimal input", () => {
    expect(resolved(ok)).toStrictEqual(DEFAULTS);
  });

  it("takes every option given, none left at its default", () => {
    const inventory = {
      requiredIntervalMinutes: 7,
      hardware: { serialNumber: "s1", model: "m1", revision: "r1" },
      agent: { name: "a", version: "1.0", url: "http://x", maintainer: "me" },
      supportedLogs: ["syslog"],
      supportedConfigurations: ["cfg"],
      supportedSoftwareTypes: ["apt"],
      remoteAccessProtocols: ["SSH"],
    };
    const outbox = {
      "operation-status": { maxMessages: 11, maxBytes: 12 },
      alarm: { maxMessages: 21, maxBytes: 22 },
      event: { maxMessages: 31, maxBytes: 32 },
      inventory: { maxMessages: 41, maxBytes: 42 },
      measurement: { maxMessages: 51, maxBytes: 52 },
    };
    const customOperations = [{ xid: "x1", messageId: "m1", fragment: "c8y_X", operationIdField: 2 }];
    const input = {
      deviceId: "dev9",
      auth: { mode: "bootstrap", bootstrapPassword: "bp", bootstrapTenant: "edge", bootstrapUser: "boot" },
      device: { name: "Device nine", type: "my_Type" },
      children: [{ id: "c1", name: "Child one", type: "child_Type", parent: "dev9" }],
      subscribeErrors: false,
      customTemplates: ["x1", "x2"],
      customOperations,
      supportedOperations: ["c8y_Restart"],
      resumableOperations: ["c8y_Firmware"],
      inventory,
      keepAliveSeconds: 11,
      inflightWindow: 2,
      outboxMemoryRows: 3,
      outbox,
      backoff: { floorMs: 101, capMs: 102, stableMs: 103, configErrorDelayMs: 1004 },
      connectTimeoutMs: 1005,
      bootstrapPollMs: 506,
      credentialRejectLimit: 7,
      stopDeadlineMs: 8,
      settleMs: 9,
      tombstoneMs: 10,
      maxOpenOperations: 12,
      seed: 13,
      operations: "static",
      finishedOperations: { maxCount: 14, maxAgeMs: 60_015 },
    };
    expect(ConfigInputCodec.is(input)).toBe(true);
    expect(resolved(input)).toStrictEqual({
      deviceId: "dev9",
      deviceName: "Device nine",
      deviceType: "my_Type",
      auth: { mode: "bootstrap", tenant: "edge", user: "boot", password: "bp" },
      // A parent named as the device itself is a first-level child.
      children: [{ id: "c1", name: "Child one", type: "child_Type", parent: undefined }],
      subscribeErrors: false,
      customTemplates: ["x1", "x2"],
      customOperations,
      supportedOperations: ["c8y_Restart"],
      resumableOperations: ["c8y_Firmware"],
      inventory,
      keepAliveSeconds: 11,
      inflightWindow: 2,
      outbox,
      outboxMemoryRows: 3,
      backoff: { floorMs: 101, capMs: 102, stableMs: 103, configErrorDelayMs: 1004 },
      connectTimeoutMs: 1005,
      bootstrapPollMs: 506,
      credentialRejectLimit: 7,
      stopDeadlineMs: 8,
      settleMs: 9,
      tombstoneMs: 10,
      maxOpenOperations: 12,
      seed: 13,
      operations: "static",
      finishedOperations: { maxCount: 14, maxAgeMs: 60_015 },
    });
  });

  it("shares its defaults between engines instead of a copy each", () => {
    const a = resolved(ok);
    const b = resolved({ ...ok, deviceId: "dev2" });
    for (const key of [
      "children",
      "customTemplates",
      "customOperations",
      "supportedOperations",
      "resumableOperations",
      "inventory",
      "outbox",
      "backoff",
      "finishedOperations",
    ] as const) {
      expect(a[key], key).toBe(b[key]);
    }
  });

  it("merges a partial backoff with the defaults, key by key", () => {
    const base = DEFAULTS.backoff;
    expect(resolved({ ...ok, backoff: {} }).backoff).toEqual(base);
    expect(resolved({ ...ok, backoff: { floorMs: 2_000 } }).backoff).toEqual({ ...base, floorMs: 2_000 });
    expect(resolved({ ...ok, backoff: { capMs: 2_000 } }).backoff).toEqual({ ...base, capMs: 2_000 });
    expect(resolved({ ...ok, backoff: { stableMs: 0 } }).backoff).toEqual({ ...base, stableMs: 0 });
    expect(resolved({ ...ok, backoff: { configErrorDelayMs: 1_000 } }).backoff).toEqual({
      ...base,
      configErrorDelayMs: 1_000,
    });
  });

  it("merges partial finished-operation limits with the defaults", () => {
    const base = DEFAULTS.finishedOperations;
    expect(resolved({ ...ok, finishedOperations: {} }).finishedOperations).toEqual(base);
    expect(resolved({ ...ok, finishedOperations: { maxCount: 5 } }).finishedOperations).toEqual({
      ...base,
      maxCount: 5,
    });
    expect(resolved({ ...ok, finishedOperations: { maxAgeMs: 120_000 } }).finishedOperations).toEqual({
      ...base,
      maxAgeMs: 120_000,
    });
  });

  it("merges each outbox class with its own defaults", () => {
    expect(resolved({ ...ok, outbox: {} }).outbox).toEqual(DEFAULT_OUTBOX);
    expect(resolved({ ...ok, outbox: { alarm: { maxMessages: 5 }, event: { maxBytes: 6 } } }).outbox).toEqual(
      {
        ...DEFAULT_OUTBOX,
        alarm: { maxMessages: 5, maxBytes: 8_388_608 },
        event: { maxMessages: 50_000, maxBytes: 6 },
      },
    );
  });

  it("keeps the cap equal to the floor, refuses it one below", () => {
    expect(resolved({ ...ok, backoff: { floorMs: 5_000, capMs: 5_000 } }).backoff.capMs).toBe(5_000);
    expect(problems({ ...ok, backoff: { floorMs: 5_000, capMs: 4_999 } })).toBe(
      "backoff.capMs: must be ≥ backoff.floorMs",
    );
    // Against the default floor too.
    expect(problems({ ...ok, backoff: { capMs: 999 } })).toBe("backoff.capMs: must be ≥ backoff.floorMs");
  });

  it("turns a signed seed into its unsigned 32-bit twin", () => {
    expect(resolved({ ...ok, seed: -1 }).seed).toBe(4_294_967_295);
    expect(resolved({ ...ok, seed: 0 }).seed).toBe(0);
  });
});

/** `path` (dots, array indices as numbers) set to `value` in a copy of `base`. */
const withValue = (base: unknown, path: string, value: unknown): unknown => {
  const [head, ...rest] = path.split(".") as [string, ...string[]];
  const copy = (Array.isArray(base) ? [...base] : { ...(base as object) }) as Record<string, unknown>;
  copy[head] = rest.length === 0 ? value : withValue(copy[head] ?? {}, rest.join("."), value);
  return copy;
};
const valueAt = (config: unknown, path: string): unknown =>
  path.split(".").reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], config);

describe("integer options at both ends of their range", () => {
  // Neighbours that let every bound be reached alone: the cap may not be below the floor,
  // an operation id field needs its custom operation.
  const base = {
    ...ok,
    backoff: { floorMs: 100, capMs: 86_400_000 },
    customTemplates: ["x1"],
    customOperations: [{ xid: "x1", messageId: "m", fragment: "f" }],
  };

  it.each([
    ["keepAliveSeconds", 10, 1200],
    ["inflightWindow", 1, 65534],
    ["outboxMemoryRows", 2, 10_000_000],
    ["outbox.operation-status.maxMessages", 1, 10_000_000],
    ["outbox.measurement.maxBytes", 1, 2 ** 40],
    ["customOperations.0.operationIdField", 0, 1000],
    ["backoff.floorMs", 100, 3_600_000],
    ["backoff.capMs", 100, 86_400_000],
    ["backoff.stableMs", 0, 86_400_000],
    ["backoff.configErrorDelayMs", 1000, 86_400_000],
    ["connectTimeoutMs", 1000, 600_000],
    ["bootstrapPollMs", 500, 600_000],
    ["credentialRejectLimit", 1, 1000],
    ["stopDeadlineMs", 0, 600_000],
    ["settleMs", 0, 60_000],
    ["tombstoneMs", 0, 3_600_000],
    ["maxOpenOperations", 1, 100_000],
    ["seed", -(2 ** 31), 2 ** 32 - 1],
    ["finishedOperations.maxCount", 1, 1_000_000],
    ["finishedOperations.maxAgeMs", 60_000, 31_536_000_000],
  ])("%s: accepts exactly %i to %i", (path, min, max) => {
    for (const value of [min, max]) {
      const config = resolved(withValue(base, path, value));
      expect(valueAt(config, path), `${path} = ${value}`).toBe(path === "seed" ? value >>> 0 : value);
    }
    for (const value of [min - 1, max + 1, min + 0.5]) {
      expect(problems(withValue(base, path, value)), `${path} = ${value}`).toBe(
        `${path}: must be an integer in [${min}, ${max}] (got ${value})`,
      );
    }
  });

  it("checks the inventory interval for an integer only", () => {
    const interval = (n: unknown) => withValue(ok, "inventory.requiredIntervalMinutes", n);
    expect(resolved(interval(-5)).inventory).toEqual({ requiredIntervalMinutes: -5 });
    expect(problems(interval(1.5))).toBe("inventory.requiredIntervalMinutes: must be an integer (got 1.5)");
    expect(problems(interval("5"))).toBe('inventory.requiredIntervalMinutes: expected Integer, got "5"');
  });
});

describe("refusals, with path and reason", () => {
  it.each([
    ["an empty device id", { ...ok, deviceId: "" }, "deviceId: device id empty"],
    ["a device id that is not text", { ...ok, deviceId: 5 }, "deviceId: expected DeviceId, got 5"],
    [
      "no auth",
      { deviceId: "dev1" },
      'auth: unknown auth mode undefined: expected "bootstrap", "password" or "certificate"',
    ],
    [
      "a null auth",
      { ...ok, auth: null },
      'auth: unknown auth mode undefined: expected "bootstrap", "password" or "certificate"',
    ],
    [
      "an auth that is not an object",
      { ...ok, auth: "password" },
      'auth: unknown auth mode undefined: expected "bootstrap", "password" or "certificate"',
    ],
    [
      "an auth mode that is not text",
      { ...ok, auth: { mode: 5 } },
      'auth: unknown auth mode 5: expected "bootstrap", "password" or "certificate"',
    ],
    [
      "empty and mistyped password fields",
      { ...ok, auth: { mode: "password", tenant: "", user: 1, password: "p" } },
      "auth.tenant: must not be empty\nauth.user: expected NonEmptyString, got 1",
    ],
    [
      "a bootstrap without its password",
      { ...ok, auth: { mode: "bootstrap", bootstrapTenant: "", bootstrapUser: "" } },
      "auth.bootstrapPassword: expected NonEmptyString, got nothing\nauth.bootstrapTenant: must not be empty\nauth.bootstrapUser: must not be empty",
    ],
    [
      "a key of another auth mode",
      { ...ok, auth: { mode: "certificate", password: "p" } },
      'auth.password: unknown key "password" (valid keys: mode)',
    ],
    [
      "bad child ids",
      { ...ok, children: [{ id: "a/b", parent: "" }] },
      "children.0.id: child id contains '/'\nchildren.0.parent: child id empty",
    ],
    [
      "a child id that is not text",
      { ...ok, children: [{ id: 7 }] },
      "children.0.id: expected ChildId, got 7",
    ],
    [
      "a child name that is not text",
      { ...ok, children: [{ id: "c", name: 1 }] },
      "children.0.name: expected string, got 1",
    ],
    ["an empty X-ID", { ...ok, customTemplates: [""] }, "customTemplates.0: X-ID empty"],
    ["an X-ID that is not text", { ...ok, customTemplates: [1] }, "customTemplates.0: expected XId, got 1"],
    [
      "a custom operation's fields",
      { ...ok, customOperations: [{ xid: "x/", messageId: "", fragment: 3 }] },
      "customOperations.0.xid: X-ID contains '/'\ncustomOperations.0.messageId: must not be empty\ncustomOperations.0.fragment: expected NonEmptyString, got 3",
    ],
    [
      "an inventory agent without version and maintainer, an empty log type",
      { ...ok, inventory: { agent: { name: "a" }, supportedLogs: [""], remoteAccessProtocols: [""] } },
      "inventory.agent.version: expected NonEmptyString, got nothing\ninventory.agent.maintainer: expected NonEmptyString, got nothing\ninventory.supportedLogs.0: must not be empty\ninventory.remoteAccessProtocols.0: must not be empty",
    ],
    [
      "empty operation fragments",
      { ...ok, supportedOperations: [""], resumableOperations: [""] },
      "supportedOperations.0: must not be empty\nresumableOperations.0: must not be empty",
    ],
    [
      "an unknown operations mode",
      { ...ok, operations: "json" },
      'operations: expected "by-id", got "json"\noperations: expected "static", got "json"',
    ],
    [
      "an unknown outbox class limit",
      { ...ok, outbox: { alarm: { maxRows: 5 } } },
      'outbox.alarm.maxRows: unknown key "maxRows" (valid keys: maxMessages, maxBytes)',
    ],
    [
      "a custom operation whose template is not subscribed",
      {
        ...ok,
        customTemplates: ["x1"],
        customOperations: [
          { xid: "x1", messageId: "m", fragment: "f" },
          { xid: "x2", messageId: "m", fragment: "f" },
        ],
      },
      'customOperations.1.xid: "x2" is not in customTemplates (not subscribed)',
    ],
    [
      "a custom operation without any templates",
      { ...ok, customOperations: [{ xid: "x1", messageId: "m", fragment: "f" }] },
      'customOperations.0.xid: "x1" is not in customTemplates (not subscribed)',
    ],
  ])("refuses %s", (_name, input, expected) => {
    expect(problems(input)).toBe(expected);
  });

  it("names an empty unknown key by the object that holds it", () => {
    expect(problems({ ...ok, backoff: { "": 1 } })).toBe(
      'backoff: unknown key "" (valid keys: floorMs, capMs, stableMs, configErrorDelayMs)',
    );
  });

  it("reports the resolution problems together, in a fixed order", () => {
    expect(
      problems({
        deviceId: "dev1",
        auth: { mode: "password", tenant: "t1", user: "t2/u", password: "p" },
        backoff: { floorMs: 2_000, capMs: 1_000 },
        customOperations: [{ xid: "x1", messageId: "m", fragment: "f" }],
        children: [{ id: "c" }, { id: "c" }, { id: "d", parent: "nope" }],
      }),
    ).toBe(
      [
        "backoff.capMs: must be ≥ backoff.floorMs",
        'customOperations.0.xid: "x1" is not in customTemplates (not subscribed)',
        'children.1.id: duplicate child id "c"',
        'children.2.parent: unknown parent "nope"',
        'auth.user: names tenant "t2" but auth.tenant is "t1": write the user without the tenant',
      ].join("\n"),
    );
  });
});

describe("children", () => {
  const childrenOf = (children: unknown) => resolved({ ...ok, children }).children;

  it("default the name to the id and the type to c8y_MQTTChildDevice", () => {
    expect(childrenOf([{ id: "c1" }])).toEqual([
      { id: "c1", name: "c1", type: "c8y_MQTTChildDevice", parent: undefined },
    ]);
  });

  it("are ordered parents first, in configuration order otherwise", () => {
    const order = childrenOf([
      { id: "c3", parent: "c2" },
      { id: "b" },
      { id: "c2", parent: "c1" },
      { id: "a", parent: "dev1" },
      { id: "c1" },
      { id: "b2", parent: "b" },
    ]).map((c) => `${c.id}<${c.parent ?? "-"}`);
    // Level by level (children of the device, their children, …), each in configuration order.
    expect(order).toEqual(["b<-", "a<-", "c1<-", "c2<c1", "b2<b", "c3<c2"]);
  });

  it("refuse a child named as the device, and every duplicate", () => {
    expect(problems({ ...ok, children: [{ id: "dev1" }] })).toBe("children.0.id: must differ from deviceId");
    expect(problems({ ...ok, children: [{ id: "c" }, { id: "dev1" }, { id: "c" }, { id: "c" }] })).toBe(
      [
        "children.1.id: must differ from deviceId",
        'children.2.id: duplicate child id "c"',
        'children.3.id: duplicate child id "c"',
      ].join("\n"),
    );
  });

  it("refuse a parent that is no child", () => {
    expect(
      problems({ ...ok, children: [{ id: "a" }, { id: "b", parent: "x" }, { id: "c", parent: "y" }] }),
    ).toBe('children.1.parent: unknown parent "x"\nchildren.2.parent: unknown parent "y"');
  });

  it("refuse a cycle, naming every child that cannot be placed", () => {
    expect(problems({ ...ok, children: [{ id: "a", parent: "a" }] })).toBe(
      'children: parent cycle among "a"',
    );
    expect(
      problems({
        ...ok,
        children: [
          { id: "r" },
          { id: "a", parent: "b" },
          { id: "x", parent: "a" },
          { id: "b", parent: "a" },
          { id: "r2", parent: "r" },
        ],
      }),
    ).toBe('children: parent cycle among "a", "x", "b"');
  });
});

describe("the tenant prefix of a user", () => {
  const authOf = (auth: unknown) => resolved({ deviceId: "dev1", auth }).auth;
  const authProblems = (auth: unknown) => problems({ deviceId: "dev1", auth });

  it("is split off, or the configured tenant is used", () => {
    expect(authOf({ mode: "bootstrap", bootstrapPassword: "s", bootstrapUser: "boot" })).toEqual({
      mode: "bootstrap",
      tenant: "management",
      user: "boot",
      password: "s",
    });
    expect(authOf({ mode: "bootstrap", bootstrapPassword: "s", bootstrapTenant: "edge" })).toEqual({
      mode: "bootstrap",
      tenant: "edge",
      user: "devicebootstrap",
      password: "s",
    });
    expect(authOf({ mode: "password", tenant: "t1", user: "t1/u", password: "p" })).toEqual(password);
    expect(authOf({ mode: "certificate" })).toEqual({ mode: "certificate" });
  });

  it.each(["/u", "t1/", "/", "t1/u/v"])("refuses %j", (user) => {
    const expected = `must be "<user>" or "<tenant>/<user>" (got ${JSON.stringify(user)})`;
    expect(authProblems({ mode: "password", tenant: "t1", user, password: "p" })).toBe(
      `auth.user: ${expected}`,
    );
    expect(authProblems({ mode: "bootstrap", bootstrapPassword: "s", bootstrapUser: user })).toBe(
      `auth.bootstrapUser: ${expected}`,
    );
  });

  it("refuses a prefix naming another tenant", () => {
    expect(
      authProblems({
        mode: "bootstrap",
        bootstrapPassword: "s",
        bootstrapTenant: "edge",
        bootstrapUser: "mgmt/b",
      }),
    ).toBe(
      'auth.bootstrapUser: names tenant "mgmt" but auth.bootstrapTenant is "edge": write the user without the tenant',
    );
  });
});

describe("the auth codec", () => {
  it("recognises each mode's shape and nothing else", () => {
    const good = [
      { mode: "bootstrap", bootstrapPassword: "s" },
      { mode: "password", tenant: "t", user: "u", password: "p" },
      { mode: "certificate" },
    ];
    for (const auth of good) {
      expect(AuthInput.is(auth), JSON.stringify(auth)).toBe(true);
      expect(ConfigInputCodec.is({ deviceId: "d", auth }), JSON.stringify(auth)).toBe(true);
      expect(AuthInput.encode(auth as never)).toBe(auth);
    }
    for (const auth of [
      undefined,
      null,
      { mode: "bootstrap" },
      { mode: "password", tenant: "t", user: "u" },
      { mode: "certificate", x: 1 },
      { mode: "oauth" },
    ]) {
      expect(AuthInput.is(auth), JSON.stringify(auth)).toBe(false);
      expect(ConfigInputCodec.is({ deviceId: "d", auth }), JSON.stringify(auth)).toBe(false);
    }
  });
});
