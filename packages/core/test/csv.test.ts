/**
 * SmartREST CSV codec: golden lines from the spec (§4.8, §5 and the thin-edge #1831 capture) and
 * properties (round trip for all strings, totality of the reader and the decoder).
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { isLeft, isRight, left, right } from "fp-ts/lib/Either.js";
import {
  decodePayload,
  needsQuoting,
  parsePayload,
  parseRows,
  serializeField,
  serializeRow,
  serializeRows,
} from "../src/smartrest/csv.js";
import type { Row } from "../src/smartrest/types.js";

const LF = "\n";
const BS = "\\";
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("parseRows: golden lines", () => {
  it('platform `\\"` escapes with raw LF bytes inside the quoted field (IMPL-new, real bytes)', () => {
    const payload = `511,myDeviceSerial,"execute this${LF}and this${LF}and ${BS}"this${BS}""`;
    expect(parseRows(payload)).toEqual(
      right([["511", "myDeviceSerial", `execute this${LF}and this${LF}and "this"`]]),
    );
  });

  it("the doc's literal backslash-n stays two characters (only the LF byte is a line break)", () => {
    const payload = String.raw`511,myDeviceSerial,"execute this\nand this\nand \"this\""`;
    expect(parseRows(payload)).toEqual(
      right([["511", "myDeviceSerial", String.raw`execute this\nand this\nand "this"`]]),
    );
  });

  it("RFC 4180 doubled quotes (IMPL-old, SR1-PROTO)", () => {
    const payload = `511,myDeviceSerial,"execute this${LF}and this${LF}and ""this"""`;
    expect(parseRows(payload)).toEqual(
      right([["511", "myDeviceSerial", `execute this${LF}and this${LF}and "this"`]]),
    );
    expect(parseRows('104,"I have ""quotes""!"')).toEqual(right([["104", 'I have "quotes"!']]));
  });

  it('thin-edge #1831 capture: `\\"` plus a raw LF, no trailing newline', () => {
    const payload = `511,myDevice,"echo ${BS}"hello${BS}"${LF}echo ${BS}"world${BS}""`;
    expect(parseRows(payload)).toEqual(right([["511", "myDevice", `echo "hello"${LF}echo "world"`]]));
  });

  it("keeps empty and trailing empty fields", () => {
    expect(parseRows("100,,")).toEqual(right([["100", "", ""]]));
    expect(parseRows("100,,myType")).toEqual(right([["100", "", "myType"]]));
    expect(parseRows(",")).toEqual(right([["", ""]]));
  });

  it("takes unquoted fields verbatim (no trimming) and backslashes outside quotes literally", () => {
    expect(parseRows(String.raw` 400 , a\"b , C:\dir\ `)).toEqual(
      left(expect.objectContaining({ kind: "csv-stray-quote" })),
    );
    expect(parseRows(String.raw` 400 , C:\dir\ ,\\srv\x`)).toEqual(
      right([[" 400 ", String.raw` C:\dir\ `, String.raw`\\srv\x`]]),
    );
  });

  it("splits several rows; tolerates CRLF; skips blank lines; a trailing LF adds no row", () => {
    const expected = [
      ["110", "", "MQTT test model", "1.2.3"],
      ["117", "10"],
    ];
    expect(parseRows("110,,MQTT test model,1.2.3\n117,10")).toEqual(right(expected));
    expect(parseRows("110,,MQTT test model,1.2.3\r\n117,10\r\n")).toEqual(right(expected));
    expect(parseRows("\n110,,MQTT test model,1.2.3\n\r\n\n117,10\n")).toEqual(right(expected));
    expect(parseRows('113,"a\r\nb"\r\n117,10')).toEqual(
      right([
        ["113", "a\r\nb"],
        ["117", "10"],
      ]),
    );
    // A CR that is not part of a row-separating CRLF is data.
    expect(parseRows("400,a\rb\r")).toEqual(right([["400", "a\rb\r"]]));
  });

  it("an empty payload is zero rows", () => {
    expect(parseRows("")).toEqual(right([]));
    expect(parseRows("\n\r\n")).toEqual(right([]));
  });

  it("527 device profile line", () => {
    const line =
      "527,DeviceSerial,$FW,device_fw,1.0.1,https://cumulocity.com/fw,false,,$SW,curl,2.3.4,http://my.url.com,install,cumulocity_agent,1.2.3,https://cumulocity.com/agent,install,$CONF,http://cumulocity.com/conf,ssh_conf,https://demos.cumulocity.com/inventory/binaries/156719,agent_conf";
    const rows = parseRows(line);
    expect(rows).toEqual(right([line.split(",")]));
    if (isRight(rows)) {
      const row = rows.right[0] ?? [];
      expect(row).toHaveLength(22);
      expect(row[7]).toBe("");
      expect(row.indexOf("$SW")).toBe(8);
      expect(row.indexOf("$CONF")).toBe(17);
    }
  });

  it("116 repeating triples, with an empty version and an omitted trailing url", () => {
    expect(parseRows("116,software1,version1,url1,software2,,url2,software3,version3")).toEqual(
      right([["116", "software1", "version1", "url1", "software2", "", "url2", "software3", "version3"]]),
    );
  });

  it("backslash runs before a quote follow the argv rule; other backslashes are literal", () => {
    expect(parseRows(String.raw`1,"a\b\\c"`)).toEqual(right([["1", String.raw`a\b\\c`]]));
    expect(parseRows(String.raw`1,"a,b\\"`)).toEqual(right([["1", "a,b" + BS]])); // even run: closing quote
    expect(parseRows(String.raw`1,"\\\""`)).toEqual(right([["1", String.raw`\"`]])); // odd run: literal quote
    expect(parseRows(String.raw`1,"\\"""`)).toEqual(right([["1", String.raw`\"`]])); // even run, then ""
  });
});

describe("parseRows: errors", () => {
  it("unterminated quote points at the opening quote", () => {
    expect(parseRows('100,ok\n511,dev,"never closed\n')).toEqual(
      left(expect.objectContaining({ kind: "csv-unterminated-quote", row: 2, column: 3, offset: 15 })),
    );
    // `\"` does not close: the field is still open.
    expect(parseRows(String.raw`1,"a\"`)).toEqual(
      left(expect.objectContaining({ kind: "csv-unterminated-quote", row: 1, column: 2, offset: 2 })),
    );
  });

  it("a quote inside an unquoted field is a stray quote", () => {
    expect(parseRows('104,I have "quotes"')).toEqual(
      left(expect.objectContaining({ kind: "csv-stray-quote", row: 1, column: 2, offset: 11 })),
    );
  });

  it("text after a closing quote is a stray quote", () => {
    expect(parseRows('\n\n100,"a"b,c')).toEqual(
      left(expect.objectContaining({ kind: "csv-stray-quote", row: 1, column: 2, offset: 9 })),
    );
    expect(parseRows('100,"a" ')).toEqual(
      left(expect.objectContaining({ kind: "csv-stray-quote", offset: 7 })),
    );
  });

  it("errors carry a readable message", () => {
    const result = parseRows('1,"x');
    expect(isLeft(result) && result.left.message).toMatch(/never closed/);
  });
});

describe("decodePayload / parsePayload", () => {
  it("decodes UTF-8 and strips one leading BOM", () => {
    expect(decodePayload(utf8("400,c8y_Event,Grüße ✓ 𝄞"))).toEqual(right("400,c8y_Event,Grüße ✓ 𝄞"));
    expect(decodePayload(new Uint8Array([0xef, 0xbb, 0xbf, 0x31]))).toEqual(right("1"));
    expect(decodePayload(new Uint8Array([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]))).toEqual(right("\uFEFF"));
    expect(parsePayload(utf8("\uFEFF100,dev\n117,10"))).toEqual(
      right([
        ["100", "dev"],
        ["117", "10"],
      ]),
    );
  });

  it.each([
    ["lone continuation byte", [0x31, 0x80], 1],
    ["truncated 2-byte sequence", [0x31, 0x32, 0xc3], 2],
    ["truncated 4-byte sequence", [0xf0, 0x9d, 0x84], 0],
    ["overlong 2-byte", [0xc0, 0xaf], 0],
    ["overlong 3-byte", [0xe0, 0x80, 0xaf], 0],
    ["surrogate", [0x41, 0xed, 0xa0, 0x80], 1],
    ["above U+10FFFF", [0xf4, 0x90, 0x80, 0x80], 0],
    ["invalid lead 0xFF", [0xff], 0],
    ["bad continuation", [0xe2, 0x82, 0x41], 0],
  ])("rejects %s with its byte offset", (_name, bytes, offset) => {
    const result = decodePayload(new Uint8Array(bytes));
    expect(result).toEqual(left(expect.objectContaining({ kind: "csv-invalid-utf8", offset })));
    expect(parsePayload(new Uint8Array(bytes))).toEqual(result);
  });

  test.prop([fc.uint8Array({ maxLength: 64 })])(
    "decodePayload never throws and agrees with a fatal TextDecoder",
    (bytes) => {
      const result = decodePayload(bytes);
      let expected: string | undefined;
      try {
        expected = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        expected = undefined;
      }
      if (expected === undefined) expect(isLeft(result)).toBe(true);
      else expect(result).toEqual(right(expected));
    },
  );

  test.prop([fc.string({ unit: "binary" })])(
    "UTF-8 text always decodes to itself (modulo lone surrogates)",
    (s) => {
      const bytes = utf8(s); // TextEncoder maps lone surrogates to U+FFFD
      const result = decodePayload(bytes);
      expect(result).toEqual(right(new TextDecoder().decode(bytes)));
    },
  );
});

describe("writer", () => {
  it("quotes exactly when needed", () => {
    expect(serializeField("plain")).toBe("plain");
    expect(serializeField("")).toBe("");
    expect(serializeField(String.raw`C:\dir\ `)).toBe(String.raw`"C:\dir\ "`);
    expect(serializeField(String.raw`C:\dir\x`)).toBe(String.raw`C:\dir\x`);
    expect(serializeField('I have "quotes"!')).toBe('"I have ""quotes""!"');
    expect(serializeField("a,b")).toBe('"a,b"');
    expect(serializeField("a\tb")).toBe('"a\tb"');
    expect(serializeField("a\rb")).toBe('"a\rb"');
    expect(serializeField("val1=1\nval2=2")).toBe('"val1=1\nval2=2"');
    expect(serializeField(" lead")).toBe('" lead"');
    expect(serializeField("trail\u00a0")).toBe('"trail\u00a0"');
    for (const v of ["", "x", "a b", String.raw`a\b`, "ü"]) expect(needsQuoting(v)).toBe(false);
    for (const v of ['"', ",", "\n", "\r", "\t", " x", "x "]) expect(needsQuoting(v)).toBe(true);
  });

  it("doubles only backslash runs that end right before a quote or the closing quote", () => {
    expect(serializeField("a,b" + BS)).toBe(String.raw`"a,b\\"`);
    expect(serializeField(String.raw`\"`)).toBe(String.raw`"\\"""`);
    expect(serializeField(String.raw`x\\"y\z`)).toBe(String.raw`"x\\\\""y\z"`);
  });

  it('writes rows joined by LF with no trailing newline; a lone empty field is `""`', () => {
    expect(serializeRow(["503", "c8y_Command", 'A value"with" quotes'])).toBe(
      '503,c8y_Command,"A value""with"" quotes"',
    );
    expect(serializeRow(["100", "", ""])).toBe("100,,");
    expect(serializeRow([""])).toBe('""');
    expect(
      serializeRows([
        ["110", "", "MQTT test model", "1.2.3"],
        ["117", "10"],
      ]),
    ).toBe("110,,MQTT test model,1.2.3\n117,10");
    expect(serializeRows([])).toBe("");
  });
});

/** Strings biased towards everything the codec treats specially. */
const tricky = fc.oneof(
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.string({
    unit: fc.constantFrom(
      '"',
      "\\",
      ",",
      "\n",
      "\r",
      "\t",
      " ",
      "a",
      "\u00a0",
      "é",
      "😀",
      "\r\n",
      '\\"',
      '""',
    ),
    maxLength: 12,
  }),
);
/** A row has at least one field (the template id). */
const row: fc.Arbitrary<Row> = fc.array(tricky, { minLength: 1, maxLength: 6 });

describe("properties", () => {
  test.prop([fc.array(row, { maxLength: 6 })])("parseRows(serializeRows(rows)) = rows", (rows) => {
    expect(parseRows(serializeRows(rows))).toEqual(right(rows));
  });

  test.prop([fc.array(row, { maxLength: 6 })])("round trip through bytes", (rows) => {
    const text = serializeRows(rows);
    // Byte round trip is exact only for well-formed text; lone surrogates become U+FFFD.
    fc.pre(new TextDecoder().decode(utf8(text)) === text);
    expect(parsePayload(utf8(text))).toEqual(right(rows));
  });

  test.prop([fc.string({ unit: fc.constantFrom('"', "\\", ",", "\n", "\r", "x"), maxLength: 40 })])(
    "whatever parses re-serializes to a payload that parses the same (canonical form)",
    (payload) => {
      const parsed = parseRows(payload);
      if (isRight(parsed)) expect(parseRows(serializeRows(parsed.right))).toEqual(parsed);
    },
  );

  test.prop([tricky])("serializeField is RFC 4180 when no backslash touches a quote or the end", (value) => {
    fc.pre(!/\\("|$)/.test(value));
    const rfc = needsQuoting(value) ? `"${value.replace(/"/g, '""')}"` : value;
    expect(serializeField(value)).toBe(rfc);
  });

  test.prop([tricky])("the platform's `\\\"` style is read back for values without backslashes", (value) => {
    fc.pre(!value.includes("\\"));
    expect(parseRows(`511,dev,"${value.replace(/"/g, '\\"')}"`)).toEqual(right([["511", "dev", value]]));
  });

  test.prop([
    fc.oneof(tricky, fc.string({ unit: fc.constantFrom('"', "\\", ",", "\n", "\r", "x"), maxLength: 30 })),
  ])("parseRows is total: Left or Right, never throws, errors point inside the payload", (payload) => {
    const result = parseRows(payload);
    expect(isLeft(result) || isRight(result)).toBe(true);
    if (isLeft(result)) {
      expect(result.left.offset).toBeGreaterThanOrEqual(0);
      expect(result.left.offset).toBeLessThan(payload.length);
    } else {
      for (const r of result.right) expect(r.length).toBeGreaterThanOrEqual(1);
    }
  });
});
