/**
 * Runs npm scripts side by side and fails when any of them fails: `npm test`'s checks
 * (typecheck, ESLint, Prettier) are one process each, so one after the other they leave the
 * second core idle. Each script's output is printed whole when it ends, not interleaved.
 *
 * Usage: node test/support/parallel-scripts.js <script>...
 */
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";

const scripts = process.argv.slice(2);
if (scripts.length === 0) {
  console.error("usage: parallel-scripts.js <npm script>...");
  process.exit(2);
}

const run = (script) =>
  new Promise((resolve) => {
    const started = Date.now();
    const child = spawn("npm", ["run", "--silent", script], { stdio: ["ignore", "pipe", "pipe"] });
    const chunks = [];
    child.stdout.on("data", (d) => chunks.push(d));
    child.stderr.on("data", (d) => chunks.push(d));
    child.on("error", (error) => chunks.push(Buffer.from(`${String(error)}\n`)));
    child.on("close", (code, signal) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      const status = code === 0 ? "ok" : `FAILED (${signal ?? `exit ${String(code)}`})`;
      process.stdout.write(`> ${script}: ${status}, ${seconds} s\n${Buffer.concat(chunks).toString()}`);
      resolve(code === 0);
    });
  });

const results = await Promise.all(scripts.map(run));
process.exitCode = results.every(Boolean) ? 0 : 1;
