import { PassThrough } from "node:stream";
import { readableInput, type Io } from "../src/io.js";

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
    input: readableInput(stdin, false),
    interrupted,
  };
  return { io, out, err, stdin, interrupt, text: () => out.join("\n"), errors: () => err.join("\n") };
};
