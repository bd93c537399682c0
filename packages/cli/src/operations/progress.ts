/**
 * Durable step progress of one operation: `<dir>/<journal key>.json`, written atomically
 * (temp file, fsync, rename, fsync of the directory) before a step with side effects starts
 * and after it completed, so after a crash or a reboot the handler knows which step was under
 * way. Reading never throws: a missing file is "nothing started", a corrupt one a reason.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import * as t from "io-ts";
import * as E from "fp-ts/lib/Either.js";
import { decode, formatProblems } from "@c8ylink/core";

export const ProgressCodec = t.type({
  version: t.literal(1),
  fragment: t.string,
  /** Steps 0 … completed-1 are done. */
  completed: t.number,
  /** The index of the step under way (written before it started), or null. */
  started: t.union([t.number, t.null]),
  /** Result parameters of the completed steps (the last run step's output, when asked for). */
  parameters: t.union([t.array(t.string), t.null]),
  /**
   * Set when the operation ended: kept until the engine has its status durably (a crash in
   * between resumes the operation, which then reports this outcome without running a step).
   */
  outcome: t.union([
    t.null,
    t.type({ status: t.literal("successful"), parameters: t.array(t.string) }),
    t.type({ status: t.literal("failed"), reason: t.string }),
  ]),
});
export type Progress = t.TypeOf<typeof ProgressCodec>;

export type ReadProgress =
  | { readonly kind: "none" }
  | { readonly kind: "found"; readonly progress: Progress }
  | { readonly kind: "unreadable"; readonly reason: string };

export interface ProgressStore {
  read(key: string): ReadProgress;
  /** Durable when it returns; throws when the disk refuses (the step must then not start). */
  write(key: string, progress: Progress): void;
  remove(key: string): void;
  /** Where the files of a key's steps go (created on demand). */
  workDir(key: string): string;
  /** Journal keys that have a progress file. */
  keys(): string[];
}

const fsyncDir = (dir: string): void => {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
};

/** Writes `text` to `path` atomically and durably. */
export const writeFileDurably = (path: string, text: string, dir: string): void => {
  const temp = `${path}.tmp`;
  const fd = openSync(temp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  fsyncDir(dir);
};

const safeKey = (key: string): string => key.replace(/[^A-Za-z0-9._-]/g, "_");

export const fileProgressStore = (dir: string): ProgressStore => {
  const fileOf = (key: string) => join(dir, `${safeKey(key)}.json`);
  return {
    read(key) {
      let text: string;
      try {
        text = readFileSync(fileOf(key), "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return { kind: "none" };
        return { kind: "unreadable", reason: `cannot read ${fileOf(key)}: ${(e as Error).message}` };
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        return { kind: "unreadable", reason: `${fileOf(key)} is not JSON: ${(e as Error).message}` };
      }
      const decoded = decode(ProgressCodec, json);
      return E.isLeft(decoded)
        ? {
            kind: "unreadable",
            reason: `${fileOf(key)}: ${formatProblems(decoded.left).replace(/\n/g, "; ")}`,
          }
        : { kind: "found", progress: decoded.right };
    },
    write(key, progress) {
      mkdirSync(dir, { recursive: true });
      writeFileDurably(fileOf(key), `${JSON.stringify(progress)}\n`, dir);
    },
    remove(key) {
      rmSync(fileOf(key), { force: true });
      rmSync(`${fileOf(key)}.tmp`, { force: true });
      rmSync(join(dir, `${safeKey(key)}.files`), { recursive: true, force: true });
    },
    keys() {
      try {
        const names = readdirSync(dir).flatMap((f) => {
          const m = /^(.+)\.(json|files)$/.exec(f);
          return m === null ? [] : [m[1]!];
        });
        return [...new Set(names)];
      } catch {
        return [];
      }
    },
    workDir(key) {
      const work = join(dir, `${safeKey(key)}.files`);
      mkdirSync(work, { recursive: true });
      return work;
    },
  };
};
