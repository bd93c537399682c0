/**
 * Starts the slowest test files first, from a list checked in here, so that both cores stay
 * busy to the end of `npm test`. Vitest's own order is longest first only from its duration
 * cache (node_modules/.vite, absent on CI, as in a fresh clone) and otherwise largest file
 * first: then the packaging test (over a minute, mostly one `npm` after another) started after
 * two thirds of the run and ended it alone (docs/testing.md, "Fifth pass").
 *
 * The rest keeps vitest's order. A listed file that no longer exists fails the run, so the
 * list cannot rot into a no-op; a listed file outside the run (a filtered run) is simply absent.
 */
import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Longest first, by wall time in a whole run (vitest's JSON reporter, 2026-12-08, load
 * average 12–17): the files that wait on processes, sockets and `npm` belong at the start,
 * where the files that only compute fill the cores around them.
 */
export const SLOW_FILES: readonly string[] = [
  "test/packaging.test.ts",
  "packages/cli/test/process.test.ts",
  "packages/cli/test/operations-process.test.ts",
  "packages/mqtt/test/file-store.crash.test.ts",
  "packages/fake/test/world.properties.2.test.ts",
  "packages/fake/test/world.properties.test.ts",
  "packages/core/test/lifecycle.properties.test.ts",
  "test/docs-examples.test.ts",
  "packages/sim/test/web.test.ts",
  "packages/cli/test/file-transfer-cert.test.ts",
  "packages/cli/test/file-transfer-e2e.test.ts",
  "packages/cli/test/sim-tls.test.ts",
  "packages/fake/test/determinism.properties.test.ts",
  "packages/cli/test/user-mistakes.test.ts",
  "packages/cli/test/profile-idless-process.test.ts",
  "packages/fake/test/cli.test.ts",
  "packages/mqtt/test/resilience.test.ts",
];

export default class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const missing = SLOW_FILES.filter((file) => !existsSync(resolve(root, file)));
    if (missing.length > 0)
      throw new Error(
        `test/support/slow-first-sequencer.ts lists files that do not exist: ${missing.join(", ")}`,
      );
    const rank = (spec: TestSpecification) => {
      const at = SLOW_FILES.indexOf(relative(root, spec.moduleId));
      return at === -1 ? SLOW_FILES.length : at;
    };
    const byVitest = await super.sort(files);
    // Array.prototype.sort is stable: unlisted files keep vitest's order among themselves.
    return byVitest.sort((a, b) => rank(a) - rank(b));
  }
}
