import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULTS, UsageError, parseSimulateArgs } from "../src/cli-args.js";
import { reproduceCommand, runWorld } from "../src/index.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

/** `npm run simulate -- …` as a user runs it (same node flags as the package.json script). */
const simulate = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ["--conditions=source", "--import", "tsx", "packages/fake/src/cli.ts", ...args],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", (e) => resolve({ status: null, stdout, stderr: stderr + String(e) }));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });

const usageError = (argv: string[]): string => {
  try {
    parseSimulateArgs(argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`${argv.join(" ")} was accepted`);
};

describe("simulate flags", () => {
  it("defaults every flag", () => {
    expect(parseSimulateArgs([])).toEqual({
      ...DEFAULTS,
      verbose: false,
      none: false,
      tolerateKnown: false,
      platformJson: true,
      help: false,
    });
    expect(DEFAULTS.operations).toBe("by-id");
  });

  it("reads every flag, in either spelling of a value", () => {
    expect(
      parseSimulateArgs([
        "--seed",
        "7",
        "--runs=3",
        "--devices",
        "5",
        "--fault-ms",
        "0",
        "--heal-ms",
        "9000",
        "--no-faults",
        "--tolerate-known",
        "--operations",
        "static",
        "--no-platform-json",
        "--verbose",
        "-h",
      ]),
    ).toEqual({
      seed: 7,
      runs: 3,
      devices: 5,
      faultMs: 0,
      healMs: 9000,
      verbose: true,
      none: true,
      tolerateKnown: true,
      operations: "static",
      platformJson: false,
      help: true,
    });
    expect(parseSimulateArgs(["--operations=by-id"]).operations).toBe("by-id");
    expect(parseSimulateArgs(["--no-platform-json", "--tolerate-known"]).tolerateKnown).toBe(true);
  });

  it("names the flag and the value it refuses", () => {
    expect(usageError(["--seed", "x"])).toBe('--seed must be a non-negative integer (got "x")');
    expect(usageError(["--runs", "1.5"])).toBe('--runs must be a non-negative integer (got "1.5")');
    expect(usageError(["--heal-ms=-3"])).toBe('--heal-ms must be a non-negative integer (got "-3")');
    expect(usageError(["--devices", "0"])).toBe('--devices must be an integer of at least 1 (got "0")');
    expect(usageError(["--bogus"])).toContain("'--bogus'");
    expect(usageError(["--fault-ms"])).toContain("'--fault-ms <value>' argument missing");
    expect(usageError(["--verbose=yes"])).toContain("--verbose");
    expect(usageError(["12"])).toContain("'12'");
    expect(usageError(["--operations", "json"])).toBe(
      '--operations must be "by-id" or "static" (got "json")',
    );
    expect(usageError(["--tolerate-known"])).toContain("--tolerate-known needs static rules");
  });

  it("names the mode in the reproduce command", () => {
    const options = { seed: 5, devices: 1, faultMs: 5000, faults: "none" as const };
    expect(reproduceCommand(runWorld({ ...options, operationsMode: "static" }), " --fault-ms 5000")).toBe(
      "npm run simulate -- --seed 5 --runs 1 --devices 1 --operations static --fault-ms 5000 --verbose",
    );
    expect(reproduceCommand(runWorld({ ...options, platformJson: false }))).toBe(
      "npm run simulate -- --seed 5 --runs 1 --devices 1 --operations by-id --no-platform-json --verbose",
    );
  });
});

describe("npm run simulate", () => {
  // The four processes run side by side (each mostly waits for tsx to load the sources);
  // each test checks its own.
  let runs: Record<"help" | "usage" | "worlds" | "static", ReturnType<typeof simulate>>;
  beforeAll(() => {
    runs = {
      help: simulate("--help"),
      usage: simulate("--runs", "many"),
      worlds: simulate("--seed", "3", "--runs", "2", "--devices", "1", "--fault-ms", "5000", "--no-faults"),
      static: simulate(
        "--seed",
        "3",
        "--runs",
        "1",
        "--devices",
        "1",
        "--fault-ms",
        "5000",
        "--no-faults",
        "--operations",
        "static",
      ),
    };
    // A failing test must not leave the others' promises unobserved.
    for (const run of Object.values(runs)) run.catch(() => {});
  });

  it("prints its help and exits 0", async () => {
    const r = await runs.help;
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("--tolerate-known");
    expect(r.stdout).toContain("--operations");
    expect(r.stdout).toContain("--no-platform-json");
  });

  it("exits 2 on a usage error, naming the flag, without a stack trace", async () => {
    const r = await runs.usage;
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--runs must be a non-negative integer (got "many")');
    expect(r.stderr).toContain("--help");
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe("");
  });

  it("runs worlds and exits 0 when they pass", async () => {
    const r = await runs.worlds;
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^seed 3 devices 1 faults \[none\].*→ ok$/m);
    expect(r.stdout).toMatch(/^seed 4 devices 1 /m);
    expect(r.stdout).toContain("2 worlds ok (by-id)");
    expect(r.stdout).toMatch(/^operations by-id$/m);
  });

  it("runs static worlds with --operations static and names the mode", async () => {
    const r = await runs.static;
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("1 worlds ok (static)");
  });
});
