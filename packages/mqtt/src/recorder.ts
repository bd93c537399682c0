/**
 * The event log writer. The file is JSON Lines in the core's log format (`@c8ylink/core`
 * log.ts): line 1 is `makeLogHeader(configInput, engineVersion, seed)`, then one
 * `logStepLine(seq, event, commands)` per step, seq counting from 1 (long command lists as a
 * digest). Secrets are redacted by the core's functions, consistently, so `parseLog` +
 * `replay` reproduce the recorded commands.
 *
 * Writes are buffered: lines collect in memory and go to the file when `flushBytes` are
 * pending or `flushIntervalMs` after the first pending line, and on `close()`. A crash loses
 * at most the unflushed tail; `parseLog` skips a torn last line. With `gzip`, each write is a
 * gzip member of its own (concatenated members are one gzip file), so a crash also loses only
 * the last write; `readLogFile` reads either form.
 */
import { readFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { constants, gunzipSync, gzip } from "node:zlib";
import { promisify } from "node:util";
import { logStepLine, makeLogHeader, type Command, type Event } from "@c8ylink/core";

const gzipAsync = promisify(gzip);
import type { StepRecorder } from "./driver.js";

export interface RecorderOptions {
  /** Write once this many bytes are pending. Default 64 KiB. */
  readonly flushBytes?: number;
  /** Write pending lines at most this long after the first one. Default 200 ms. */
  readonly flushIntervalMs?: number;
  /** Reports write failures (the recorder keeps going; lines of a failed write are lost). */
  readonly onError?: (error: unknown) => void;
  /**
   * Keep what the file holds and add this life after it, from its own header (default: the
   * file is truncated). A torn last line left by a crash is ended first, so it stays one bad
   * line instead of spoiling the new header.
   */
  readonly append?: boolean;
  /** Compress the file with gzip (default: plain text). */
  readonly gzip?: boolean;
}

/** The text of an event log file, plain or gzip (a torn last gzip member yields what it holds). */
export const readLogFile = (path: string): string => {
  const bytes = readFileSync(path);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes.toString("utf8");
  return gunzipSync(bytes, { finishFlush: constants.Z_SYNC_FLUSH }).toString("utf8");
};

export class Recorder implements StepRecorder {
  private seq = 0;
  private chunks: string[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly flushBytes: number;
  private readonly flushIntervalMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly gzip: boolean;

  private constructor(
    private readonly handle: FileHandle,
    options: RecorderOptions,
  ) {
    this.flushBytes = options.flushBytes ?? 64 * 1024;
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.onError = options.onError ?? ((e) => console.error("c8ylink recorder:", e));
    this.gzip = options.gzip === true;
  }

  /**
   * Creates (or truncates, or with `append` extends) `path` and writes the header.
   * @param configInput the configuration as the application gave it (redacted here)
   * @param engineVersion free text identifying the code that produced the log
   * @param seed the PRNG seed the engine runs with (the decoded `config.seed`)
   */
  static async create(
    path: string,
    configInput: unknown,
    engineVersion: string,
    seed: number,
    options: RecorderOptions = {},
  ): Promise<Recorder> {
    // 0600: the log holds device data even though secrets are redacted.
    const handle = await open(path, options.append === true ? "a+" : "w", 0o600);
    await handle.chmod(0o600);
    const recorder = new Recorder(handle, options);
    if (options.append === true && options.gzip !== true && !(await endsWithNewline(handle)))
      recorder.push("");
    recorder.push(JSON.stringify(makeLogHeader(configInput, engineVersion, seed)));
    return recorder;
  }

  /** Steps recorded so far. */
  get steps(): number {
    return this.seq;
  }

  record(event: Event, commands: readonly Command[]): void {
    if (this.closed) return;
    this.seq++;
    this.push(logStepLine(this.seq, event, commands));
  }

  private push(line: string): void {
    const text = `${line}\n`;
    this.chunks.push(text);
    this.pendingBytes += text.length;
    if (this.pendingBytes >= this.flushBytes) void this.flush();
    else if (this.timer === null) {
      this.timer = setTimeout(() => void this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Writes every pending line; resolves when they are in the file (not fsynced). */
  flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.chunks.length > 0) {
      const text = this.chunks.join("");
      this.chunks = [];
      this.pendingBytes = 0;
      this.writing = this.writing.then(async () => {
        try {
          if (this.gzip) await this.handle.write(await gzipAsync(text));
          else await this.handle.write(text);
        } catch (e) {
          this.onError(e);
        }
      });
    }
    return this.writing;
  }

  /** Flushes, fsyncs and closes the file. Later `record` calls are ignored. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    try {
      await this.handle.sync();
    } finally {
      await this.handle.close();
    }
  }
}

/** Whether the file is empty or its last byte is a newline. */
const endsWithNewline = async (handle: FileHandle): Promise<boolean> => {
  const { size } = await handle.stat();
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  await handle.read(last, 0, 1, size - 1);
  return last[0] === 0x0a;
};
