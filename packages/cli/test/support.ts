import { PassThrough } from "node:stream";
import type { InputSource, Io } from "../src/io.js";

/** An InputSource over a stream: reads at most what is asked, resolves null at its end. */
const streamInput = (stream: PassThrough): InputSource => {
  let ended = false;
  stream.on("end", () => (ended = true));
  return {
    isTTY: false,
    read: (maxBytes) =>
      new Promise((resolve) => {
        const attempt = (): void => {
          const chunk = stream.read(Math.min(maxBytes, stream.readableLength || maxBytes)) as Buffer | null;
          if (chunk !== null) return resolve(chunk);
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

/** An in-memory Io: captured output, given environment, a controllable stdin and interrupt. */
export const memoryIo = (env: Record<string, string> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const stdin = new PassThrough();
  let interrupt: () => void = () => {};
  const interrupted = new Promise<string>((resolve) => (interrupt = () => resolve("SIGINT")));
  const io: Io = {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    env,
    input: streamInput(stdin),
    interrupted,
  };
  return { io, out, err, stdin, interrupt, text: () => out.join("\n"), errors: () => err.join("\n") };
};
