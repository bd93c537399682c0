/** What a command may touch of the process: injectable so commands can be tested in-process. */
export interface Io {
  /** One line (or block) to standard output. */
  readonly out: (text: string) => void;
  /** One line (or block) to standard error. */
  readonly err: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: NodeJS.ReadableStream & { readonly isTTY?: boolean };
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  readonly interrupted: Promise<void>;
}

export const processIo = (): Io => {
  let resolveInterrupt: () => void = () => {};
  const interrupted = new Promise<void>((resolve) => (resolveInterrupt = resolve));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => resolveInterrupt());
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    env: process.env,
    stdin: process.stdin,
    interrupted,
  };
};
