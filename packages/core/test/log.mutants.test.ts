/**
 * The event log's pieces held to their contract (docs/event-log.md), each against an
 * independent expectation: the published test vectors of cyrb53 and FNV-1a 64, a second
 * FNV-1a written from its definition, canonical JSON and redaction written out by hand, the
 * exact digest threshold (1,024 characters of command JSON) on both sides.
 */
import { describe, expect, it } from "vitest";
import type { Command } from "../src/engine/commands.js";
import type { Event } from "../src/engine/events.js";
import {
  DIGEST_OVER_CHARS,
  canonicalJson,
  commandsDigest,
  configOfHeader,
  fnv1a64,
  logStepLine,
  makeLogHeader,
  makeLogStep,
  redactCommand,
  redactDeep,
  redactEvent,
  redactSecret,
  type LogHeader,
} from "../src/engine/log.js";

/** FNV-1a 64 from its definition (offset basis, prime, modulo 2^64), one UTF-16 code unit at a time. */
const fnvOracle = (text: string): string => {
  let hash = 14695981039346656037n;
  for (const unit of Array.from({ length: text.length }, (_, i) => text.charCodeAt(i))) {
    hash = BigInt.asUintN(64, (hash ^ BigInt(unit)) * 1099511628211n);
  }
  return hash.toString(16).padStart(16, "0");
};

const placeholder = (secret: string): string => `redacted:${fnvOracle(`c8ylink:${secret}`).slice(0, 12)}`;

describe("commandsDigest: cyrb53 as published", () => {
  // bryc's reference values for cyrb53 with seed 0 (decimal), here as 14 hex digits.
  it.each([
    ["a", 7929297801672961],
    ["b", 8684336938537663],
    ["revenge", 4051478007546757],
    ["revenue", 8309097637345594],
  ])("cyrb53(%j) = %d", (text, value) => {
    expect(commandsDigest(text)).toBe(value.toString(16).padStart(14, "0"));
  });

  it("always writes 14 hex digits, with leading zeros", () => {
    // 4051478007546757 is below 2^52: its hex has 13 significant digits.
    expect(commandsDigest("revenge")).toBe("0e64cc3b748385");
    for (const text of ["", "x", '[{"type":"stop"}]', "\u20ac\ud83d\ude00"]) {
      expect(commandsDigest(text)).toMatch(/^[0-9a-f]{14}$/);
    }
  });
});

describe("fnv1a64", () => {
  it("gives the published FNV-1a 64 test vectors", () => {
    expect(fnv1a64("")).toBe("cbf29ce484222325");
    expect(fnv1a64("a")).toBe("af63dc4c8601ec8c");
    expect(fnv1a64("foobar")).toBe("85944171f73967e8");
  });

  it("hashes UTF-16 code units (not UTF-8 bytes), as its definition written out does", () => {
    for (const text of ["é", "\u20ac", "\ud83d\ude00", 'config:{"a":"\u00fc"}', "\uffff\u0000"]) {
      expect(fnv1a64(text)).toBe(fnvOracle(text));
    }
  });

  it("pads to 16 hex digits when the hash is below 2^60", () => {
    const small = Array.from({ length: 200 }, (_, i) => `k${i}`).filter((s) => fnvOracle(s).startsWith("0"));
    expect(small.length).toBeGreaterThan(0);
    for (const s of small) expect(fnv1a64(s)).toBe(fnvOracle(s));
  });
});

describe("redaction", () => {
  it("a secret becomes redacted: and the first 12 hex digits of FNV-1a of c8ylink:<secret>", () => {
    expect(redactSecret("s3cret")).toBe("redacted:068261a8f558"); // docs/event-log.md
    for (const secret of ["", "pw", "p\u00e4ss,word"]) expect(redactSecret(secret)).toBe(placeholder(secret));
  });

  it("is idempotent on placeholders and only on exact ones", () => {
    const done = placeholder("pw");
    expect(redactDeep({ password: done })).toEqual({ password: done });
    // Anything that only resembles a placeholder is a secret like any other.
    for (const almost of [
      `x${done}`,
      `${done}0`,
      done.toUpperCase(),
      done.slice(0, -1),
      "redacted:",
      `redacted:${"g".repeat(12)}`,
      `${done}\n`,
    ]) {
      expect(redactDeep({ password: almost })).toEqual({ password: placeholder(almost) });
    }
  });

  it("redacts password and bootstrapPassword at any depth, in arrays too, and nothing else", () => {
    const input = {
      deviceId: "dev",
      password: "top",
      auth: { mode: "bootstrap", bootstrapPassword: "boot", user: "u" },
      list: [{ password: "inner" }, "password", 3, null],
      passwords: "not a secret key",
      nested: { password: 42, deeper: { password: { password: "deepest" } } },
    };
    expect(redactDeep(input)).toEqual({
      deviceId: "dev",
      password: placeholder("top"),
      auth: { mode: "bootstrap", bootstrapPassword: placeholder("boot"), user: "u" },
      list: [{ password: placeholder("inner") }, "password", 3, null],
      passwords: "not a secret key",
      // A non-string under a secret key is walked, not replaced.
      nested: { password: 42, deeper: { password: { password: placeholder("deepest") } } },
    });
    expect(redactDeep("password")).toBe("password");
    expect(redactDeep(null)).toBeNull();
  });

  it("keeps a JWT's header and claims and redacts only its signature; a token of another shape whole", () => {
    expect(redactDeep({ token: "h.c.sig" })).toEqual({ token: `h.c.${placeholder("sig")}` });
    expect(redactDeep({ token: `h.c.${placeholder("sig")}` })).toEqual({
      token: `h.c.${placeholder("sig")}`,
    });
    expect(redactDeep({ token: "h.c." })).toEqual({ token: `h.c.${placeholder("")}` });
    for (const other of ["opaque", "a.b", "a.b.c.d"]) {
      expect(redactDeep({ token: other })).toEqual({ token: placeholder(other) });
    }
    expect(redactDeep({ inner: { token: 7 } })).toEqual({ inner: { token: 7 } });
  });

  const message = (topic: string, payload: string): Event => ({
    type: "message",
    nowMs: 5,
    connectionId: 1,
    topic,
    payload,
  });

  it("redacts the password of each 70 line on s/dcr, and nothing of other lines", () => {
    const payload = "70,t1,device_dev,pw1\n71,not,a,password\n70,t2,u2,p,w,2\n70,short";
    expect(redactEvent(message("s/dcr", payload))).toEqual(
      message(
        "s/dcr",
        `70,t1,device_dev,${placeholder("pw1")}\n71,not,a,password\n70,t2,u2,${placeholder("p,w,2")}\n70,short`,
      ),
    );
    expect(redactEvent(message("s/ds", "70,t1,u,pw"))).toEqual(message("s/ds", "70,t1,u,pw"));
  });

  it("redacts the signature of each 71 token line on s/dat", () => {
    expect(redactEvent(message("s/dat", "71,h.c.sig\n72,h.c.sig\n71,opaque"))).toEqual(
      message("s/dat", `71,h.c.${placeholder("sig")}\n72,h.c.sig\n71,${placeholder("opaque")}`),
    );
    expect(redactEvent(message("s/dcr", "71,h.c.sig"))).toEqual(message("s/dcr", "71,h.c.sig"));
  });

  it("redacts a start's durable records and leaves other events alone", () => {
    const start: Event = { type: "start", nowMs: 0, durable: { credentials: { password: "pw" }, x: 1 } };
    expect(redactEvent(start)).toEqual({
      type: "start",
      nowMs: 0,
      durable: { credentials: { password: placeholder("pw") }, x: 1 },
    });
    const stop: Event = { type: "stop", nowMs: 3 };
    expect(redactEvent(stop)).toBe(stop);
  });

  const connect = (password: string | null): Command => ({
    type: "connect",
    connectionId: 1,
    clientId: "dev",
    username: "t/u",
    password,
    keepAliveSeconds: 60,
    cleanSession: true,
    timeoutMs: 30_000,
  });

  it("redacts a connect's password, and a connect without one stays as it is", () => {
    expect(redactCommand(connect("pw"))).toEqual(connect(placeholder("pw")));
    const none = connect(null);
    expect(redactCommand(none)).toBe(none);
  });

  it("redacts persisted records but never outbox rows or deletions, and copies nothing when nothing changes", () => {
    const rows: Command = {
      type: "persist",
      ref: 1,
      changes: [
        { key: "outbox/measurement/1", value: { password: "row text" } },
        { key: "credentials", value: null },
      ],
    };
    expect(redactCommand(rows)).toBe(rows);
    const mixed: Command = {
      type: "persist",
      ref: 2,
      changes: [
        { key: "outbox/alarm/1", value: { password: "row" } },
        { key: "credentials", value: { password: "pw", user: "u" } },
        { key: "outbox/alarm/2", value: { password: "row2" } },
        { key: "journal/op-1", value: null },
        { key: "xoutbox/", value: { password: "pw2" } },
      ],
    };
    expect(redactCommand(mixed)).toEqual({
      type: "persist",
      ref: 2,
      changes: [
        { key: "outbox/alarm/1", value: { password: "row" } },
        { key: "credentials", value: { password: placeholder("pw"), user: "u" } },
        { key: "outbox/alarm/2", value: { password: "row2" } },
        { key: "journal/op-1", value: null },
        { key: "xoutbox/", value: { password: placeholder("pw2") } },
      ],
    });
    // The original command is not changed in place.
    expect(mixed.type === "persist" && mixed.changes[1]).toEqual({
      key: "credentials",
      value: { password: "pw", user: "u" },
    });
  });

  it("redacts a report's secrets, and leaves other commands alone", () => {
    const report = {
      type: "report",
      report: { kind: "credentials", password: "pw" },
    } as unknown as Command;
    expect(redactCommand(report)).toEqual({
      type: "report",
      report: { kind: "credentials", password: placeholder("pw") },
    });
    const timer: Command = { type: "timer-set", key: "password", atMs: 1 };
    expect(redactCommand(timer)).toBe(timer);
  });
});

describe("canonicalJson", () => {
  it("sorts keys by code unit at every depth, drops undefined members, keeps array order", () => {
    expect(canonicalJson({ b: 1, a: [{ d: true, c: null }, 2], "10": "x", "9": "y", B: undefined })).toBe(
      '{"10":"x","9":"y","a":[{"c":null,"d":true},2],"b":1}',
    );
    expect(canonicalJson({ z: { y: { x: 1, w: 2 } }, é: 1, e: 2 })).toBe(
      '{"e":2,"z":{"y":{"w":2,"x":1}},"é":1}',
    );
  });

  it("writes primitives as JSON does and what JSON cannot write as null", () => {
    expect(canonicalJson('a"b')).toBe('"a\\"b"');
    expect(canonicalJson(-1.5)).toBe("-1.5");
    expect(canonicalJson(null)).toBe("null");
    expect(canonicalJson(undefined)).toBe("null");
    expect(canonicalJson([undefined, () => 1])).toBe("[null,null]");
    expect(canonicalJson({})).toBe("{}");
    expect(canonicalJson([])).toBe("[]");
  });

  it("does not depend on the order the keys were written in", () => {
    expect(canonicalJson({ a: 1, b: 2, c: 3 })).toBe(canonicalJson({ c: 3, a: 1, b: 2 }));
  });
});

describe("the header", () => {
  it("carries the redacted config and FNV-1a 64 of its canonical JSON", () => {
    const input = { seed: 7, deviceId: "d", auth: { password: "pw", mode: "password" } };
    const header = makeLogHeader(input, "9.9.9", 7);
    const redacted = { seed: 7, deviceId: "d", auth: { password: placeholder("pw"), mode: "password" } };
    expect(header).toEqual({
      kind: "header",
      format: "c8ylink-event-log",
      schemaVersion: 3,
      engineVersion: "9.9.9",
      configHash: fnvOracle(
        `{"auth":{"mode":"password","password":"${placeholder("pw")}"},"deviceId":"d","seed":7}`,
      ),
      seed: 7,
      config: redacted,
    });
  });

  const header = (schemaVersion: number, config: unknown): LogHeader => ({
    kind: "header",
    format: "c8ylink-event-log",
    schemaVersion,
    engineVersion: "0",
    configHash: "0",
    seed: 0,
    config,
  });

  it("a version-1 config without operations ran them static; version 2 on reads it unchanged", () => {
    expect(configOfHeader(header(1, { deviceId: "d" }))).toEqual({ deviceId: "d", operations: "static" });
    expect(configOfHeader(header(1, { deviceId: "d", operations: "by-id" }))).toEqual({
      deviceId: "d",
      operations: "by-id",
    });
    expect(configOfHeader(header(2, { deviceId: "d" }))).toEqual({ deviceId: "d" });
    expect(configOfHeader(header(3, { deviceId: "d" }))).toEqual({ deviceId: "d" });
    // What is not an object is left for decodeConfig to refuse.
    for (const odd of [null, "d", [1], 5]) expect(configOfHeader(header(1, odd))).toEqual(odd);
  });
});

describe("a step line", () => {
  const event: Event = { type: "stop", nowMs: 12 };
  /** One timer-set command whose JSON array is exactly `chars` characters long. */
  const commandsOf = (chars: number): Command[] => {
    const empty = JSON.stringify([{ type: "timer-set", key: "", atMs: 1 }]).length;
    return [{ type: "timer-set", key: "k".repeat(chars - empty), atMs: 1 }];
  };

  it("keeps commands of exactly 1,024 characters of JSON in full", () => {
    const commands = commandsOf(1024);
    expect(JSON.stringify(commands)).toHaveLength(DIGEST_OVER_CHARS);
    expect(DIGEST_OVER_CHARS).toBe(1024);
    expect(logStepLine(4, event, commands)).toBe(
      `{"kind":"step","seq":4,"event":{"type":"stop","nowMs":12},"commands":${JSON.stringify(commands)}}`,
    );
  });

  it("writes the digest of the JSON of commands of 1,025 characters", () => {
    const commands = commandsOf(1025);
    const json = JSON.stringify(commands);
    expect(json).toHaveLength(1025);
    expect(logStepLine(4, event, commands)).toBe(
      `{"kind":"step","seq":4,"event":{"type":"stop","nowMs":12},"digest":"${commandsDigest(json)}"}`,
    );
  });

  it("redacts the event and the commands, in full and in the digest", () => {
    const message: Event = {
      type: "message",
      nowMs: 1,
      connectionId: 1,
      topic: "s/dcr",
      payload: "70,t,u,pw",
    };
    const connect: Command = {
      type: "connect",
      connectionId: 1,
      clientId: "dev",
      username: "t/u",
      password: "pw",
      keepAliveSeconds: 60,
      cleanSession: true,
      timeoutMs: 1,
    };
    const line = JSON.parse(logStepLine(0, message, [connect])) as unknown;
    expect(line).toEqual({
      kind: "step",
      seq: 0,
      event: { ...message, payload: `70,t,u,${placeholder("pw")}` },
      commands: [{ ...connect, password: placeholder("pw") }],
    });
    const long = [connect, ...commandsOf(1024)];
    const redacted = [{ ...connect, password: placeholder("pw") }, ...commandsOf(1024)];
    expect(JSON.parse(logStepLine(0, message, long))).toEqual({
      kind: "step",
      seq: 0,
      event: { ...message, payload: `70,t,u,${placeholder("pw")}` },
      digest: commandsDigest(JSON.stringify(redacted)),
    });
    expect(makeLogStep(3, message, [connect])).toEqual({
      kind: "step",
      seq: 3,
      event: { ...message, payload: `70,t,u,${placeholder("pw")}` },
      commands: [{ ...connect, password: placeholder("pw") }],
    });
  });
});
