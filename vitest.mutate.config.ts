import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import SmallestFirst from "./test/support/mutation-sequencer.js";

// The core's own tests, for StrykerJS (`npm run mutate`). Stryker runs them in a sandbox copy
// of the repository whose node_modules is a link to the real one, so the workspace link
// `@c8ylink/core` would lead back to the unmutated sources: the alias points it at the
// sandbox's own copy instead.
const coreEntry = fileURLToPath(new URL("./packages/core/src/index.ts", import.meta.url));
const setup = fileURLToPath(new URL("./test/support/mutation-setup.ts", import.meta.url));

// The codecs' own tests (`npm run mutate:codecs`): a codec mutant must be killed by a test of
// the codecs, not by an engine test that happens to run through it — a stricter score, and a
// run of minutes instead of hours (the engine's tests cover every codec line).
const CODEC_TESTS = [
  "catalogue",
  "control*",
  "csv*",
  "downstream*",
  "json-operation*",
  "size",
  "size.boundaries",
  "text*",
  "topics*",
  "upstream*",
  // isExactUpstreamMessage (smartrest/upstream.ts) against the io-ts decode it stands in for.
  "batch-row-fast",
];

// MUTATE_TESTS="csv,control" limits the run to those core test files (names or globs; a
// quicker, smaller score for one module), MUTATE_TESTS=codecs to the codecs' tests; unset,
// every core test file takes part.
const only = process.env.MUTATE_TESTS?.split(",")
  .flatMap((name) => (name === "codecs" ? CODEC_TESTS : [name]))
  .filter((name) => name !== "");

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
    // One module graph for every mutant run of a worker: the mutants are switched at run time
    // (a global read by the instrumented code), so nothing needs importing again, and a fresh
    // graph per run was most of the cost of an engine mutant (docs/testing.md, "Mutation speed").
    isolate: false,
  },
});
