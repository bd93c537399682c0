/**
 * Runs npm scripts side by side and fails when any of them fails. `npm test` runs its checks
 * (typecheck, ESLint, Prettier: one single-threaded process each) and the tests at once, so
 * that both cores stay busy to the end instead of the tests waiting for the last check and the
 * checks leaving the core idle that vitest leaves between its files (docs/testing.md, "Sixth
 * pass").
 *
 * Usage: node test/support/parallel-scripts.js [--live] [--low] <script>... (flags apply to
 * the script after them)
 * - every script's output is printed whole when it ends, not interleaved; the `--live` one's
 *   (at most one: the tests, minutes long) as it comes;
 * - a `--low` script runs at a lower CPU priority (`nice`): it only fills time the others
 *   leave idle, so that the scripts others wait for (the typecheck, below) get the cores first;
 * - when a script ends, a file named after it is written into the directory named by the
 *   environment variable C8YLINK_SCRIPTS_DONE (set for every script), holding "ok" or
 *   "failed": a test that needs what a script makes waits for it (test/support/script-ended.ts:
 *   the packaging test packs the dist that `npm run typecheck` builds);
 * - at the end one line per script says ok or FAILED; the exit code is 1 if any failed.
 */
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const USAGE = "usage: parallel-scripts.js [--live] [--low] <npm script> [[--live] [--low] <npm script>]...";
const scripts = [];
const live = new Set();
const low = new Set();
let flags = [];
for (const arg of process.argv.slice(2)) {
  if (arg === "--live" || arg === "--low") flags.push(arg);
  else if (arg.startsWith("--")) {
    console.error(`${USAGE}\nunknown option ${arg}`);
    process.exit(2);
  } else {
    scripts.push(arg);
    if (flags.includes("--live")) live.add(arg);
    if (flags.includes("--low")) low.add(arg);
    flags = [];
  }
}
if (scripts.length === 0 || flags.length > 0 || live.size > 1) {
  console.error(`${USAGE}\n(at most one --live script)`);
  process.exit(2);
}

// Niceness added to the low scripts: a weight of about 1/10 against the others' while they
// compete for a core, and all of a core that nothing else wants.
const LOW_NICENESS = "10";

const done = mkdtempSync(join(tmpdir(), "c8ylink-scripts-"));
const env = { ...process.env, C8YLINK_SCRIPTS_DONE: done };
// Piped output is not a terminal: keep the colours the scripts would show in one.
if (process.stdout.isTTY && env.FORCE_COLOR === undefined) env.FORCE_COLOR = "1";

// Whether the live output so far ends a line: a whole script's output starts on a line of its own.
let atLineStart = true;
const print = (data, into = process.stdout) => {
  if (data.length === 0) return;
  into.write(data);
  atLineStart = data.at(-1) === 0x0a;
};

const run = (script) =>
  new Promise((resolve) => {
    const started = Date.now();
    const npm = ["npm", "run", "--silent", script];
    const [file, ...rest] = low.has(script) ? ["nice", "-n", LOW_NICENESS, ...npm] : npm;
    const child = spawn(file, rest, { stdio: ["ignore", "pipe", "pipe"], env });
    const chunks = [];
    const collect = (stream, into) =>
      child[stream].on("data", (d) => (live.has(script) ? print(d, into) : chunks.push(d)));
    collect("stdout", process.stdout);
    collect("stderr", process.stderr);
    child.on("error", (error) => chunks.push(Buffer.from(`${String(error)}\n`)));
    child.on("close", (code, signal) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const ok = code === 0;
      const status = ok ? "ok" : `FAILED (${signal ?? `exit ${String(code)}`})`;
      // Written whole, then renamed: a waiting test never reads a half-written file.
      writeFileSync(join(done, `.${script}.partial`), ok ? "ok" : "failed");
      renameSync(join(done, `.${script}.partial`), join(done, script));
      print(Buffer.from(`${atLineStart ? "" : "\n"}> ${script}: ${status}, ${seconds} s\n`));
      print(Buffer.concat(chunks));
      resolve({ ok, line: `> ${script}: ${status}, ${seconds} s` });
    });
  });

const results = await Promise.all(scripts.map(run));
rmSync(done, { recursive: true, force: true });
print(Buffer.from(`${atLineStart ? "" : "\n"}\n${results.map((r) => r.line).join("\n")}\n`));
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
