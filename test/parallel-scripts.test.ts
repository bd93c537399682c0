/**
 * `npm test`'s runner (test/support/parallel-scripts.js): every script's outcome decides the
 * exit code, outputs stay whole, the live one streams, a low one runs niced, and a test can
 * wait for a script to end (test/support/script-ended.ts). Scripts of a throwaway package.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { scriptEnded } from "./support/script-ended.js";

const RUNNER = fileURLToPath(new URL("support/parallel-scripts.js", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "c8ylink-parallel-scripts-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// npm passes its settings to scripts as npm_* variables; the nested npm must not inherit them.
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !k.toLowerCase().startsWith("npm_") && k !== "C8YLINK_SCRIPTS_DONE",
  ),
);

const runScripts = (scripts: Record<string, string>, args: readonly string[]) => {
  const dir = mkdtempSync(join(work, "package-"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "scripts", private: true, scripts }));
  return new Promise<{ code: number | null; stdout: string }>((resolve) =>
    execFile(process.execPath, [RUNNER, ...args], { cwd: dir, env, timeout: 60_000 }, (error, stdout) =>
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout }),
    ),
  );
};

describe("parallel-scripts.js", () => {
  it("fails when one script fails, prints each output whole, and a summary line per script", async () => {
    const { code, stdout } = await runScripts(
      {
        good: "echo good one; echo good two",
        bad: "echo bad output; exit 3",
        // The live script sees the others' ends through C8YLINK_SCRIPTS_DONE.
        waits:
          'while [ ! -f "$C8YLINK_SCRIPTS_DONE/good" ] || [ ! -f "$C8YLINK_SCRIPTS_DONE/bad" ]; do sleep 0.05; done; echo "good=$(cat "$C8YLINK_SCRIPTS_DONE/good") bad=$(cat "$C8YLINK_SCRIPTS_DONE/bad")"',
        normal: "ps -o ni= -p $$",
        low: "ps -o ni= -p $$",
      },
      ["good", "bad", "--live", "waits", "normal", "--low", "low"],
    );
    expect(code).toBe(1);
    expect(stdout).toMatch(/^> good: ok, [\d.]+ s\ngood one\ngood two\n/m);
    expect(stdout).toMatch(/^> bad: FAILED \(exit 3\), [\d.]+ s\nbad output\n/m);
    expect(stdout).toMatch(/^good=ok bad=failed\n/m);
    const niceness = (script: string) =>
      Number(new RegExp(`^> ${script}: ok, [\\d.]+ s\\n\\s*(-?\\d+)\\n`, "m").exec(stdout)?.[1]);
    expect(niceness("normal")).toBeGreaterThanOrEqual(0);
    expect(niceness("low")).toBe(Math.min(19, niceness("normal") + 10));
    expect(stdout.trimEnd().split("\n").slice(-5)).toEqual([
      expect.stringMatching(/^> good: ok, /),
      expect.stringMatching(/^> bad: FAILED \(exit 3\), /),
      expect.stringMatching(/^> waits: ok, /),
      expect.stringMatching(/^> normal: ok, /),
      expect.stringMatching(/^> low: ok, /),
    ]);
  });

  it("exits 0 when every script passes", async () => {
    const { code, stdout } = await runScripts({ one: "true", two: "echo two" }, ["one", "two"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^> two: ok, [\d.]+ s\ntwo\n/m);
  });

  it("refuses an unknown option and two live scripts", async () => {
    expect((await runScripts({ one: "true" }, ["--fast", "one"])).code).toBe(2);
    expect((await runScripts({ one: "true", two: "true" }, ["--live", "one", "--live", "two"])).code).toBe(2);
  });
});

describe("scriptEnded", () => {
  it("is null outside the runner, and otherwise waits for the script's file", async () => {
    const dir = mkdtempSync(join(work, "done-"));
    expect(await scriptEnded("typecheck", 1_000, "")).toBeNull();
    const waiting = scriptEnded("typecheck", 30_000, dir);
    let ended = false;
    void waiting.then(() => (ended = true));
    await new Promise((r) => setImmediate(r));
    expect(ended).toBe(false);
    mkdirSync(join(dir, "other"));
    writeFileSync(join(dir, ".typecheck.partial"), "failed");
    renameSync(join(dir, ".typecheck.partial"), join(dir, "typecheck"));
    expect(await waiting).toBe("failed");
    await expect(scriptEnded("lint:code", 50, dir)).rejects.toThrow(
      /npm run lint:code had not ended after 0.05 s/,
    );
  });
});
