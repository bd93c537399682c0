/**
 * `jsonDigest` case by case against the JSON text `JSON.stringify` writes (and its cyrb53,
 * pinned to the published vectors in log.mutants.test.ts): every code unit a string may hold,
 * each number and literal JSON writes its own way, and every value JSON skips or writes as
 * `null`. The properties in json-digest.test.ts draw such values at random; these do not depend
 * on a draw.
 */
import { describe, expect, it } from "vitest";
import { jsonDigest } from "../src/engine/json-digest.js";
import { commandsDigest } from "../src/engine/log.js";

const viaText = (value: unknown) => {
  const json = JSON.stringify(value);
  return { digest: commandsDigest(json), length: json.length };
};

const same = (value: unknown) => expect(jsonDigest(value)).toEqual(viaText(value));

const units = (from: number, to: number): string =>
  String.fromCharCode(...Array.from({ length: to - from + 1 }, (_, i) => from + i));

describe("strings", () => {
  it("every code unit below 0x100 alone, and all of them in one string", () => {
    for (let c = 0; c < 0x100; c++) same(String.fromCharCode(c));
    same(units(0, 0xff));
    expect(jsonDigest(units(0, 0x1f)).length).toBe(JSON.stringify(units(0, 0x1f)).length);
  });

  it("the escapes JSON writes: short ones, \\u00XX in lowercase hex, quote and backslash", () => {
    expect(JSON.stringify('\b\t\n\f\r\u0000\u001f\u000b"\\')).toBe(
      '"\\b\\t\\n\\f\\r\\u0000\\u001f\\u000b\\"\\\\"',
    );
    same('\b\t\n\f\r\u0000\u001f\u000b"\\');
    same("a\u0001b\u0010c\u001ad");
  });

  it("code units at the edges of the surrogate ranges, alone and around text", () => {
    for (const c of [0x7f, 0x80, 0x2028, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff]) {
      const s = String.fromCharCode(c);
      same(s);
      same(`a${s}b`);
    }
  });

  it("pairs are written as they are, lone surrogates escaped", () => {
    for (const s of [
      "\ud800\udc00",
      "\udbff\udfff",
      "\ud83d\ude00",
      "x\ud83d\ude00y",
      "\ud83d",
      "\ude00",
      "\ude00\ud83d",
      "\ud83d\ud83d\ude00",
      "\ud83d\ude00\ude00",
      "\ud83dx",
      "x\ude00",
      "\ud7ff\udc00",
      "\ud800\ue000",
      "\udc00\udc00",
    ]) {
      same(s);
      same([s, s]);
    }
  });

  it("keys are strings like any other", () => {
    same({ "\n": 1, '"': 2, "\ud83d": 3, "": 4 });
  });
});

describe("numbers and literals", () => {
  it("writes numbers as JSON does, and what it cannot write as null", () => {
    for (const n of [
      0,
      -0,
      1,
      -1.5,
      1e21,
      1e-7,
      123456789.125,
      Number.MAX_SAFE_INTEGER,
      NaN,
      Infinity,
      -Infinity,
    ]) {
      same(n);
      same([n]);
    }
    expect(jsonDigest([NaN]).length).toBe(6);
  });

  it("writes true, false and null", () => {
    same(true);
    same(false);
    same(null);
    same([true, false, null]);
    expect(jsonDigest(true).length).toBe(4);
    expect(jsonDigest(false).length).toBe(5);
  });
});

describe("arrays and objects", () => {
  it("empty ones and nested ones", () => {
    same([]);
    same({});
    same("");
    same([[], [[]], {}, [{}], { a: [] }]);
    same({ a: { b: { c: [1, { d: "e" }] } }, f: [2, 3] });
  });

  it("an array writes null for undefined, functions and symbols, in any position", () => {
    same([undefined]);
    same([undefined, 1]);
    same([1, undefined]);
    same([() => 1, Symbol("s"), undefined]);
  });

  it("an object skips members that are undefined, functions or symbols, first, last or between", () => {
    same({ a: undefined, b: 1 });
    same({ a: 1, b: undefined });
    same({ a: 1, b: () => 1, c: 2 });
    same({ a: Symbol("s"), b: undefined });
    same({ a: undefined, b: 1, c: undefined, d: 2 });
  });

  it("an object without prototype is a plain object", () => {
    const bare = Object.create(null) as Record<string, unknown>;
    bare.b = 1;
    bare.a = [undefined];
    same(bare);
    same([bare]);
  });

  it("anything else as JSON writes it: toJSON, dates, class instances, maps", () => {
    class Box {
      constructor(readonly inner: unknown) {}
    }
    same({ at: new Date(0) });
    same({ x: { toJSON: () => ({ y: [1, "\n"] }) } });
    same([new Box([1, undefined]), new Map([["a", 1]]), new Set([1])]);
    same([{ toJSON: () => undefined }]);
    same({ a: { toJSON: () => undefined }, b: 1 });
    same([new String("s"), new Number(2), new Boolean(false)]);
  });

  it("throws on a bigint, as JSON does", () => {
    expect(() => JSON.stringify([1n])).toThrow(TypeError);
    expect(() => jsonDigest([1n])).toThrow(TypeError);
  });

  it("reads own members only, in JSON's order (integer keys first)", () => {
    same({ b: 1, 2: "two", a: 3, 1: "one" });
    const child = Object.create({ inherited: 1 }) as Record<string, unknown>;
    child.own = 2;
    same(child);
  });

  it("tells values apart that differ in one character", () => {
    const a = jsonDigest([{ type: "publish", payload: "200,T,1" }]);
    const b = jsonDigest([{ type: "publish", payload: "200,T,2" }]);
    expect(a.length).toBe(b.length);
    expect(a.digest).not.toBe(b.digest);
  });
});
