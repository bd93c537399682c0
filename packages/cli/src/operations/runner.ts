/**
 * Runs one program for a handler: no shell (argv as given), its own process group so a timeout
 * ends everything it started, and output kept bounded (the last `maxOutputBytes` of stdout and
 * of stderr): a chatty flash tool cannot exhaust the agent's memory. Never throws: a program
 * that cannot start is a result with `startError`.
 */
import { spawn } from "node:child_process";

export const MAX_OUTPUT_BYTES = 64 * 1024;
/** After SIGTERM at the timeout, how long the group has before SIGKILL. */
export const KILL_GRACE_MS = 2_000;

export interface RunRequest {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly cwd?: string;
  readonly maxOutputBytes?: number;
}

export interface RunResult {
  /** Exit code, or null when ended by a signal or not started. */
  readonly code: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** Why the program could not be started (ENOENT, EACCES, …), else null. */
  readonly startError: string | null;
  /** The last bytes of the output (decoded as UTF-8). */
  readonly stdout: string;
  readonly stderr: string;
  /** Output bytes dropped from the front to keep the bound. */
  readonly droppedBytes: number;
}

/** Keeps the last `max` bytes written to it. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  dropped = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.max && this.chunks.length > 0) {
      const over = this.size - this.max;
      const first = this.chunks[0]!;
      if (first.length <= over) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(over);
        this.size -= over;
        this.dropped += over;
      }
    }
  }
  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

const killGroup = (pid: number | undefined, signal: NodeJS.Signals): void => {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
};

export const runProgram = (request: RunRequest, signal?: AbortSignal): Promise<RunResult> =>
  new Promise((resolve) => {
    const max = request.maxOutputBytes ?? MAX_OUTPUT_BYTES;
    const out = new Tail(max);
    const err = new Tail(max);
    const [program, ...args] = request.argv;
    let timedOut = false;
    let startError: string | null = null;
    let settled = false;
    const child = spawn(program!, args, {
      env: request.env,
      cwd: request.cwd,
      detached: true, // its own process group: the timeout kills what it started too
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup(child.pid, "SIGTERM");
      killTimer = setTimeout(() => killGroup(child.pid, "SIGKILL"), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, request.timeoutMs);
    const onAbort = () => stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    const finish = (code: number | null, sig: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      // The group may live on after its leader (a daemonised child): end it with the leader.
      if (timedOut) {
        clearTimeout(killTimer);
        killGroup(child.pid, "SIGKILL");
      }
      resolve({
        code,
        signal: sig,
        timedOut,
        startError,
        stdout: out.text(),
        stderr: err.text(),
        droppedBytes: out.dropped + err.dropped,
      });
    };
    child.on("error", (e) => {
      startError = e.message;
      finish(null, null);
    });
    child.on("close", (code, sig) => finish(code, sig));
    // A background process it left behind may hold the pipes open: do not wait for it.
    child.on("exit", (code, sig) => {
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(code, sig);
      }, 500).unref();
    });
  });
