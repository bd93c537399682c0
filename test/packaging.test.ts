/**
 * SLOW (about a minute; bounded by the timeouts below). Issue 9, "Ready to be used by
 * another team": the packages as another team gets them. `npm pack` runs every package's
 * prepack build (the mqtt package's dist is removed beforehand) and ships dist, LICENSE and
 * README; inter-package dependencies are real ranges; the tarballs install into a project
 * outside the workspace; there, the CLI runs, `@c8ylink/cli` imports, the published types
 * reject a misspelt option, the SQLite store opens, and the example of docs/embedding.md runs
 * against the simulated tenant of the installed `@c8ylink/sim`.
 *
 * Two shortcuts keep it to about a minute, neither changing what is packed or installed
 * (docs/testing.md, "Fourth pass"):
 * - one `npm run build` (one `tsc -b` over the project graph) before `npm pack`, so that the
 *   six prepack builds (six tsc processes, each re-reading the packages it references) find
 *   dist up to date, except mqtt's, removed after that build so that its prepack must build it.
 *   In `npm test` that build has already been done by the typecheck (`npm run typecheck` is
 *   `tsc -b tsconfig.test.json`, which builds the six packages before checking the tests; it
 *   runs beside the tests and this file waits for it), so here it only finds everything up to
 *   date; run alone, this file builds what is missing;
 * - `npm install --ignore-scripts`: dependencies' install scripts do not run in the consumer.
 *   better-sqlite3's would compile SQLite from source (node-gyp; 80 s of CPU on this
 *   machine, where no prebuilt binary is reachable); the consumer gets instead the addon
 *   that the workspace's own `npm ci` built, for the same better-sqlite3 version and the same
 *   Node, and a test checks that the installed store loads that file. The other scripts run
 *   (`npm rebuild`), and none of the c8ylink packages may have one.
 */
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codeBlocks } from "./support/code-blocks.js";
import { scriptEnded, WAIT_FOR_SCRIPT_MS } from "./support/script-ended.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PACKAGES = ["core", "platform", "fake", "mqtt", "sim", "cli"] as const;
const INSTALLED = ["core", "platform", "mqtt", "sim", "cli"] as const;

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

// npm passes its settings to scripts as npm_* variables; a nested npm must not inherit the
// workspace's (e.g. its prefix or workspace selection).
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_")),
);

const exec = (file: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Result> =>
  new Promise((resolve) => {
    execFile(
      file,
      [...args],
      { cwd, timeout: timeoutMs, env: cleanEnv, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });

interface PackedFile {
  readonly path: string;
}
interface Packed {
  readonly name: string;
  readonly version: string;
  readonly filename: string;
  readonly files: readonly PackedFile[];
}

const work = mkdtempSync(join(tmpdir(), "c8ylink-pack-"));
const packs = join(work, "packs");
const project = join(work, "consumer");
let packed: Packed[] = [];

// In `npm test` the typecheck runs beside the tests and builds the six packages' dist (see
// above): wait for it, so that its build and this file's (and the removal of mqtt's dist) do not
// write the same files at once. Its outcome does not matter here: a failed typecheck fails
// `npm test` by itself, and the build below builds whatever is missing. The runner waits for the
// typecheck in any case, so the bound (support/script-ended.ts) is only a last resort.
beforeAll(() => scriptEnded("typecheck", WAIT_FOR_SCRIPT_MS), WAIT_FOR_SCRIPT_MS);

beforeAll(async () => {
  mkdirSync(packs);
  mkdirSync(project);
  const build = await exec("npm", ["run", "build"], ROOT, 240_000);
  if (build.code !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  // Without dist, only the prepack build can put it into the tarball.
  rmSync(join(ROOT, "packages/mqtt/dist"), { recursive: true, force: true });
  const workspaces = PACKAGES.flatMap((p) => ["-w", `@c8ylink/${p}`]);
  const pack = await exec(
    "npm",
    ["pack", ...workspaces, "--pack-destination", packs, "--json"],
    ROOT,
    240_000,
  );
  if (pack.code !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`);
  packed = JSON.parse(pack.stdout) as Packed[];
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Packages under `modules` (nested node_modules included) whose manifest has an install-time script. */
const installScripts = (modules: string): string[] => {
  if (!existsSync(modules)) return [];
  const dirs = readdirSync(modules).flatMap((entry) =>
    entry.startsWith("@") ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`) : [entry],
  );
  return dirs.flatMap((name) => {
    const file = join(modules, name, "package.json");
    if (!existsSync(file)) return [];
    const { scripts = {} } = JSON.parse(readFileSync(file, "utf8")) as {
      scripts?: Record<string, string>;
    };
    const own = ["preinstall", "install", "postinstall"].some((s) => s in scripts) ? [name] : [];
    return [...own, ...installScripts(join(modules, name, "node_modules"))];
  });
};

const SQLITE_ADDON = "node_modules/better-sqlite3/build/Release/better_sqlite3.node";
const sqliteVersion = (root: string) =>
  (
    JSON.parse(readFileSync(join(root, "node_modules/better-sqlite3/package.json"), "utf8")) as {
      version: string;
    }
  ).version;

/**
 * The addon the workspace's `npm ci` built for this Node (its own tests load it), copied to
 * where better-sqlite3 looks first; only for the very same better-sqlite3 version.
 */
const provideSqliteAddon = () => {
  const [ours, theirs] = [sqliteVersion(ROOT), sqliteVersion(project)];
  if (ours !== theirs)
    throw new Error(`better-sqlite3 ${theirs} installed, the workspace's addon is for ${ours}`);
  mkdirSync(join(project, SQLITE_ADDON, ".."), { recursive: true });
  copyFileSync(join(ROOT, SQLITE_ADDON), join(project, SQLITE_ADDON));
};

const manifest = (p: string) =>
  JSON.parse(readFileSync(join(ROOT, "packages", p, "package.json"), "utf8")) as {
    name: string;
    version: string;
    license: string;
    engines?: { node?: string };
    exports: Record<string, { default: string; types: string }>;
    scripts?: Record<string, string>;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };

describe("npm pack", () => {
  it.each(PACKAGES)("@c8ylink/%s builds first and ships dist, LICENSE and README", (p) => {
    const entry = packed.find((x) => x.name === `@c8ylink/${p}`);
    expect(entry).toBeDefined();
    const files = entry!.files.map((f) => f.path);
    const { exports } = manifest(p);
    for (const target of [exports["."]!.default, exports["."]!.types])
      expect(files).toContain(target.replace(/^\.\//, ""));
    expect(files).toContain("LICENSE");
    expect(files).toContain("README.md");
    expect(files.filter((f) => f.endsWith(".tsbuildinfo"))).toEqual([]);
    expect(manifest(p).scripts?.prepack).toBeDefined();
  });

  it("rebuilt the dist it had no copy of (mqtt's prepack)", () => {
    expect(existsSync(join(ROOT, "packages/mqtt/dist/index.js"))).toBe(true);
  });

  it.each(PACKAGES)("@c8ylink/%s depends on the other packages by real version ranges", (p) => {
    const own = manifest(p);
    for (const deps of [own.dependencies ?? {}, own.devDependencies ?? {}]) {
      for (const [name, range] of Object.entries(deps)) {
        if (!name.startsWith("@c8ylink/")) continue;
        const version = manifest(name.slice("@c8ylink/".length)).version;
        expect(range, `${own.name} → ${name}`).toBe(`^${version}`);
      }
    }
  });

  it.each(PACKAGES)(
    "@c8ylink/%s carries the licence its manifest names and allows current Node LTS lines",
    (p) => {
      expect(manifest(p).license).toBe("Apache-2.0");
      expect(readFileSync(join(ROOT, "packages", p, "LICENSE"), "utf8")).toBe(
        readFileSync(join(ROOT, "LICENSE"), "utf8"),
      );
      expect(manifest(p).engines?.node).toBe(">=20.19");
    },
  );

  it("the root carries the same licence and engines", () => {
    const root = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      license: string;
      engines: { node: string };
    };
    expect(root.license).toBe("Apache-2.0");
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(
      /Apache License\s+Version 2\.0, January 2004/,
    );
    expect(root.engines.node).toBe(">=20.19");
    expect(existsSync(join(ROOT, "packages/core/README.md"))).toBe(true);
  });
});

describe("installed from the tarballs, outside the workspace", () => {
  beforeAll(async () => {
    writeFileSync(
      join(project, "package.json"),
      JSON.stringify({ name: "consumer", private: true, type: "module" }),
    );
    const tarballs = INSTALLED.map((p) =>
      join(packs, packed.find((x) => x.name === `@c8ylink/${p}`)!.filename),
    );
    const install = await exec(
      "npm",
      ["install", ...tarballs, "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts"],
      project,
      240_000,
    );
    if (install.code !== 0) throw new Error(`npm install failed:\n${install.stderr}`);
    const scripted = installScripts(join(project, "node_modules"));
    const ours = scripted.filter((name) => name.startsWith("@c8ylink/"));
    if (ours.length > 0) throw new Error(`install scripts skipped by --ignore-scripts: ${ours.join(", ")}`);
    provideSqliteAddon();
    const others = scripted.filter((name) => name !== "better-sqlite3");
    if (others.length > 0) {
      const rebuild = await exec("npm", ["rebuild", ...others, "--no-audit", "--no-fund"], project, 120_000);
      if (rebuild.code !== 0) throw new Error(`npm rebuild ${others.join(" ")} failed:\n${rebuild.stderr}`);
    }
  }, 360_000);

  it("opens the SQLite store with the native addon placed in the consumer", async () => {
    writeFileSync(
      join(project, "sqlite-probe.js"),
      `import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "@c8ylink/mqtt";
const dir = mkdtempSync(join(tmpdir(), "c8ylink-sqlite-probe-"));
const first = new SqliteStore(dir);
await first.load();
await first.apply([{ key: "probe", value: { n: 42 } }]);
await first.close();
const second = new SqliteStore(dir);
const records = await second.load();
await second.close();
rmSync(dir, { recursive: true, force: true });
const addons = process.report.getReport().sharedObjects.filter((f) => f.endsWith("better_sqlite3.node"));
console.log(JSON.stringify({ probe: records.probe, addons }));
`,
    );
    const run = await exec(process.execPath, ["sqlite-probe.js"], project, 60_000);
    expect(run.stderr).toBe("");
    const probe = JSON.parse(run.stdout.trim()) as { probe: unknown; addons: string[] };
    expect(probe.probe).toEqual({ n: 42 });
    expect(probe.addons).toEqual([realpathSync(join(project, SQLITE_ADDON))]);
  });

  it("runs the c8ylink command and imports @c8ylink/cli", async () => {
    const help = await exec(join(project, "node_modules/.bin/c8ylink"), ["run", "--help"], project, 60_000);
    expect(help.stderr).toBe("");
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("docs/configuration.md");
    const imported = await exec(
      process.execPath,
      ["--input-type=module", "-e", 'const m = await import("@c8ylink/cli"); console.log(typeof m.main)'],
      project,
      60_000,
    );
    expect(imported.stderr).toBe("");
    expect(imported.stdout.trim()).toBe("function");
  });

  it("the published types reject a misspelt option", async () => {
    writeFileSync(
      join(project, "typo.ts"),
      `import { createEngine } from "@c8ylink/mqtt";
export const make = () =>
  createEngine({
    config: {
      deviceId: "d1",
      auth: { mode: "bootstrap", bootstrapPassword: "x" },
      stateDri: "/var/lib/x",
    },
    url: "mqtt://127.0.0.1:1883",
  });
`,
    );
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(ROOT, "node_modules/@types")],
        },
        files: ["typo.ts"],
      }),
    );
    const tsc = await exec(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"],
      project,
      120_000,
    );
    expect(tsc.stdout).toMatch(/typo\.ts\(7,7\): error TS2353: .*'stateDri' does not exist/);
    expect(tsc.code).toBe(2);
  });

  it("runs the docs/embedding.md example against the installed simulated tenant", async () => {
    const [example] = codeBlocks(readFileSync(join(ROOT, "docs/embedding.md"), "utf8"), "ts");
    writeFileSync(join(project, "agent.ts"), example!);
    copyFileSync(
      join(ROOT, "test/support/run-embedding-example.js"),
      join(project, "run-embedding-example.js"),
    );
    const run = await exec(process.execPath, ["run-embedding-example.js", "agent.ts"], project, 150_000);
    const outcome = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as {
      failure: string | null;
      operation: unknown;
      exit: unknown;
      stderr: string;
    };
    expect(outcome.failure, outcome.stderr).toBeNull();
    expect(outcome.operation).toEqual({
      status: "SUCCESSFUL",
      result: "hello from the tenant",
      failureReason: null,
    });
    expect(outcome.exit).toEqual({ code: 0, signal: null });
    expect(run.code).toBe(0);
  });
});
