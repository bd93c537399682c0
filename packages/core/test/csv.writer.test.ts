/**
 * The CSV writer's quoting decision against independent oracles: the regular expressions its
 * doc comment names (`\s` at either edge; a quote, comma, CR, LF or TAB anywhere), for every
 * UTF-16 code unit at the start, at the end and alone; and the reader, for a written row.
 * (Written for mutation testing: `isSpace` spells out `\s` by char code, and the examples in
 * csv.test.ts reached only a few of its ranges.)
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { needsQuoting, parseRows, serializeField, serializeRow } from "../src/smartrest/csv.js";

const mustQuote = (v: string): boolean => /[",\r\n\t]/.test(v) || /^\s|\s$/.test(v);
const hex = (c: number): string => c.toString(16).toUpperCase().padStart(4, "0");

describe("needsQuoting agrees with the regular expressions it replaces", () => {
  it("for every code unit at the start, at the end, alone and inside", () => {
    let count = 0;
    const first: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const ch = String.fromCharCode(c);
      for (const v of [ch, `${ch}a`, `a${ch}`, `a${ch}b`]) {
        if (needsQuoting(v) !== mustQuote(v)) {
          count++;
          if (first.length < 5) first.push(`U+${hex(c)} in ${JSON.stringify(v)}`);
        }
      }
    }
    expect({ count, first }).toEqual({ count: 0, first: [] });
  });

  it("the boundaries of the ranges, by name", () => {
    // `\s` = TAB LF VT FF CR, space, NBSP, U+1680, U+2000–U+200A, U+2028/9, U+202F, U+205F, U+3000, BOM.
    const spaces = [0x09, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2005, 0x200a];
    spaces.push(0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff);
    const neighbours = [0x00, 0x08, 0x0e, 0x1f, 0x21, 0x7f, 0x80, 0x9f, 0xa1, 0x167f, 0x1681];
    neighbours.push(0x1fff, 0x200b, 0x2027, 0x202a, 0x202e, 0x2030, 0x205e, 0x2060, 0x2fff, 0x3001);
    neighbours.push(0xfefe, 0xff00, 0xffff);
    for (const c of spaces) {
      expect([c, needsQuoting(`${String.fromCharCode(c)}x`)]).toEqual([c, true]);
      expect([c, needsQuoting(`x${String.fromCharCode(c)}`)]).toEqual([c, true]);
    }
    for (const c of neighbours) {
      expect([c, needsQuoting(`${String.fromCharCode(c)}x`)]).toEqual([c, false]);
      expect([c, needsQuoting(`x${String.fromCharCode(c)}`)]).toEqual([c, false]);
    }
  });
});

const fieldChar = fc.constantFrom(
  "a",
  "b",
  " ",
  "\u00a0",
  "\u2003",
  '"',
  ",",
  "\\",
  "\n",
  "\r",
  "\t",
  "\u000b",
);
const field = fc.string({ unit: fieldChar, maxLength: 8 });

describe("serializeField", () => {
  test.prop([field])("leaves a value alone exactly when no quoting is needed", (v) => {
    expect(serializeField(v) === v).toBe(!mustQuote(v));
  });

  test.prop([fc.array(field, { minLength: 1, maxLength: 5 })])(
    "the reader gives a written row back",
    (row) => {
      expect(parseRows(serializeRow(row))).toEqual({ _tag: "Right", right: [row] });
    },
  );
});
