/**
 * Issue 9: documentation examples run verbatim. The example of docs/embedding.md is written
 * to a file unchanged and run as its own process against a simulated tenant (bootstrap,
 * measurement, a c8y_Command executed by its handler, clean stop on SIGTERM); the example of
 * packages/core/README.md runs and prints what it says.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { codeBlocks } from "./support/code-blocks.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// Inside the workspace (so @c8ylink/* resolve), in the git-ignored /tmp/ folder of the root.
mkdirSync(join(ROOT, "tmp"), { recursive: true });
const scratch = mkdtempSync(join(ROOT, "tmp", "docs-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const node = (args: readonly string[], timeoutMs: number) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=source", "--import", "tsx", ...args],
      { cwd: ROOT, timeout: timeoutMs },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : null,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
    );
  });

describe("documentation examples", () => {
  it("docs/embedding.md: the example runs as written against the simulated tenant", async () => {
    const blocks = codeBlocks(readFileSync(join(ROOT, "docs/embedding.md"), "utf8"), "ts");
    expect(blocks.length).toBeGreaterThanOrEqual(1);
    const agent = join(scratch, "agent.ts");
    writeFileSync(agent, blocks[0]!);
    const run = await node(["test/support/run-embedding-example.js", agent], 120_000);
    const outcome = JSON.parse(run.stdout.trim().split("\n").at(-1) ?? "{}") as {
      failure: string | null;
      measurements: unknown[];
      operation: { status: string; result: string | null } | null;
      exit: { code: number | null; signal: string | null } | null;
      stderr: string;
    };
    expect(outcome.failure, outcome.stderr).toBeNull();
    expect(outcome.measurements).toEqual([{ c8y_Temperature: { T: { value: 21.5, unit: "C" } } }]);
    expect(outcome.operation).toEqual({
      status: "SUCCESSFUL",
      result: "hello from the tenant",
      failureReason: null,
    });
    expect(outcome.exit).toEqual({ code: 0, signal: null });
    expect(outcome.stderr).not.toMatch(/is not defined|Error/);
    expect(run.code).toBe(0);
  });

  it("packages/core/README.md: the example runs and ends where it says", async () => {
    const blocks = codeBlocks(readFileSync(join(ROOT, "packages/core/README.md"), "utf8"), "ts");
    expect(blocks.length).toBe(1);
    const file = join(scratch, "core-example.ts");
    writeFileSync(file, blocks[0]!);
    const run = await node([file], 60_000);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("start → report, connect");
    expect(run.stdout).toContain("phase: subscribing");
  });
});
