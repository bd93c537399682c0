/** What a command may touch of the process: injectable so commands can be tested in-process. */
import { read as readFd } from "node:fs";
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

/** File descriptor 0, read with `read(2)` in the size asked for. */
const fdInput = (): InputSource => ({
  isTTY: isatty(0),
  read: (maxBytes) =>
    new Promise((resolve) => {
      const attempt = (): void => {
        const buffer = Buffer.allocUnsafe(maxBytes);
        readFd(0, buffer, 0, maxBytes, null, (error, bytesRead) => {
          // A non-blocking descriptor with nothing to read yet: try again shortly.
          if (error !== null && (error.code === "EAGAIN" || error.code === "EWOULDBLOCK")) {
            setTimeout(attempt, 10);
            return;
          }
          // Closed or unreadable standard input is treated like an empty one.
          resolve(error !== null || bytesRead === 0 ? null : buffer.subarray(0, bytesRead));
        });
      };
      attempt();
    }),
});

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
    input: fdInput(),
    get interrupted() {
      listened = true;
      return interrupted;
    },
  };
};
