/** The rule for tests that need an outside tool: run, or fail on CI, or skip elsewhere. */
import { describe, expect, it } from "vitest";
import { isCI, requirement } from "./support/required-tool.js";

describe("requirement", () => {
  it("runs whenever the tool is there", () => {
    expect(requirement(true, {})).toBe("run");
    expect(requirement(true, { CI: "true" })).toBe("run");
  });

  it("fails on CI when the tool is missing", () => {
    expect(requirement(false, { CI: "true" })).toBe("fail");
    expect(requirement(false, { CI: "1" })).toBe("fail");
  });

  it("skips off CI when the tool is missing", () => {
    expect(requirement(false, {})).toBe("skip");
    expect(requirement(false, { CI: "" })).toBe("skip");
    expect(requirement(false, { CI: "false" })).toBe("skip");
  });

  it("reads CI from the environment", () => {
    expect(isCI({ CI: "true" })).toBe(true);
    expect(isCI({ CI: " FALSE " })).toBe(false);
    expect(isCI({})).toBe(false);
  });
});
