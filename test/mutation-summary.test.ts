import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain JavaScript script without types (run by `npm run mutate`).
import * as summary from "./support/mutation-summary.js";

interface Mutant {
  status: string;
  mutatorName: string;
  replacement: string;
  location: { start: { line: number; column: number } };
}
const mutant = (status: string, line = 1): Mutant => ({
  status,
  mutatorName: "EqualityOperator",
  replacement: "a <= b",
  location: { start: { line, column: 3 } },
});
const report = (files: Record<string, Mutant[]>) => ({
  files: Object.fromEntries(Object.entries(files).map(([path, mutants]) => [path, { mutants }])),
});

describe("mutation summary (npm run mutate)", () => {
  it("scores detected over detected, survived and uncovered; errors count on neither side", () => {
    const counts = summary.countMutants([
      mutant("Killed"),
      mutant("Timeout"),
      mutant("Survived"),
      mutant("NoCoverage"),
      mutant("CompileError"),
      mutant("RuntimeError"),
      mutant("Ignored"),
    ]);
    expect(counts).toEqual({ detected: 2, survived: 1, noCoverage: 1, other: 3 });
    expect(summary.score(counts)).toBe(50);
    expect(summary.score(summary.countMutants([mutant("CompileError")]))).toBeUndefined();
  });

  it("groups the engine and the codecs, sums each, and says ok or short against its target", () => {
    const { groups, ungrouped } = summary.summarize(
      report({
        "packages/core/src/engine/a.ts": [
          mutant("Killed"),
          mutant("Killed"),
          mutant("Killed"),
          mutant("Survived"),
        ],
        "packages/core/src/engine/lifecycle/b.ts": [mutant("Killed")],
        "packages/core/src/smartrest/csv.ts": [mutant("Killed"), mutant("NoCoverage")],
        "packages/core/src/json/operation.ts": [mutant("Killed"), mutant("Timeout")],
        "packages/core/src/other.ts": [mutant("Survived")],
      }),
    );
    const [engine, codecs] = groups;
    expect(engine.files.map((file: { path: string }) => file.path)).toEqual([
      "packages/core/src/engine/a.ts",
      "packages/core/src/engine/lifecycle/b.ts",
    ]);
    expect(summary.score(engine.total)).toBe(80);
    expect(summary.goalLine(engine)).toBe("goal engine mutation score: 80.00% (target >= 80%) ok");
    expect(summary.score(codecs.total)).toBe(75);
    expect(summary.goalLine(codecs)).toBe("goal codecs mutation score: 75.00% (target >= 90%) short");
    expect(ungrouped.map((file: { path: string }) => file.path)).toEqual(["packages/core/src/other.ts"]);
  });

  it("lists every surviving and uncovered mutant by file and line, and no detected one", () => {
    const text: string = summary.survivorsMarkdown(
      report({
        "packages/core/src/smartrest/b.ts": [
          mutant("Survived", 9),
          mutant("NoCoverage", 2),
          mutant("Killed", 5),
        ],
        "packages/core/src/smartrest/a.ts": [mutant("Timeout", 1)],
      }),
    );
    expect(text).not.toContain("a.ts");
    expect(text).toContain("## packages/core/src/smartrest/b.ts (2)");
    expect(text.indexOf("- 2:3 NoCoverage")).toBeGreaterThan(-1);
    expect(text.indexOf("- 2:3 NoCoverage")).toBeLessThan(text.indexOf("- 9:3 Survived"));
    expect(text).not.toContain("- 5:3");
  });
});
