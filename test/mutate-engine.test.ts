import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain JavaScript script without types (run by `npm run mutate:engine`).
import * as engineRun from "./support/mutate-engine.js";

const ENGINE = "packages/core/src/engine";

const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith(".ts")
        ? [join(dir, entry.name)]
        : [],
  );

interface Chunk {
  name: string;
  files: string[];
}

describe("the engine's mutation run in chunks (npm run mutate:engine)", () => {
  it("puts every engine source file but the index files in exactly one chunk", () => {
    const chunks = engineRun.CHUNKS as Chunk[];
    const listed = chunks.flatMap((chunk) => engineRun.chunkPaths(chunk) as string[]);
    const expected = sources(ENGINE)
      .filter((path) => !path.endsWith("/index.ts"))
      .map((path) => relative(".", path));
    expect([...listed].sort()).toEqual([...expected].sort());
    expect(new Set(listed).size).toBe(listed.length);
    expect(new Set(chunks.map((chunk) => chunk.name)).size).toBe(chunks.length);
  });

  it("narrows the project's configuration to a chunk, with its own incremental file and reports", () => {
    const base = { testRunner: "vitest", mutate: ["packages/core/src/**/*.ts"], concurrency: 2 };
    const config = engineRun.chunkConfig(base, { name: "x", files: ["a", "lifecycle/b"] });
    expect(config).toEqual({
      testRunner: "vitest",
      concurrency: 2,
      mutate: [`${ENGINE}/a.ts`, `${ENGINE}/lifecycle/b.ts`],
      incrementalFile: "reports/engine/x/incremental.json",
      htmlReporter: { fileName: "reports/engine/x/index.html" },
      jsonReporter: { fileName: "reports/engine/x/mutation.json" },
    });
  });

  it("merges chunk reports file by file", () => {
    const a = { files: { "x.ts": { mutants: [{ status: "Killed" }] } } };
    const b = { files: { "y.ts": { mutants: [{ status: "Survived" }] } } };
    expect(engineRun.mergeReports([a, b])).toEqual({ files: { ...a.files, ...b.files } });
  });
});
