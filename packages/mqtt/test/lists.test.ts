/** The interpreter's shared empty list (lists.ts): never filled, a push into it throws. */
import { describe, expect, it } from "vitest";
import { fc, test } from "../../../test/support/property.js";
import { NONE, appended, none } from "../src/lists.js";

describe("shared empty lists", () => {
  test.prop([fc.array(fc.integer(), { maxLength: 20 })])(
    "appending to an empty list builds a list of its own, in order",
    (items) => {
      let list = none<number>();
      for (const item of items) list = appended(list, item);
      expect(list).toEqual(items);
      expect(NONE).toHaveLength(0);
      if (items.length > 0) expect(list).not.toBe(NONE);
    },
  );

  it("a push that bypasses appended throws instead of filling every engine's list", () => {
    expect(() => none<number>().push(1)).toThrow(TypeError);
    expect(NONE).toHaveLength(0);
  });
});
