/**
 * `encodeUpstreamLine` is the per-row path of every submission: it must be exactly
 * `serializeRow(encodeUpstream(msg))`, refusals included, for valid and invalid messages alike.
 */
import { describe, expect } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import * as E from "fp-ts/lib/Either.js";
import { serializeRow } from "../src/smartrest/csv.js";
import { encodeUpstream, encodeUpstreamLine, type UpstreamMessage } from "../src/smartrest/upstream.js";
import { upstreamMessages } from "./support/upstream-messages.js";

/** Text that often needs quoting or is refused: commas, quotes, edge spaces, controls, backslashes. */
const awkward = fc.string({
  unit: fc.constantFrom(
    "a",
    "7",
    ",",
    '"',
    " ",
    "\t",
    "\n",
    "\\",
    "\u00a0",
    "\u0001",
    "é",
    "\ud83d\ude00",
    "\ud800",
  ),
  maxLength: 6,
});
const value = fc.oneof(
  awkward,
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constantFrom("2026-12-07T10:00:00Z", "2026-02-30T10:00:00Z", "CRITICAL", "MAJOR"),
  fc.constant(undefined),
  fc.constant(null),
  fc.array(fc.oneof(awkward, fc.double()), { maxLength: 3 }),
  fc.array(
    fc.dictionary(
      fc.constantFrom("name", "version", "url", "type", "fragment", "series", "value", "unit", "path"),
      fc.oneof(awkward, fc.double()),
    ),
    { maxLength: 3 },
  ),
);
const message = upstreamMessages(value, ["latitude", "childId"]).map((m) => m as unknown as UpstreamMessage);

describe("encodeUpstreamLine", () => {
  test.prop(
    [
      fc.oneof(
        message,
        fc.anything().map((u) => u as UpstreamMessage),
      ),
    ],
    { numRuns: 3000 },
  )("equals serializeRow(encodeUpstream(msg)), refusals included", (msg) => {
    const row = encodeUpstream(msg);
    const line = encodeUpstreamLine(msg);
    expect(line).toEqual(E.isLeft(row) ? row : E.right(serializeRow(row.right)));
  });
});
