/** The exhaustive-switch guard, if a value the types rule out ever reaches it at run time. */
import { expect, it } from "vitest";
import { assertNever } from "../src/engine/assert-never.js";

it("throws, naming the unhandled value", () => {
  expect(() => assertNever({ type: "bogus" } as never)).toThrow('unhandled case: {"type":"bogus"}');
});
