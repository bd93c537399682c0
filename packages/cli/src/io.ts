/** What a command may touch of the process: injectable so commands can be tested in-process. */
import { fstatSync, read as readFd } from "node:fs";
import { Socket, type SocketConstructorOpts } from "node:net";
import { isatty } from "node:tty";

/**
 * Standard input, pulled on demand: nothing is read before the command asks, and never more
 * than it asks for, so a command can bound what it holds in memory (see `c8ylink run`).
 */
export interface InputSource {
  readonly isTTY: boolean;
  /** Up to `maxBytes` bytes; `null` at end of input (or when the input cannot be read). */
  read(maxBytes: number): Promise<Buffer | null>;
}

export interface Io {
  /** One line (or block) to standard output. */
  readonly out: (text: string) => void;
  /** One line (or block) to standard error. */
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly input: InputSource;
  /**
   * Resolves with the signal's name when the process is asked to stop (SIGINT/SIGTERM). A
   * command that reads it takes charge of stopping; for the others the first signal ends the
   * process at once.
   */
  readonly interrupted: Promise<string>;
}

/** Exit status of a process ended by `signal` (the shell's convention: 128 + number). */
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** A regular file or /dev/null: `read(2)` never blocks, so it may run on libuv's thread pool. */
const fileInput = (): InputSource => ({
  isTTY: false,
  read: (maxBytes) =>
    new Promise((resolve) => {
      const buffer = Buffer.allocUnsafe(maxBytes);
      readFd(0, buffer, 0, maxBytes, null, (error, bytesRead) =>
        // Unreadable standard input is treated like an empty one.
        resolve(error !== null || bytesRead === 0 ? null : buffer.subarray(0, bytesRead)),
      );
    }),
});

/**
 * A pipe or socket (or a terminal): read through the event loop, never more than `maxBytes`
 * per read, and only while a read is asked for (a blocking read on the thread pool would keep
 * the process from exiting). The first read fixes the read size.
 */
const streamInput = (isTTY: boolean): InputSource => {
  let socket: Socket | null = null;
  const chunks: Buffer[] = [];
  let ended = false;
  let waiting: (() => void) | null = null;
  const wake = (): void => {
    const w = waiting;
    waiting = null;
    w?.();
  };
  const open = (maxBytes: number): Socket => {
    // `onread` (Node >= 12) is missing from @types/node's constructor options.
    const options: SocketConstructorOpts & { onread: unknown } = {
      fd: 0,
      readable: true,
      writable: false,
      onread: {
        buffer: Buffer.alloc(maxBytes),
        // The buffer is reused: copy, then pause until the next read is asked for.
        callback: (bytes: number, buffer: Uint8Array) => {
          chunks.push(Buffer.from(buffer.subarray(0, bytes)));
          wake();
          return false;
        },
      },
    };
    let s: Socket;
    try {
      s = new Socket(options);
    } catch {
      // Not a pipe or socket after all: treat it like an empty input.
      ended = true;
      s = new Socket();
    }
    const end = (): void => {
      ended = true;
      wake();
    };
    s.on("end", end);
    s.on("close", end);
    s.on("error", end); // unreadable standard input ends like an empty one
    return s;
  };
  return {
    isTTY,
    read: async (maxBytes) => {
      socket ??= open(maxBytes);
      for (;;) {
        const chunk = chunks.shift();
        if (chunk !== undefined) {
          if (chunk.length > maxBytes) chunks.unshift(chunk.subarray(maxBytes));
          return chunk.subarray(0, maxBytes);
        }
        if (ended) return null;
        const arrived = new Promise<void>((resolve) => (waiting = resolve));
        socket.resume();
        await arrived;
      }
    },
  };
};

/** Any readable stream (a terminal, a test's stream), read in paused mode, `maxBytes` at a time. */
export const readableInput = (stream: NodeJS.ReadableStream, isTTY: boolean): InputSource => {
  let ended = false;
  const end = (): void => {
    ended = true;
  };
  stream.on("end", end);
  stream.on("error", end); // unreadable input ends like an empty one
  return {
    isTTY,
    read: (maxBytes) =>
      new Promise((resolve) => {
        const attempt = (): void => {
          const chunk = stream.read(maxBytes) as Buffer | string | null;
          // Less than maxBytes buffered: take what there is.
          const taken = chunk ?? (stream.read() as Buffer | string | null);
          if (taken !== null) return resolve(typeof taken === "string" ? Buffer.from(taken) : taken);
          if (ended) return resolve(null);
          const again = (): void => {
            stream.off("readable", again);
            stream.off("end", again);
            attempt();
          };
          stream.once("readable", again);
          stream.once("end", again);
        };
        attempt();
      }),
  };
};

/** Standard input as it is: a file (or /dev/null), a terminal, or a pipe or socket. */
const stdinInput = (): InputSource => {
  let isFile = false;
  try {
    const stat = fstatSync(0);
    isFile = stat.isFile() || (stat.isCharacterDevice() && !isatty(0));
  } catch {
    isFile = true; // no standard input at all: reads end at once
  }
  if (isFile) return fileInput();
  return isatty(0) ? readableInput(process.stdin, true) : streamInput(false);
};

/**
 * The real process. The first SIGINT/SIGTERM resolves `interrupted` when a command listens
 * (it then stops cleanly); otherwise, and at any second signal, the process exits at once with
 * 128 + the signal number, saying so.
 */
export const processIo = (): Io => {
  let resolveInterrupt: (signal: string) => void = () => {};
  const interrupted = new Promise<string>((resolve) => (resolveInterrupt = resolve));
  let listened = false;
  let signalled: string | null = null;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      const code = SIGNAL_EXIT[signal] ?? 1;
      if (signalled !== null) {
        process.stderr.write(
          `c8ylink: second signal (${signal}) during the stop: forced exit ${code} without a clean stop\n`,
        );
        process.exit(code);
      }
      signalled = signal;
      if (!listened) process.exit(code);
      resolveInterrupt(signal);
    });
  }
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
    input: stdinInput(),
    get interrupted() {
      listened = true;
      return interrupted;
    },
  };
};
