import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import SmallestFirst from "./test/support/mutation-sequencer.js";

// The core's own tests, for StrykerJS (`npm run mutate`). Stryker runs them in a sandbox copy
// of the repository whose node_modules is a link to the real one, so the workspace link
// `@c8ylink/core` would lead back to the unmutated sources: the alias points it at the
// sandbox's own copy instead.
const coreEntry = fileURLToPath(new URL("./packages/core/src/index.ts", import.meta.url));
const setup = fileURLToPath(new URL("./test/support/mutation-setup.ts", import.meta.url));

// MUTATE_TESTS="csv,control" limits the run to those core test files (a quicker, smaller
// score for one module); unset, every core test file takes part.
const only = process.env.MUTATE_TESTS?.split(",").filter((name) => name !== "");

export default defineConfig({
  resolve: { alias: { "@c8ylink/core": coreEntry } },
  test: {
    include:
      only === undefined || only.length === 0
        ? ["packages/core/test/**/*.test.ts"]
        : only.map((name) => `packages/core/test/${name}.test.ts`),
    setupFiles: [setup],
    sequence: { sequencer: SmallestFirst },
    testTimeout: 60_000,
  },
});
