/**
 * The order `npm test` starts its files in (test/support/slow-first-sequencer.ts): the listed
 * slow files first, in list order, then the rest in vitest's own order; a stale list fails.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { TestSpecification, Vitest } from "vitest/node";
import SlowFirstSequencer, { SLOW_FILES } from "./support/slow-first-sequencer.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** What BaseSequencer reads of a run: no duration cache and no file stats, as on CI. */
const sequencer = (root: string) =>
  new SlowFirstSequencer({
    config: { root },
    cache: { getFileTestResults: () => undefined, getFileStats: () => undefined },
  } as unknown as Vitest);

const spec = (file: string) =>
  ({
    moduleId: join(ROOT, file),
    project: { name: "", config: { sequence: { groupOrder: 0 }, isolate: false } },
  }) as unknown as TestSpecification;

const names = (specs: readonly TestSpecification[]) => specs.map((s) => s.moduleId.slice(ROOT.length));

describe("the slow-first sequencer", () => {
  it("starts the listed files first, in list order, and keeps every file once", async () => {
    const quick = ["packages/core/test/json-digest.test.ts", "test/module-size.test.ts"];
    const listed = [SLOW_FILES[3]!, SLOW_FILES[0]!, SLOW_FILES[1]!];
    const sorted = await sequencer(ROOT).sort(
      [quick[0]!, listed[0]!, quick[1]!, listed[1]!, listed[2]!].map(spec),
    );
    expect(names(sorted)).toEqual([SLOW_FILES[0], SLOW_FILES[1], SLOW_FILES[3], ...quick]);
  });

  it("fails when a listed file does not exist", async () => {
    await expect(sequencer(join(ROOT, "packages")).sort([spec("test/golden.test.ts")])).rejects.toThrow(
      /lists files that do not exist: test\/packaging\.test\.ts/,
    );
  });
});
