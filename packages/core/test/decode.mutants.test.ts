/**
 * The boundary decoding helpers at their edges: integer ranges at both ends, strict objects
 * refusing non-objects and unknown keys, paths through unions and arrays, value descriptions
 * cut at 60 characters, duplicate problems reported once. (Written for mutation testing.)
 */
import { describe, expect, it } from "vitest";
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { decode, formatProblems, intRange, problemsOf, refine, strictObject } from "../src/engine/decode.js";

const problems = <A, O>(codec: t.Type<A, O, unknown>, input: unknown) => {
  const result = decode(codec, input);
  return E.isLeft(result) ? result.left : [];
};

describe("intRange", () => {
  const port = intRange("port", 1, 10);

  it("accepts exactly the integers from min to max", () => {
    for (const ok of [1, 2, 9, 10]) {
      expect(decode(port, ok)).toEqual(E.right(ok));
      expect(port.is(ok)).toBe(true);
    }
    for (const bad of [0, 11, 1.5, -1, "5", null, undefined, Number.NaN]) {
      expect(port.is(bad)).toBe(false);
      expect(E.isLeft(decode(port, bad))).toBe(true);
    }
    expect(port.range).toEqual({ min: 1, max: 10 });
    expect(port.name).toBe("port");
    expect(port.encode(3)).toBe(3);
  });

  it("names the range and what came", () => {
    expect(problems(port, 11)).toEqual([{ path: "", message: "must be an integer in [1, 10] (got 11)" }]);
    expect(problems(port, "5")).toEqual([{ path: "", message: 'must be an integer in [1, 10] (got "5")' }]);
    expect(problems(port, undefined)).toEqual([
      { path: "", message: "must be an integer in [1, 10] (got nothing)" },
    ]);
  });
});

describe("refine", () => {
  const even = refine(t.number, "even", (n) => (n % 2 === 0 ? undefined : `${n} is odd`));

  it("accepts what the base accepts and the check approves", () => {
    expect(decode(even, 4)).toEqual(E.right(4));
    expect(even.is(4)).toBe(true);
    expect(even.is(3)).toBe(false);
    expect(even.is("4")).toBe(false);
    expect(even.encode(4)).toBe(4);
  });

  it("refuses with the check's reason, or the base's problem", () => {
    expect(problems(even, 3)).toEqual([{ path: "", message: "3 is odd" }]);
    // The base's problem, named after the refined codec (its context).
    expect(problems(even, "x")).toEqual([{ path: "", message: 'expected even, got "x"' }]);
  });
});

describe("strictObject", () => {
  const codec = strictObject("thing", { name: t.string }, { size: intRange("size", 0, 9) });

  it("accepts the known keys, required and optional", () => {
    expect(decode(codec, { name: "a" })).toEqual(E.right({ name: "a" }));
    expect(decode(codec, { name: "a", size: 3 })).toEqual(E.right({ name: "a", size: 3 }));
    expect(codec.is({ name: "a", size: 3 })).toBe(true);
    expect(codec.encode({ name: "a", size: 3 })).toEqual({ name: "a", size: 3 });
    expect(codec.props.required).toHaveProperty("name");
    expect(codec.props.optional).toHaveProperty("size");
  });

  it("refuses what is not an object, naming the valid keys", () => {
    for (const [value, got] of [
      [null, "null"],
      [[], "[]"],
      ["x", '"x"'],
      [7, "7"],
    ] as const) {
      expect(problems(codec, value)).toEqual([
        { path: "", message: `expected an object with keys name, size, got ${got}` },
      ]);
      expect(codec.is(value)).toBe(false);
    }
  });

  it("refuses unknown keys with the nearest name, and still reports the others", () => {
    expect(problems(codec, { name: "a", sise: 1 })).toEqual([
      { path: "sise", message: 'unknown key "sise": did you mean "size"?' },
    ]);
    expect(codec.is({ name: "a", sise: 1 })).toBe(false);
    expect(problems(codec, { zzz: 1 })).toEqual([
      { path: "zzz", message: 'unknown key "zzz" (valid keys: name, size)' },
      { path: "name", message: "expected string, got nothing" },
    ]);
  });

  it("refuses a missing required key and an invalid optional one", () => {
    expect(problems(codec, {})).toEqual([{ path: "name", message: "expected string, got nothing" }]);
    expect(codec.is({})).toBe(false);
    expect(problems(codec, { name: "a", size: 10 })).toEqual([
      { path: "size", message: "must be an integer in [0, 9] (got 10)" },
    ]);
    expect(codec.is({ name: "a", size: 10 })).toBe(false);
    expect(codec.is({ name: 1 })).toBe(false);
  });

  it("does not take inherited keys for known ones", () => {
    expect(problems(codec, { name: "a", toString: 1 })).toEqual([
      { path: "toString", message: 'unknown key "toString" (valid keys: name, size)' },
    ]);
  });
});

describe("problem paths and descriptions", () => {
  it("skip union and intersection members, keep object keys and array indices", () => {
    const codec = t.type({
      list: t.array(t.union([t.string, t.number])),
      both: t.intersection([t.type({ a: t.string }), t.partial({ b: t.number })]),
    });
    expect(problems(codec, { list: ["x", true], both: { a: 1, b: "y" } })).toEqual([
      { path: "list.1", message: "expected string, got true" },
      { path: "list.1", message: "expected number, got true" },
      { path: "both.a", message: "expected string, got 1" },
      { path: "both.b", message: 'expected number, got "y"' },
    ]);
  });

  it("cut values longer than 60 characters of JSON, and describe what JSON cannot", () => {
    const exactly60 = "x".repeat(58); // 60 with the quotes
    expect(problems(t.number, exactly60)).toEqual([
      { path: "", message: `expected number, got "${exactly60}"` },
    ]);
    const longer = "x".repeat(59);
    expect(problems(t.number, longer)).toEqual([
      { path: "", message: `expected number, got "${"x".repeat(56)}...` },
    ]);
    expect(problems(t.number, 10n)).toEqual([{ path: "", message: "expected number, got bigint" }]);
    expect(problems(t.number, Symbol.for("s"))).toEqual([
      { path: "", message: "expected number, got Symbol(s)" },
    ]);
  });

  it("report a problem repeated at the same path once", () => {
    const error = (key: string): t.ValidationError => ({
      value: 1,
      context: [
        { key: "", type: t.unknown, actual: {} },
        { key, type: t.string, actual: 1 },
      ],
      message: "bad",
    });
    expect(problemsOf([error("a"), error("a"), error("b")])).toEqual([
      { path: "a", message: "bad" },
      { path: "b", message: "bad" },
    ]);
    expect(problemsOf([{ value: 1, context: [] }])).toEqual([{ path: "", message: "expected value, got 1" }]);
  });

  it("format with the path, or (root)", () => {
    expect(
      formatProblems([
        { path: "", message: "m1" },
        { path: "a.b", message: "m2" },
      ]),
    ).toBe("(root): m1\na.b: m2");
    expect(formatProblems([])).toBe("");
  });
});
