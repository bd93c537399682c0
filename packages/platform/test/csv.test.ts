/** The platform's downstream CSV writer: `\"` escaping (spec §5), read back by the core's reader. */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { parseRows } from "@c8ylink/core";
import { serializePlatformRow } from "../src/index.js";

describe("serializePlatformRow", () => {
  it("quotes only when needed and escapes quotes with a backslash", () => {
    expect(serializePlatformRow(["511", "dev", 'echo "hi"'])).toBe('511,dev,"echo \\"hi\\""');
    expect(serializePlatformRow(["513", "dev", "a=1\nb=2"])).toBe('513,dev,"a=1\nb=2"');
    expect(serializePlatformRow(["400", "a,b", " lead", "C:\\dir"])).toBe('400,"a,b"," lead",C:\\dir');
    expect(serializePlatformRow([""])).toBe('""');
  });

  test.prop([
    fc.array(fc.string({ unit: fc.constantFrom('"', "\\", ",", "\n", "\r", " ", "x", "é") }), {
      minLength: 1,
      maxLength: 5,
    }),
  ])("parseRows(serializePlatformRow(row)) = [row]", (row) => {
    expect(parseRows(serializePlatformRow(row))).toEqual({ _tag: "Right", right: [row] });
  });
});
