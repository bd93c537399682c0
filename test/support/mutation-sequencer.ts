/**
 * Test-file order for `npm run mutate`: smallest file first. Stryker runs a mutant's covering
 * tests one file after another and stops at the first failure, so a mutant that a short unit
 * test kills should not wait for the engine's lifecycle properties. Vitest's own order is the
 * opposite (longest recorded duration, else largest file, first). File size stands in for
 * cost: it needs no recorded durations and stays true as tests are added.
 */
import { statSync } from "node:fs";
import { BaseSequencer, type TestSpecification } from "vitest/node";

export default class SmallestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const size = new Map(files.map((file) => [file.moduleId, statSync(file.moduleId).size]));
    return [...files].sort(
      (a, b) =>
        (size.get(a.moduleId) ?? 0) - (size.get(b.moduleId) ?? 0) || a.moduleId.localeCompare(b.moduleId),
    );
  }
}
