/**
 * The field building blocks used on their own: a kind's `format` and `scalar` (the interpreter's
 * per-row encoders call them; the core's catalogue goes through `req`/`opt`), and `repeat`'s
 * minimum-size reason and blank columns. (Written for mutation testing.)
 */
import { left, right } from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  type Columns,
  boolean,
  decimal,
  integer,
  opt,
  repeat,
  scalar,
  text,
  timestamp,
} from "../src/smartrest/upstream-fields.js";

describe("Kind.format", () => {
  it("is the column when the value is valid, else the reason", () => {
    expect(decimal.format(1e21)).toEqual(right("1000000000000000000000"));
    expect(decimal.format(-0.5)).toEqual(right("-0.5"));
    expect(decimal.format(Number.NaN)).toEqual(left("NaN is not a finite number"));
    expect(integer.format(1.5)).toEqual(left("1.5 is not an integer (within ±2^53-1)"));
    expect(boolean.format(false)).toEqual(right("false"));
    expect(timestamp.format("2024-02-30T00:00:00Z")).toEqual(
      left('"2024-02-30T00:00:00Z" is not an ISO-8601 timestamp'),
    );
    expect(text.format("ok")).toEqual(right("ok"));
  });
});

describe("scalar", () => {
  it("refuses a wrong type, then an invalid value, with the field's name", () => {
    expect(scalar(decimal, "1", "series[0].value")).toEqual(
      left({ field: "series[0].value", reason: "expected number, got string" }),
    );
    expect(scalar(text, null, "f")).toEqual(left({ field: "f", reason: "expected string, got null" }));
    expect(scalar(decimal, Number.POSITIVE_INFINITY, "f")).toEqual(
      left({ field: "f", reason: "Infinity is not a finite number" }),
    );
  });

  it("is the column of a valid value", () => {
    expect(scalar(integer, 42, "f")).toEqual(right("42"));
    expect(scalar(decimal, 1e-7, "f")).toEqual(right("0.0000001"));
    expect(scalar(boolean, true, "f")).toEqual(right("true"));
  });
});

describe("repeat", () => {
  const columns = (texts: string[], kept: number): Columns => ({ texts, kept });
  const entry = opt(text).write;

  it("names the minimum, singular or plural", () => {
    expect(repeat(1, false, entry)([], "f", columns([], 0))).toEqual({
      field: "f",
      reason: "needs at least 1 entry",
    });
    expect(repeat(2, false, entry)(["a"], "f", columns([], 0))).toEqual({
      field: "f",
      reason: "needs at least 2 entries",
    });
  });

  it("an empty list writes nothing and keeps nothing, unless it is written as blank columns", () => {
    const plain = columns(["a", ""], 0);
    expect(repeat(0, false, entry)([], "f", plain)).toBeUndefined();
    expect(plain).toEqual({ texts: ["a", ""], kept: 0 });

    const blank = columns(["a"], 0);
    expect(repeat(0, false, entry, 2)([], "f", blank)).toBeUndefined();
    expect(blank).toEqual({ texts: ["a", "", ""], kept: 3 });
  });
});
