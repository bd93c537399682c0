/**
 * One concern per file (issue 14): no source file of the engine or the simulated world grows
 * past 400 lines; split it by concern instead (docs/architecture.md has the module map).
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const sources = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );

describe("module size", () => {
  const files = [...sources("packages/core/src"), ...sources("packages/fake/src")];
  it("finds the sources", () => expect(files.length).toBeGreaterThan(30));
  it.each(files)("%s has at most 400 lines", (file) => {
    const lines = readFileSync(join(root, file), "utf8").split("\n").length - 1;
    expect(lines).toBeLessThanOrEqual(400);
  });
});
