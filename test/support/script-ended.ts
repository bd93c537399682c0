/**
 * Waits for an npm script that `npm test` runs beside the tests (test/support/parallel-scripts.js)
 * to end: the packaging test packs the dist that `npm run typecheck` builds, and the two must not
 * write it at the same time. Outside that runner (`vitest run` alone, no C8YLINK_SCRIPTS_DONE)
 * there is nothing to wait for.
 *
 * Resolves with how the script ended ("ok" or "failed"), or null outside the runner; rejects
 * after `timeoutMs` (a bound, not a duration).
 */
import { existsSync, readFileSync, watch } from "node:fs";
import { join } from "node:path";

/**
 * How long a test waits for a script: `npm test` waits for every script anyway, so this only
 * ends a wait that nothing would end. An hour: under heavy load (load average 25 on 2 cores,
 * 2026-12-08) the typecheck had used 10 s of CPU after 9 minutes, and the 10 minutes first
 * chosen here would have failed the packaging test for nothing.
 */
export const WAIT_FOR_SCRIPT_MS = 3_600_000;

export const scriptEnded = (
  script: string,
  timeoutMs: number,
  dir = process.env.C8YLINK_SCRIPTS_DONE,
): Promise<"ok" | "failed" | null> => {
  if (dir === undefined || dir === "") return Promise.resolve(null);
  const file = join(dir, script);
  const outcome = () => (readFileSync(file, "utf8") === "ok" ? "ok" : "failed");
  return new Promise((resolve, reject) => {
    let settled = false;
    // Watch first, then look: a file written between the two is still seen.
    const watcher = watch(dir, () => {
      if (existsSync(file)) finish();
    });
    const timer = setTimeout(() => {
      settled = true;
      watcher.close();
      reject(new Error(`npm run ${script} had not ended after ${String(timeoutMs / 1000)} s`));
    }, timeoutMs);
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      watcher.close();
      resolve(outcome());
    };
    if (existsSync(file)) finish();
  });
};
