/**
 * The engine's fast path for submitted rows (scalar-rows.ts) must agree with the codec it
 * skips: for every static template whose fields are all scalars, a message the fast path
 * copies decodes to an equal object, and a message it leaves to the codec is one with a
 * property the codec does not know or one the codec's type test refuses. Failures print the seed.
 */
import { UPSTREAM_CODECS } from "@c8ylink/core";
import { fc, test } from "../../../test/support/property.js";
import { describe, expect, it } from "vitest";
import type * as t from "io-ts";
import { copyIfScalarMessage, scalarCodecOf } from "../src/scalar-rows.js";

const codecs = Object.entries(UPSTREAM_CODECS as unknown as Record<string, t.Mixed>);
const scalar = codecs.flatMap(([id, codec]) => {
  const scalar = scalarCodecOf(codec);
  return scalar === null ? [] : [{ id, codec, scalar, props: [...scalar.names] }];
});

const valueArb = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom("", "C", "2026-01-01T00:00:00Z", "CRITICAL", "MAJOR", "true"),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.array(fc.integer(), { maxLength: 2 }),
);

describe("the scalar-row fast path of the engine's row check", () => {
  it("covers the plain templates and leaves those with groups to the codec", () => {
    expect(scalar.map((s) => s.id)).toContain("200");
    expect(scalarCodecOf(UPSTREAM_CODECS["201" as keyof typeof UPSTREAM_CODECS] as t.Mixed)).toBeNull();
  });

  test.prop(
    [
      fc.constantFrom(...scalar),
      fc.dictionary(
        fc.constantFrom("fragment", "series", "value", "unit", "time", "type", "text", "extra"),
        valueArb,
      ),
      fc.boolean(),
    ],
    { numRuns: 2000 },
  )(
    "copies exactly what decode returns, and nothing decode would change",
    ({ id, codec, scalar: fast, props }, fields, known) => {
      // Half of the runs keep only known properties, so that many messages pass the type test.
      const message: Record<string, unknown> = { template: id };
      for (const [k, v] of Object.entries(fields)) if (!known || props.includes(k)) message[k] = v;
      const copy = copyIfScalarMessage(fast, message);
      const decoded = codec.decode(message);
      if (copy !== undefined) {
        expect(decoded._tag).toBe("Right");
        if (decoded._tag === "Right") expect(copy).toEqual(decoded.right);
        expect(copy).not.toBe(message);
      } else {
        const unknownKey = Object.keys(message).some((k) => !props.includes(k));
        expect(unknownKey || !codec.is(message)).toBe(true);
      }
    },
  );
});
