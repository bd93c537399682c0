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
