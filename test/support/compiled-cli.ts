/**
 * Vitest global setup: the `c8ylink` command compiled once per test run into one JavaScript
 * file, for the process tests that start it many times (packages/cli/test/process-support.ts).
 *
 * bin/c8ylink.js runs the TypeScript sources through a resolve hook and tsx; each start pays
 * for both in CPU (about 1.3 s more than plain JavaScript, measured on this machine; more
 * under load). The compiled file is the same sources (workspace packages through their
 * "source" condition, as the bin resolves them) bundled by esbuild, the compiler tsx itself
 * uses, and started like the bin: `runAsProcess()` of packages/cli/src/main.ts. Dependencies
 * from node_modules stay imports. `import.meta.url` keeps the value of the source file each
 * module came from, so files found next to a source (the simulated tenant's web page, native
 * modules) are found as they are from src/.
 *
 * The bin itself is still started by the tests about what it does (one process, signals to
 * the pid a supervisor knows, usage errors: `startAgent(..., { bin: "real" })`, user-mistakes,
 * sim-process, sim-tls) and by the packaging test from an installed tarball.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** Path of the compiled `c8ylink` (one .mjs file), see test/support/compiled-cli.ts. */
    compiledCli: string;
  }
}

interface EsbuildPlugin {
  name: string;
  setup(build: {
    onResolve(
      options: { filter: RegExp },
      callback: (args: { path: string }) => { path: string; external: boolean } | undefined,
    ): void;
    onLoad(
      options: { filter: RegExp },
      callback: (args: { path: string }) => { contents: string; loader: "ts" | "js" },
    ): void;
  }): void;
}
interface Esbuild {
  build(options: Record<string, unknown> & { plugins: EsbuildPlugin[] }): Promise<unknown>;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const MAIN = join(ROOT, "packages/cli/src/main.ts");

/** esbuild as tsx resolves it (tsx is a dependency of the CLI; esbuild is tsx's compiler). */
const loadEsbuild = (): Esbuild => {
  const fromRoot = createRequire(join(ROOT, "package.json"));
  return createRequire(fromRoot.resolve("tsx"))("esbuild") as Esbuild;
};

/** Keeps bare imports of node_modules packages as imports; bundles the workspace's own. */
const workspaceOnly: EsbuildPlugin = {
  name: "workspace-only",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("@c8ylink/") ? undefined : { path: args.path, external: true },
    );
    build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => ({
      contents: readFileSync(args.path, "utf8").replaceAll(
        "import.meta.url",
        JSON.stringify(pathToFileURL(args.path).href),
      ),
      loader: /\.[cm]?ts$/.test(args.path) ? "ts" : "js",
    }));
  },
};

export const compileCli = async (outDir: string): Promise<string> => {
  const outfile = join(outDir, "c8ylink.mjs");
  await loadEsbuild().build({
    stdin: {
      contents: `import { runAsProcess } from ${JSON.stringify(MAIN)};\nawait runAsProcess();\n`,
      resolveDir: ROOT,
      loader: "js",
    },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    plugins: [workspaceOnly],
    outfile,
    logLevel: "warning",
  });
  return outfile;
};

export default async function setup(project: TestProject): Promise<() => void> {
  // Inside the workspace (its git-ignored tmp/), so that the bundle's imports of node_modules
  // packages resolve from the root as the sources' do.
  mkdirSync(join(ROOT, "tmp"), { recursive: true });
  const outDir = mkdtempSync(join(ROOT, "tmp", "compiled-cli-"));
  project.provide("compiledCli", await compileCli(outDir));
  return () => rmSync(outDir, { recursive: true, force: true });
}
