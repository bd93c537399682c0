import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// Workspace packages resolve to their TypeScript sources through the "source" export condition.
const conditions = ["source", "module", "node", "development|production"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ["source"] } },
  test: {
    include: ["packages/*/test/**/*.test.ts", "test/**/*.test.ts"],
    // Compiles the `c8ylink` command once for the process tests (see the file).
    globalSetup: ["test/support/compiled-cli.ts"],
    // Vitest's default is one worker fewer than the cores: on a 2-core machine one file at a
    // time. Many files here mostly wait (child processes, brokers, sockets, timers), so one
    // worker more than the cores keeps both cores busy (docs/testing.md, "A fast suite").
    maxWorkers: availableParallelism() + 1,
    // Bounds, not durations: with the files running side by side on a loaded machine, tests
    // that start processes took up to 50 s (sim-tls) where 60 s was the bound.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
