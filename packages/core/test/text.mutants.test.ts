/**
 * The text policy at every boundary it names, against independent oracles: Node's own UTF-8
 * encoder for the byte count (every single UTF-16 code unit, and every kind of pair), and the
 * rule of the policy written out for the refusals. (Written for mutation testing: the codecs'
 * tests reached the text code only through a few examples.)
 */
import { describe, expect, it } from "vitest";
import { invalidTextReason, utf8ByteLength } from "../src/smartrest/text.js";

const unit = (c: number): string => String.fromCharCode(c);
const hex = (c: number): string => c.toString(16).toUpperCase().padStart(4, "0");

/**
 * Failures of a loop over many code units: their number and the first five. (Printing a diff
 * of thousands of entries would take longer than the loop itself.)
 */
class Failures {
  count = 0;
  readonly first: string[] = [];
  add(what: string): void {
    this.count++;
    if (this.first.length < 5) this.first.push(what);
  }
  get summary(): { count: number; first: string[] } {
    return { count: this.count, first: this.first };
  }
}
const none = { count: 0, first: [] };

describe("utf8ByteLength agrees with Node's UTF-8 encoder", () => {
  it("for every single UTF-16 code unit, alone, after other text and before a low surrogate", () => {
    // Mismatches counted and compared once: 131,072 expect calls would take seconds.
    const mismatches = new Failures();
    for (let c = 0; c <= 0xffff; c++) {
      // Also before a low surrogate: only a high surrogate may pair with it (found by
      // mutation testing: a 3-byte character followed by a lone low surrogate was not tried).
      for (const text of [unit(c), `ab${unit(c)}`, `${unit(c)}\udc00`]) {
        if (utf8ByteLength(text) !== Buffer.byteLength(text, "utf8")) mismatches.add(hex(c));
      }
    }
    expect(mismatches.summary).toEqual(none);
  });

  it.each([
    ["a pair at the lowest code points", "\ud800\udc00"],
    ["a pair at the highest code points", "\udbff\udfff"],
    ["a pair followed by ASCII", "\ud83d\ude00x"],
    ["a high surrogate followed by ASCII", "\ud800x"],
    ["a high surrogate followed by a non-surrogate just below the low range", "\ud800\udbff"],
    ["a high surrogate followed by a code unit just above the low range", "\udbff\ue000"],
    ["two high surrogates", "\ud800\ud800"],
    ["a low surrogate before a high one", "\udc00\ud800"],
    ["a high surrogate at the end", "abc\ud800"],
    ["two pairs in a row", "\ud83d\ude00\ud83d\ude01"],
    ["mixed widths", "a\u00e9\u20ac\ud83d\ude00"],
  ])("for %s", (_, text) => {
    expect(utf8ByteLength(text)).toBe(Buffer.byteLength(text, "utf8"));
  });

  it("for the empty string", () => {
    expect(utf8ByteLength("")).toBe(0);
  });
});

describe("invalidTextReason at its boundaries", () => {
  it("refuses exactly the C0 controls other than TAB, LF, CR, and DEL, naming the code and index", () => {
    for (let c = 0; c <= 0x80; c++) {
      const refused = (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f;
      expect(invalidTextReason(`xy${unit(c)}z`)).toBe(
        refused ? `control character U+${hex(c)} at index 2` : undefined,
      );
    }
  });

  it("accepts every non-control BMP code unit that is not a surrogate", () => {
    const refused = new Failures();
    for (let c = 0x80; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      if (invalidTextReason(unit(c)) !== undefined) refused.add(hex(c));
    }
    expect(refused.summary).toEqual(none);
  });

  it("refuses every lone high surrogate, alone, at the end, or before a non-low code unit", () => {
    const wrong = new Failures();
    for (let c = 0xd800; c <= 0xdbff; c++) {
      if (invalidTextReason(unit(c)) !== `lone surrogate U+${hex(c)} at index 0`) wrong.add(hex(c));
      if (invalidTextReason(`ab${unit(c)}`) !== `lone surrogate U+${hex(c)} at index 2`) wrong.add(hex(c));
    }
    expect(wrong.summary).toEqual(none);
    expect(invalidTextReason("\ud800\udbff")).toBe("lone surrogate U+D800 at index 0");
    expect(invalidTextReason("\ud800\ue000")).toBe("lone surrogate U+D800 at index 0");
    expect(invalidTextReason("\ud800a")).toBe("lone surrogate U+D800 at index 0");
  });

  it("refuses every lone low surrogate", () => {
    const wrong = new Failures();
    for (let c = 0xdc00; c <= 0xdfff; c++) {
      if (invalidTextReason(`a${unit(c)}`) !== `lone surrogate U+${hex(c)} at index 1`) wrong.add(hex(c));
    }
    expect(wrong.summary).toEqual(none);
  });

  it("accepts pairs at both ends of both ranges, and goes on checking after a pair", () => {
    for (const high of [0xd800, 0xdbff]) {
      for (const low of [0xdc00, 0xdfff]) {
        expect(invalidTextReason(unit(high) + unit(low))).toBeUndefined();
      }
    }
    // After a pair the low half is skipped (not taken for a lone low surrogate), and what
    // follows is still checked, with its own index.
    expect(invalidTextReason("\ud83d\ude00\u0001")).toBe("control character U+0001 at index 2");
    expect(invalidTextReason("\ud83d\ude00\u007f")).toBe("control character U+007F at index 2");
    expect(invalidTextReason("\ud83d\ude00\udc00")).toBe("lone surrogate U+DC00 at index 2");
  });

  it("reports the first problem, not a later one", () => {
    expect(invalidTextReason("a\u0001\u007f")).toBe("control character U+0001 at index 1");
    expect(invalidTextReason("a\u007f\u0001")).toBe("control character U+007F at index 1");
  });

  it("accepts the empty string", () => {
    expect(invalidTextReason("")).toBeUndefined();
  });
});
