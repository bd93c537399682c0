/**
 * Checks of the paths a user hands to a command (state directory, event-log file) before
 * anything starts: a path that is a file, cannot be created or is not writable gets one
 * line naming the path and the fix, instead of a failure deep inside the engine.
 */
import { closeSync, mkdtempSync, openSync, rmSync, statSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";

const statOf = (path: string): Stats | undefined => {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
};

const codeOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : String(e);

/** Why files cannot be created in the existing directory `dir` (a real probe: root ignores modes). */
const unwritableDir = (dir: string): string | undefined => {
  try {
    rmSync(mkdtempSync(join(dir, ".c8ylink-probe-")), { recursive: true, force: true });
    return undefined;
  } catch (e) {
    return codeOf(e);
  }
};

/** The nearest existing ancestor of `path` (itself excluded). */
const existingAncestor = (path: string): { path: string; stats: Stats } => {
  let current = dirname(resolve(path));
  for (;;) {
    const stats = statOf(current);
    if (stats !== undefined) return { path: current, stats };
    const parent = dirname(current);
    if (parent === current) return { path: current, stats: statSync(current) };
    current = parent;
  }
};

/**
 * Why `dir` cannot serve as a state directory (it is created with its parents if missing),
 * or undefined. `what` names the option in the message, e.g. `--state-dir`.
 */
export const stateDirProblem = (what: string, dir: string): string | undefined => {
  const stats = statOf(dir);
  if (stats !== undefined) {
    if (!stats.isDirectory())
      return `${what} ${dir} is a file, not a directory: give a directory path (it is created if missing)`;
    const code = unwritableDir(dir);
    return code === undefined
      ? undefined
      : `${what} ${dir} is not writable (${code}): make it writable for this user or give another directory`;
  }
  const ancestor = existingAncestor(dir);
  if (!ancestor.stats.isDirectory())
    return `${what} ${dir} cannot be created: ${ancestor.path} is a file, not a directory: give another path`;
  const code = unwritableDir(ancestor.path);
  return code === undefined
    ? undefined
    : `${what} ${dir} cannot be created: ${ancestor.path} is not writable (${code}): create the directory for this user or give another path`;
};

/** Why `file` cannot be written (appended or created) as an output file, or undefined. */
export const outputFileProblem = (what: string, file: string): string | undefined => {
  const stats = statOf(file);
  if (stats?.isDirectory() === true) return `${what} ${file} is a directory: give a file path`;
  if (stats !== undefined) {
    try {
      closeSync(openSync(file, "a")); // "a" never truncates what is there
      return undefined;
    } catch (e) {
      return `${what} ${file} is not writable (${codeOf(e)}): make it writable for this user or give another file`;
    }
  }
  const parent = dirname(resolve(file));
  const parentStats = statOf(parent);
  if (parentStats === undefined)
    return `${what} ${file}: directory ${parent} does not exist: create it (mkdir -p ${parent}) or give another path`;
  if (!parentStats.isDirectory())
    return `${what} ${file}: ${parent} is a file, not a directory: give another path`;
  const code = unwritableDir(parent);
  return code === undefined
    ? undefined
    : `${what} ${file}: directory ${parent} is not writable (${code}): make it writable for this user or give another path`;
};
