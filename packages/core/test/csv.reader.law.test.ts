/**
 * The CSV reader and the UTF-8 validator against independent oracles, exhaustively over small
 * inputs:
 *
 * - `parseRows` against a second reader written from the grammar in csv.ts's header as a regex
 *   tokenizer (a different construction from the reader's index-jumping field parsers), on every
 *   string of up to 6 characters over the alphabet that matters (`a , " \ LF CR`): rows, error
 *   kind, row, column and offset must all agree.
 * - `decodePayload` against the platform's own strict decoder (`TextDecoder` with `fatal`): the
 *   decoded text when valid, and when not, the offset of the first ill-formed sequence, which is
 *   the length of the longest valid prefix; for every 1- and 2-byte input and every 3- and 4-byte
 *   input built from the boundary values of Unicode Table 3-7.
 */
import { describe, expect, it } from "vitest";
import { isLeft, left, right } from "fp-ts/lib/Either.js";
import { decodePayload, parsePayload, parseRows } from "../src/smartrest/csv.js";

type Outcome =
  | { readonly rows: string[][] }
  | {
      readonly kind: "csv-unterminated-quote" | "csv-stray-quote";
      row: number;
      column: number;
      offset: number;
    };

/**
 * Tokens inside quotes: an odd backslash run before a quote (half the run, then a literal quote),
 * an even run before a quote (half the run; the quote stays structural), a run not before a quote
 * (literal), the `""` escape, and plain text.
 */
const QUOTED_TOKEN = /((?:\\\\)*)\\"|((?:\\\\)+)(?=")|(\\+)(?![\\"])|("")|([^"\\]+)/y;
const UNQUOTED = /[^,\n"]*/y;
const BLANK_LINE = /\r?\n/y;

const referenceParse = (s: string): Outcome => {
  const rows: string[][] = [];
  let pos = 0;
  const at = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = pos;
    return re.exec(s);
  };
  records: while (pos < s.length) {
    const blank = at(BLANK_LINE);
    if (blank !== null) {
      pos += blank[0].length;
      continue;
    }
    const fields: string[] = [];
    const fail = (kind: "csv-unterminated-quote" | "csv-stray-quote", offset: number): Outcome => ({
      kind,
      row: rows.length + 1,
      column: fields.length + 1,
      offset,
    });
    for (;;) {
      let value = "";
      if (s[pos] === '"') {
        const open = pos;
        pos += 1;
        for (let token = at(QUOTED_TOKEN); token !== null; token = at(QUOTED_TOKEN)) {
          const [whole, oddRun, evenRun, literalRun, doubled, text] = token;
          if (oddRun !== undefined) value += "\\".repeat(oddRun.length / 2) + '"';
          else if (evenRun !== undefined) value += "\\".repeat(evenRun.length / 2);
          else if (doubled !== undefined) value += '"';
          else value += literalRun ?? text ?? "";
          pos += whole.length;
        }
        if (pos >= s.length) return fail("csv-unterminated-quote", open);
        pos += 1; // the closing quote
        const rest = s.slice(pos);
        if (rest === "") {
          fields.push(value);
          rows.push(fields);
          break records;
        }
        if (rest.startsWith(",")) {
          fields.push(value);
          pos += 1;
          continue;
        }
        const newline = rest.startsWith("\n") ? 1 : rest.startsWith("\r\n") ? 2 : 0;
        if (newline === 0) return fail("csv-stray-quote", pos);
        fields.push(value);
        pos += newline;
        break;
      }
      value = at(UNQUOTED)?.[0] ?? "";
      pos += value.length;
      if (s[pos] === '"') return fail("csv-stray-quote", pos);
      if (s[pos] === ",") {
        fields.push(value);
        pos += 1;
        continue;
      }
      // LF or the end: a CR right before the LF belongs to the separator.
      fields.push(s[pos] === "\n" && value.endsWith("\r") ? value.slice(0, -1) : value);
      pos += 1;
      break;
    }
    rows.push(fields);
  }
  return { rows };
};

const outcome = (s: string): Outcome => {
  const result = parseRows(s);
  if (!isLeft(result)) return { rows: result.right.map((r) => [...r]) };
  const error = result.left;
  if (error.kind === "csv-invalid-utf8") throw new Error("parseRows never checks UTF-8");
  const { kind, row, column, offset } = error;
  return { kind, row, column, offset };
};

/** Every string of length `0..maxLength` over `alphabet`. */
const allStrings = function* (alphabet: readonly string[], maxLength: number): Generator<string> {
  let level = [""];
  for (let length = 0; length <= maxLength; length++) {
    yield* level;
    level = level.flatMap((prefix) => alphabet.map((c) => prefix + c));
  }
};

describe("parseRows agrees with a regex-tokenizer reader written from the grammar", () => {
  it('on every string of up to 6 characters over a , " \\ LF CR', () => {
    let checked = 0;
    const disagreements: string[] = [];
    for (const s of allStrings(["a", ",", '"', "\\", "\n", "\r"], 6)) {
      checked += 1;
      const expected = referenceParse(s);
      const actual = outcome(s);
      if (JSON.stringify(actual) !== JSON.stringify(expected) && disagreements.length < 5) {
        disagreements.push(`${JSON.stringify(s)}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
      }
    }
    expect(checked).toBe(55_987);
    expect(disagreements).toEqual([]);
  });

  it("the oracle itself reads the spec's lines (so agreeing with it means something)", () => {
    expect(referenceParse('511,dev,"a \\"b\\" \\\\\\"\n"\r\n\n1,""""')).toEqual({
      rows: [
        ["511", "dev", 'a "b" \\"\n'],
        ["1", '"'],
      ],
    });
    expect(referenceParse('1,"x\\\\"')).toEqual({ rows: [["1", "x\\"]] });
    expect(referenceParse('1\n2,"x"y')).toEqual({ kind: "csv-stray-quote", row: 2, column: 2, offset: 7 });
    expect(referenceParse('\n1,"x')).toEqual({
      kind: "csv-unterminated-quote",
      row: 1,
      column: 2,
      offset: 3,
    });
  });
});

describe("parseRows error messages", () => {
  it("name the row, the field and the offset", () => {
    expect(parseRows('1\n2,3,"open')).toEqual(
      left({
        kind: "csv-unterminated-quote",
        row: 2,
        column: 3,
        offset: 6,
        message: "row 2, field 3: quote opened at offset 6 is never closed",
      }),
    );
    expect(parseRows('1,a"')).toEqual(
      left({
        kind: "csv-stray-quote",
        row: 1,
        column: 2,
        offset: 3,
        message:
          "row 1, field 2: unexpected character at offset 3 (quote inside an unquoted field, or text after a closing quote)",
      }),
    );
  });
});

const lenient = new TextDecoder("utf-8", { ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * What the WHATWG decoder (the platform's own, independent of csv.ts) makes of `bytes`: the text,
 * or the byte offset of the first sequence it replaced with U+FFFD (a U+FFFD that was in the input
 * as EF BF BD is text). No exceptions, so the exhaustive loops stay fast.
 */
const whatwgDecode = (bytes: Uint8Array): { readonly text: string } | { readonly offset: number } => {
  const text = lenient.decode(bytes);
  let at = 0;
  for (const ch of text) {
    const replaced =
      ch === "\uFFFD" && !(bytes[at] === 0xef && bytes[at + 1] === 0xbf && bytes[at + 2] === 0xbd);
    if (replaced) return { offset: at };
    at += encoder.encode(ch).length;
  }
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return { text: bom ? text.slice(1) : text };
};

describe("decodePayload agrees with the strict UTF-8 decoder", () => {
  // The edges of every range in Unicode Table 3-7, and values just outside them.
  const edges = [0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbb, 0xbf, 0xc0, 0xef, 0xf4, 0xff];

  const check = (bytes: Uint8Array, disagreements: string[]): void => {
    const result = decodePayload(bytes);
    const oracle = whatwgDecode(bytes);
    const expected =
      "text" in oracle ? right(oracle.text) : left({ kind: "csv-invalid-utf8", offset: oracle.offset });
    const actual = isLeft(result) ? left({ kind: result.left.kind, offset: result.left.offset }) : result;
    if (JSON.stringify(actual) !== JSON.stringify(expected) && disagreements.length < 5) {
      disagreements.push(`[${[...bytes].map((b) => b.toString(16)).join(" ")}]: ${JSON.stringify(actual)}`);
    }
  };

  it("on every input of one and two bytes, and after ASCII", () => {
    const disagreements: string[] = [];
    for (let a = 0; a < 256; a++) {
      check(new Uint8Array([a]), disagreements);
      for (let b = 0; b < 256; b++) check(new Uint8Array([a, b]), disagreements);
      for (const b of edges) check(new Uint8Array([0x31, a, b, 0x32]), disagreements);
    }
    expect(disagreements).toEqual([]);
  });

  it("on every lead byte from 0xC0, then a boundary byte, then continuation or not", () => {
    // Past the second byte only "continuation byte or not" matters.
    const later = [0x41, 0x7f, 0x80, 0xbf, 0xc0];
    const disagreements: string[] = [];
    for (let lead = 0xc0; lead < 256; lead++) {
      for (const b1 of edges) {
        for (const b2 of later) {
          check(new Uint8Array([lead, b1, b2]), disagreements);
          for (const b3 of later) check(new Uint8Array([lead, b1, b2, b3]), disagreements);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("strips exactly one leading BOM, and only a whole one; offsets count the BOM's bytes", () => {
    const bom = [0xef, 0xbb, 0xbf];
    expect(decodePayload(new Uint8Array([...bom, 0x41]))).toEqual(right("A"));
    expect(decodePayload(new Uint8Array([...bom, ...bom]))).toEqual(right("\uFEFF"));
    // U+FFFF (EF BF BF) and U+FEBF (EF BA BF) share bytes with the BOM but are text.
    expect(decodePayload(new Uint8Array([0xef, 0xbf, 0xbf]))).toEqual(right("\uFFFF"));
    expect(decodePayload(new Uint8Array([0xef, 0xbb, 0x80]))).toEqual(right("\uFEC0"));
    expect(decodePayload(new Uint8Array([0xef, 0xba, 0xbf]))).toEqual(right("\uFEBF"));
    expect(decodePayload(new Uint8Array([...bom, 0x31, 0x80]))).toEqual(
      left({ kind: "csv-invalid-utf8", offset: 4, message: "invalid UTF-8 sequence at byte offset 4" }),
    );
    expect(parsePayload(new Uint8Array([...bom, 0x31, 0x2c, 0x22]))).toEqual(
      left(expect.objectContaining({ kind: "csv-unterminated-quote", offset: 2 })),
    );
  });
});
