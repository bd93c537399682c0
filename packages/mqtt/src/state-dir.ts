/**
 * Ownership of a state directory: one engine at a time (a lock file holding its pid) and one
 * device for the directory's whole life (its id, stored at first use). Two engines on one
 * outbox would send rows twice and fight over one client id; an outbox queued for device A
 * must never be delivered as device B's data.
 */
import { mkdir, open, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";

export const LOCK_FILE = "lock";
export const DEVICE_FILE = "device.json";

/** A state directory that cannot be used, with what to do about it. */
export class StateDirError extends Error {
  override readonly name = "StateDirError";
}

/** Directories claimed by engines of this process (the pid in a lock file cannot tell them apart). */
const claimedHere = new Set<string>();

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const codeOf = (e: unknown): string | undefined =>
  (e as { code?: unknown } | null)?.code as string | undefined;

/** Whether a process with this pid runs (EPERM: it runs under another user). */
const processRuns = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return codeOf(e) === "EPERM";
  }
};

const readPid = async (path: string): Promise<number | null> => {
  try {
    const text = (await readFile(path, "utf8")).trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
};

/** Creates `<dir>/lock` with O_EXCL; a lock left by a process that no longer runs is taken over. */
const takeLock = async (dir: string): Promise<void> => {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      try {
        await handle.writeFile(`${process.pid}\n`);
      } finally {
        await handle.close();
      }
      return;
    } catch (e) {
      if (codeOf(e) !== "EEXIST") throw new StateDirError(`cannot create lock file ${path}: ${errorText(e)}`);
    }
    const pid = await readPid(path);
    // Our own pid in a lock we do not hold: left by an earlier life of a container's pid 1.
    if (pid !== null && pid !== process.pid && processRuns(pid)) {
      throw new StateDirError(
        `state dir ${dir} is in use by process ${pid} (lock file ${path}): one engine per state dir; ` +
          `stop that process first (if no such engine runs, remove the lock file)`,
      );
    }
    await unlink(path).catch(() => {}); // stale: its process is gone
  }
  throw new StateDirError(`state dir ${dir}: another process took the lock file ${path} at the same time`);
};

/** Binds the directory to `deviceId` at first use; refuses one bound to another device. */
const bindDevice = async (dir: string, deviceId: string): Promise<void> => {
  const path = join(dir, DEVICE_FILE);
  let text: string | undefined;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if (codeOf(e) !== "ENOENT") throw new StateDirError(`cannot read ${path}: ${errorText(e)}`);
  }
  if (text === undefined) {
    const temporary = `${path}.tmp`;
    await writeFile(temporary, `${JSON.stringify({ deviceId })}\n`, { mode: 0o600 });
    await rename(temporary, path);
    return;
  }
  let bound: unknown;
  try {
    bound = (JSON.parse(text) as { deviceId?: unknown }).deviceId;
  } catch {
    bound = undefined;
  }
  if (typeof bound !== "string") {
    throw new StateDirError(
      `${path} is damaged (expected {"deviceId": "..."}): restore it or use another state dir`,
    );
  }
  if (bound !== deviceId) {
    throw new StateDirError(
      `state dir ${dir} belongs to device ${JSON.stringify(bound)} (${path}), not ${JSON.stringify(deviceId)}: ` +
        `its queued data and credentials are that device's; use another state dir for this device`,
    );
  }
};

export interface StateDirClaim {
  /** Removes the lock file (when it is still ours) and lets another engine use the directory. */
  release(): Promise<void>;
}

/**
 * Claims `dir` for one engine of device `deviceId`: creates it if missing, takes the lock,
 * checks (or records) the device it belongs to. Throws a `StateDirError` saying what to do.
 */
export const claimStateDir = async (dir: string, deviceId: string): Promise<StateDirClaim> => {
  const absolute = resolve(dir);
  if (claimedHere.has(absolute)) {
    throw new StateDirError(`state dir ${dir} is already used by another engine of this process`);
  }
  try {
    await mkdir(absolute, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new StateDirError(`cannot create state dir ${dir}: ${errorText(e)}`);
  }
  claimedHere.add(absolute);
  try {
    await takeLock(absolute);
  } catch (e) {
    claimedHere.delete(absolute);
    throw e;
  }
  const lockPath = join(absolute, LOCK_FILE);
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    if ((await readPid(lockPath)) === process.pid) await unlink(lockPath).catch(() => {});
    claimedHere.delete(absolute);
  };
  try {
    await bindDevice(absolute, deviceId);
  } catch (e) {
    await release();
    throw e instanceof StateDirError ? e : new StateDirError(`state dir ${dir}: ${errorText(e)}`);
  }
  return { release };
};
