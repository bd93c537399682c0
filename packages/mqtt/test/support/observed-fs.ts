/**
 * A `StoreFs` over the real file system that records every call the FileStore makes (so tests
 * can count fsyncs per batch and see their order) and can make chosen calls fail with a
 * system error code (ENOSPC, EACCES, …) or hold a call until the test releases it.
 */
import * as fs from "node:fs/promises";
import { basename } from "node:path";
import type { StoreFileHandle, StoreFs } from "../../src/index.js";

export type FsOp =
  | "open"
  | "mkdir"
  | "readFile"
  | "rename"
  | "rm"
  | "write"
  | "writeFile"
  | "chmod"
  | "datasync"
  | "sync"
  | "truncate"
  | "close";

/** One call, with the base name of the file it was about (the directory's for a directory). */
export interface FsCall {
  readonly op: FsOp;
  readonly file: string;
}

interface Rule {
  readonly op: FsOp;
  readonly file: RegExp;
  readonly action: (call: FsCall) => Promise<void>;
  remaining: number;
}

const systemError = (code: string, call: FsCall): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: injected failure, ${call.op} '${call.file}'`), { code });

export class ObservedFs implements StoreFs {
  readonly calls: FsCall[] = [];
  private readonly rules: Rule[] = [];

  /** The next `times` calls of `op` on a file matching `file` fail with `code`. */
  fail(op: FsOp, code: string, file: RegExp = /.*/, times = 1): void {
    this.rules.push({
      op,
      file,
      remaining: times,
      action: (call) => Promise.reject(systemError(code, call)),
    });
  }

  /** The next call of `op` on `file` waits; resolve the returned function to let it go on. */
  hold(op: FsOp, file: RegExp = /.*/): () => void {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.rules.push({ op, file, remaining: 1, action: () => gate });
    return () => release();
  }

  count(op: FsOp, file?: string): number {
    return this.calls.filter((c) => c.op === op && (file === undefined || c.file === file)).length;
  }

  /** fsync-family calls (datasync or sync), in order, as "op file". */
  syncs(): string[] {
    return this.calls.filter((c) => c.op === "datasync" || c.op === "sync").map((c) => `${c.op} ${c.file}`);
  }

  reset(): void {
    this.calls.length = 0;
  }

  private async enter(op: FsOp, path: string): Promise<void> {
    const call = { op, file: basename(path) };
    this.calls.push(call);
    const rule = this.rules.find((r) => r.op === op && r.remaining > 0 && r.file.test(call.file));
    if (rule === undefined) return;
    rule.remaining--;
    await rule.action(call);
  }

  async open(path: string, flags: "a" | "w" | "r", mode?: number): Promise<StoreFileHandle> {
    await this.enter("open", path);
    const handle = await fs.open(path, flags, mode);
    const on = async <T>(op: FsOp, run: () => Promise<T>): Promise<T> => {
      await this.enter(op, path);
      return run();
    };
    return {
      write: (buffer, offset, length) => on("write", () => handle.write(buffer, offset, length)),
      writeFile: (data, encoding) => on("writeFile", () => handle.writeFile(data, encoding)),
      chmod: (m) => on("chmod", () => handle.chmod(m)),
      datasync: () => on("datasync", () => handle.datasync()),
      sync: () => on("sync", () => handle.sync()),
      truncate: (length) => on("truncate", () => handle.truncate(length)),
      stat: () => handle.stat(),
      // Closing always closes, whatever the rules say: no file descriptor leaks from tests.
      close: async () => {
        this.calls.push({ op: "close", file: basename(path) });
        await handle.close();
      },
    };
  }

  async mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown> {
    await this.enter("mkdir", path);
    return fs.mkdir(path, options);
  }

  async readFile(path: string, encoding: "utf8"): Promise<string> {
    await this.enter("readFile", path);
    return fs.readFile(path, encoding);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.enter("rename", from);
    return fs.rename(from, to);
  }

  async rm(path: string, options: { force: true }): Promise<void> {
    await this.enter("rm", path);
    return fs.rm(path, options);
  }
}
