/**
 * `jsonDigest` must give exactly `commandsDigest(JSON.stringify(v))` and its length: recorded
 * digest steps (schema 3) were written from the JSON text, and old logs must keep replaying.
 */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { commandsDigest } from "../src/engine/log.js";
import { jsonDigest } from "../src/engine/json-digest.js";

const viaText = (value: unknown) => {
  const json = JSON.stringify(value);
  return { digest: commandsDigest(json), length: json.length };
};

/** Strings full of what JSON escapes: quotes, backslashes, controls, paired and lone surrogates. */
const nasty = fc.string({
  unit: fc.constantFrom(
    "a",
    '"',
    "\\",
    "\n",
    "\b",
    "\f",
    "\r",
    "\t",
    "\u0000",
    "\u001f",
    "\u007f",
    "é",
    "\u2028",
    "\ud83d",
    "\ude00",
    "\ud83d\ude00",
  ),
  maxLength: 8,
});

describe("jsonDigest", () => {
  test.prop([fc.jsonValue()], { numRuns: 2000 })("equals the digest and length of the JSON text", (v) => {
    expect(jsonDigest(v)).toEqual(viaText(v));
  });

  test.prop(
    [
      fc.anything({
        key: nasty,
        values: [nasty, fc.double(), fc.constant(undefined)],
        withNullPrototype: true,
      }),
    ],
    {
      numRuns: 2000,
    },
  )("also for escapes, lone surrogates, undefined, -0, NaN and null-prototype objects", (v) => {
    // Inside an array, as commands are (a bare `undefined` has no JSON text at all).
    expect(jsonDigest([v])).toEqual(viaText([v]));
  });

  test.prop(
    [
      fc.array(
        fc.record(
          {
            type: nasty,
            skipped: fc.constant(undefined),
            changes: fc.array(
              fc.anything({ key: nasty, values: [nasty, fc.double(), fc.constant(undefined)] }),
              {
                minLength: 30,
                maxLength: 70,
              },
            ),
            after: fc.jsonValue(),
          },
          { requiredKeys: ["changes"] },
        ),
        { maxLength: 3 },
      ),
    ],
    { numRuns: 300 },
  )("also for commands holding long arrays (walked, not written whole)", (commands) => {
    expect(jsonDigest(commands)).toEqual(viaText(commands));
  });

  it("feeds what toJSON returns, and a class instance as JSON writes it", () => {
    class Point {
      constructor(
        readonly x: number,
        readonly y: number,
      ) {}
    }
    const value = [
      { at: { toJSON: () => "later" } },
      new Point(1, 2),
      [undefined, () => 1],
      { f: () => 1, s: Symbol("x") },
    ];
    expect(jsonDigest(value)).toEqual(viaText(value));
  });

  it("tells different values apart", () => {
    expect(jsonDigest([{ a: 1 }]).digest).not.toBe(jsonDigest([{ a: 2 }]).digest);
  });
});
