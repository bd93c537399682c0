import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import SlowFirstSequencer from "./test/support/slow-first-sequencer.js";

// Workspace packages resolve to their TypeScript sources through the "source" export condition.
const conditions = ["source", "module", "node", "development|production"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    // Compiles the `c8ylink` command once for the process tests (see the file).
    globalSetup: ["test/support/compiled-cli.ts"],
    // The slowest files first, from a checked-in list: CI has no duration cache (see the file).
    sequence: { sequencer: SlowFirstSequencer },
    // Vitest's default is one worker fewer than the cores: on a 2-core machine one file at a
    // time. Many files here mostly wait (child processes, brokers, sockets, timers), so one
    // worker more than the cores keeps both cores busy (docs/testing.md, "A fast suite").
    maxWorkers: availableParallelism() + 1,
    // A worker runs its test files one after another in one module graph instead of a fresh
    // one per file: importing vitest, io-ts, fp-ts and the sources again for each of the ~120
    // files cost more CPU than the tests of most of them (core + platform, 52 files, measured
    // side by side: 153 s of CPU isolated, 38 s not). Safe here because no test mocks a module,
    // stubs a global or the environment, uses fake timers or changes the working directory
    // (docs/testing.md, "Fourth pass"); every test makes its own servers, stores and worlds.
    isolate: false,
    // Bounds, not durations: with the files running side by side on a loaded machine, tests
    // that start processes took up to 50 s (sim-tls) where 60 s was the bound.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
