/**
 * What the built-in handlers share: their dependencies (the file transfer, the engine's
 * `submit`, a work directory), config codecs for names and commands, commands run without a
 * shell, and rows addressed to the device or child that executes the operation.
 */
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import * as t from "io-ts";
import { refine, type UpstreamMessage } from "@c8ylink/core";
import type { OperationContext } from "@c8ylink/mqtt";
import type { Transfer } from "../../transfer/types.js";

export { syncDir } from "../../durable-fs.js";

export interface BuiltinDeps {
  readonly transfer: Transfer;
  /** Queues an upstream row (the engine's `submit`); `child` sends it for a child device. */
  readonly submit: (message: UpstreamMessage, options?: { readonly child?: string }) => unknown;
  /** The root device's external id: rows about any other device go to its child topic. */
  readonly deviceId: string;
  /** A directory of our own for downloads and files being uploaded. */
  readonly workDir: string;
  /** Serialises work on one file or one package manager across concurrent operations. */
  readonly queue: KeyedQueue;
}

/** Submits `message` for the device that executes the operation. */
export const submitFor = (deps: BuiltinDeps, context: OperationContext, message: UpstreamMessage): void => {
  deps.submit(message, context.deviceId === deps.deviceId ? {} : { child: context.deviceId });
};

export const NonEmptyString = refine(t.string, "NonEmptyString", (s) =>
  s.trim() === "" ? "must not be empty" : undefined,
);

/** A command as an argument vector (never run through a shell): program first. */
export const Argv = refine(t.array(t.string), "Command", (argv) =>
  argv.length === 0 || argv[0] === ""
    ? 'must be a non-empty list: the program, then its arguments, e.g. ["journalctl", "-u", "x"]'
    : undefined,
);

export const TimeoutSeconds = refine(t.number, "TimeoutSeconds", (n) =>
  Number.isInteger(n) && n >= 1 && n <= 86_400
    ? undefined
    : "must be a whole number of seconds in [1, 86400]",
);

/** A map from names (types) to entries, the names non-empty. */
export const namedEntries = <A, O>(name: string, entry: t.Type<A, O, unknown>) =>
  refine(t.record(t.string, entry), name, (r) =>
    Object.keys(r).some((k) => k.trim() === "") ? "names must not be empty" : undefined,
  );

/** `{name}`-style placeholders replaced in every argument. */
export const substitute = (argv: readonly string[], values: Readonly<Record<string, string>>): string[] =>
  argv.map((arg) => arg.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole));

/** A string safe as one file name component. */
export const safeName = (s: string): string => s.replace(/[^\w.-]+/g, "_").slice(0, 100) || "_";

export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Why it could not run at all (not found, not executable), if so. */
  readonly error?: string;
}

const MAX_OUTPUT = 1024 * 1024;

/**
 * Runs `argv` without a shell, killing it after `timeoutMs`; never throws. Output beyond 1 MiB
 * per stream is dropped (the start is kept).
 */
export const runCommand = (argv: readonly string[], timeoutMs: number): Promise<CommandResult> =>
  new Promise((resolve) => {
    const [program = "", ...args] = argv;
    let stdout = "";
    let stderr = "";
    let error: string | undefined;
    const child = spawn(program, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += s;
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += s;
    });
    const timer = setTimeout(() => {
      error = `timed out after ${timeoutMs / 1000} s`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => (error = e.message));
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ...(error === undefined ? {} : { error }) });
    });
  });

/** Why a finished command counts as failed, or undefined when it succeeded (exit 0). */
export const commandProblem = (
  what: string,
  argv: readonly string[],
  r: CommandResult,
): string | undefined => {
  if (r.error !== undefined) return `${what}: ${argv[0] ?? ""}: ${r.error}`;
  if (r.code === 0) return undefined;
  const tail = r.stderr.trim().split("\n").slice(-3).join(" / ");
  const status = r.code === null ? `killed by ${r.signal ?? "a signal"}` : `exit ${r.code}`;
  return `${what} failed (${status})${tail === "" ? "" : `: ${tail}`}`;
};

/** Removes a file we made, ignoring any error (it is a leftover at worst). */
export const removeQuietly = (path: string): Promise<void> => rm(path, { force: true }).catch(() => {});

/**
 * Runs actions on the same key one after the other (operations may run concurrently: two
 * downloads of one configuration file, or two package-manager runs, must not interleave).
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, action: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(action, action);
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

/** Removes what a failed download left behind (its partial file and the note of its URL). */
export const removeDownloadLeftovers = async (dest: string): Promise<void> => {
  await removeQuietly(`${dest}.part`);
  await removeQuietly(`${dest}.part.json`);
};

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
