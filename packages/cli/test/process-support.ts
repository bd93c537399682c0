/**
 * The real `c8ylink` command as a child process (bin/c8ylink.js, as a user or a supervisor
 * starts it), with its output collected line by line, and a few servers on 127.0.0.1.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";

export const BIN = fileURLToPath(new URL("../bin/c8ylink.js", import.meta.url));

/**
 * Which file starts the command: "real" is bin/c8ylink.js (TypeScript through tsx, as a user
 * starts it); "compiled" is the same sources compiled once per test run into one JavaScript
 * file (test/support/compiled-cli.ts), about 1.3 s of CPU less per start. Tests about what
 * the bin itself does (one process, signals) use "real".
 */
export type AgentBin = "real" | "compiled";

const binPath = (bin: AgentBin): string => {
  if (bin === "real") return BIN;
  const compiled = inject("compiledCli");
  if (typeof compiled !== "string" || compiled === "")
    throw new Error("no compiled c8ylink: run through vitest.config.ts (its globalSetup compiles it)");
  return compiled;
};

export const tmp = (): string => mkdtempSync(join(tmpdir(), "c8ylink-process-"));

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly stderr: string[];
  readonly stdout: string[];
  readonly exited: Promise<Exit>;
  /** Whether the process has exited. */
  readonly done: () => boolean;
  /** Resolves with the first stderr line matching `pattern` (from `from` on); rejects on exit or timeout. */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>;
  /** Every output line, for failure messages. */
  readonly output: () => string;
}

const running = new Set<ChildProcess>();

/** Kills (SIGKILL) every agent a test left running. */
export const killAll = async (): Promise<void> => {
  for (const child of running) {
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
  }
  running.clear();
};

export const startAgent = (
  args: readonly string[],
  stdin: "ignore" | "pipe" | number = "ignore",
  options: { readonly ownProcessGroup?: boolean; readonly bin?: AgentBin } = {},
): AgentProcess => {
  const child: ChildProcess = spawn(process.execPath, [binPath(options.bin ?? "compiled"), ...args], {
    stdio: [stdin, "pipe", "pipe"],
    // Its own process group, as a terminal's foreground job: Ctrl-C signals the whole group.
    detached: options.ownProcessGroup === true,
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmpdir() },
  });
  running.add(child);
  const stderr: string[] = [];
  const stdout: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null, into: string[]) => {
    let partial = "";
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      into.push(...lines);
    });
    stream?.on("end", () => {
      if (partial !== "") into.push(partial);
    });
  };
  collect(child.stderr, stderr);
  collect(child.stdout, stdout);
  let exit: Exit | null = null;
  const exited = new Promise<Exit>((resolve) =>
    child.once("close", (code, signal) => {
      exit = { code, signal };
      running.delete(child);
      resolve(exit);
    }),
  );
  const output = () => `stderr:\n${stderr.join("\n")}\nstdout:\n${stdout.join("\n")}`;
  return {
    child,
    pid: child.pid ?? -1,
    stderr,
    stdout,
    exited,
    done: () => exit !== null,
    output,
    // A bound, not a duration: under the load of a shared 2-core machine a start of the real bin
    // (tsx compiling the sources) took over 30 s to reach "online".
    waitFor: async (pattern, timeoutMs = 60_000, from = 0) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const line = stderr.slice(from).find((l) => pattern.test(l));
        if (line !== undefined) return line;
        if (exit !== null)
          throw new Error(`c8ylink exited (${JSON.stringify(exit)}) before ${String(pattern)}\n${output()}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}\n${output()}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
};

/** Pids of the direct children of `pid` (from /proc). */
export const childrenOf = (pid: number): number[] =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .flatMap((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, "utf8");
        // Fields after the command name (which may contain spaces) in parentheses: state, ppid, …
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        return ppid === pid ? [Number(name)] : [];
      } catch {
        return [];
      }
    });

/** Whether a process with this pid exists. */
export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A port nothing listens on. */
export const closedPort = (): Promise<number> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 1));
    });
  });

/**
 * An MQTT broker that accepts every connection and subscription but never acknowledges a
 * publish: a device stays online with its rows in flight, so its stop has to wait.
 */
export const startSilentBroker = async (): Promise<{ url: string; close: () => Promise<void> }> => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      for (;;) {
        // Fixed header: type byte, then the remaining length (variable-length integer).
        let length = 0;
        let multiplier = 1;
        let offset = 1;
        let complete = false;
        while (offset < buffered.length && offset <= 4) {
          const byte = buffered[offset++] ?? 0;
          length += (byte & 0x7f) * multiplier;
          multiplier *= 128;
          if ((byte & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete || buffered.length < offset + length) return;
        const type = (buffered[0] ?? 0) >> 4;
        const body = buffered.subarray(offset, offset + length);
        buffered = buffered.subarray(offset + length);
        if (type === 1) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        else if (type === 8) {
          const granted: number[] = [];
          for (let at = 2; at + 2 <= body.length;) {
            const topicLength = body.readUInt16BE(at);
            at += 2 + topicLength;
            granted.push(Math.min(body[at] ?? 0, 1));
            at += 1;
          }
          socket.write(Buffer.from([0x90, 2 + granted.length, body[0] ?? 0, body[1] ?? 0, ...granted]));
        } else if (type === 12) socket.write(Buffer.from([0xd0, 0x00]));
        // PUBLISH (3) is never acknowledged; DISCONNECT (14) needs no answer.
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
};
