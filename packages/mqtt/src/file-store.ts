/**
 * Crash-safe file storage for the engine's durable records, in one state directory:
 *
 * - `credentials.json` — the `credentials` record alone, mode 0600, replaced atomically
 *   (write `credentials.json.tmp`, fsync, rename, fsync the directory); deleted when the
 *   core deletes the record.
 * - `snapshot.json` — every other record as of the last compaction (same atomic replace).
 * - `store.log` — append-only JSON Lines, one line per change batch since the snapshot:
 *   `{"changes":[{"key":…,"value":…},…]}`, fsynced once per write (batches queued while an
 *   fsync is running are written together and share the next fsync: group commit).
 *
 * Compaction: when `store.log` grows beyond `compactAtBytes` and beyond the last snapshot
 * (so rewriting the live records costs no more than the log bytes appended since: amortized
 * O(1) per byte written, however large the backlog), the current records are written
 * to a new snapshot (temp, fsync, rename, fsync dir) and only then is the log truncated. A
 * crash between the two leaves a snapshot that already contains some logged batches;
 * replaying them again is harmless because every change sets or deletes a whole record.
 *
 * Loading never throws for bad content: a truncated last line (a crash in the middle of an
 * append), a corrupt line or an unreadable file is reported through `onProblem` and skipped,
 * and the store starts from what is readable. If the log had such a problem it is compacted
 * right away, so the next append never lands behind a torn line. I/O errors (permissions,
 * disk full) do reject, and the core reports them as `persist-failed`.
 *
 * Atomicity: one batch is atomic within its file. A batch that changes `credentials` and
 * other records touches two files; the log line is written first, then the credentials file.
 */
import * as nodeFs from "node:fs/promises";
import { join } from "node:path";
import type { DurableChange } from "@c8ylink/core";
import { OutboxIndex } from "./outbox-index.js";
import type { Storage } from "./storage.js";

/** Something unreadable found while loading. The store carries on without it. */
export interface StoreProblem {
  readonly file: string;
  /** 1-based line number in `store.log`, when the problem is one line. */
  readonly line?: number;
  readonly reason: string;
}

/** The part of an open file the store uses (a subset of node's `FileHandle`). */
export interface StoreFileHandle {
  write(buffer: Uint8Array, offset: number, length: number): Promise<unknown>;
  writeFile(data: string, encoding: "utf8"): Promise<void>;
  chmod(mode: number): Promise<void>;
  datasync(): Promise<void>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ readonly size: number }>;
  close(): Promise<void>;
}

/**
 * The file-system calls the store makes (a subset of `node:fs/promises`, the default).
 * Injectable so tests can observe every fsync and make writes fail (ENOSPC, EACCES).
 */
export interface StoreFs {
  open(path: string, flags: "a" | "w" | "r", mode?: number): Promise<StoreFileHandle>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  readFile(path: string, encoding: "utf8"): Promise<string>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string, options: { force: true }): Promise<void>;
}

export interface FileStoreOptions {
  /** Compact when `store.log` exceeds this many bytes. Default 4 MiB. */
  readonly compactAtBytes?: number;
  /** Called for every unreadable file or line found by `load()`. */
  readonly onProblem?: (problem: StoreProblem) => void;
  /** fsync after writes (default true). Turning it off trades crash safety for speed. */
  readonly fsync?: boolean;
  /** The file system (default `node:fs/promises`). */
  readonly fs?: StoreFs;
}

export const CREDENTIALS_KEY = "credentials";
export const CREDENTIALS_FILE = "credentials.json";
export const SNAPSHOT_FILE = "snapshot.json";
export const LOG_FILE = "store.log";

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

const isMissing = (e: unknown): boolean =>
  typeof e === "object" && e !== null && (e as { code?: unknown }).code === "ENOENT";

interface PendingBatch {
  readonly line: string;
  readonly others: readonly DurableChange[];
  readonly credentials: DurableChange | undefined;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export class FileStore implements Storage {
  private readonly compactAtBytes: number;
  private readonly onProblem: (problem: StoreProblem) => void;
  private readonly fsync: boolean;
  private readonly fs: StoreFs;
  /** Every record except the credentials, as applied so far (what a compaction writes). */
  private readonly records = new Map<string, unknown>();
  private log: StoreFileHandle | null = null;
  private logBytes = 0;
  /** Size of the last snapshot written: compaction waits until the log outgrows it. */
  private snapshotBytes = 0;
  private pending: PendingBatch[] = [];
  private writing = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private signalIdle: () => void = () => {};

  /** Compactions performed since `load()` (for tests and diagnostics). */
  compactions = 0;

  constructor(
    readonly dir: string,
    options: FileStoreOptions = {},
  ) {
    this.compactAtBytes = options.compactAtBytes ?? 4 * 1024 * 1024;
    this.onProblem = options.onProblem ?? (() => {});
    this.fsync = options.fsync ?? true;
    this.fs = options.fs ?? nodeFs;
  }

  private path(file: string): string {
    return join(this.dir, file);
  }

  async load(): Promise<Record<string, unknown>> {
    if (this.log !== null) throw new Error("FileStore.load() called twice");
    await this.fs.mkdir(this.dir, { recursive: true, mode: DIR_MODE });
    const result: Record<string, unknown> = {};

    const credentials = await this.readJson(CREDENTIALS_FILE);
    if (credentials !== undefined) result[CREDENTIALS_KEY] = credentials;

    const snapshot = await this.readJson(SNAPSHOT_FILE);
    if (snapshot !== undefined) {
      if (typeof snapshot === "object" && snapshot !== null && !Array.isArray(snapshot)) {
        for (const [k, v] of Object.entries(snapshot as Record<string, unknown>)) {
          this.records.set(k, v);
          this.outbox.change(k, v);
        }
      } else {
        this.onProblem({ file: SNAPSHOT_FILE, reason: "not a JSON object" });
      }
    }

    let logText = "";
    try {
      logText = await this.fs.readFile(this.path(LOG_FILE), "utf8");
    } catch (e) {
      if (!isMissing(e)) this.onProblem({ file: LOG_FILE, reason: `unreadable: ${errorText(e)}` });
    }
    let damaged = false;
    const lines = logText.split("\n");
    lines.forEach((raw, index) => {
      if (raw === "") return;
      const last = index === lines.length - 1; // no newline after it: the append did not finish
      const changes = parseBatch(raw);
      if (typeof changes === "string") {
        damaged = true;
        this.onProblem({
          file: LOG_FILE,
          line: index + 1,
          reason: last ? `truncated last line skipped (${changes})` : `corrupt line skipped (${changes})`,
        });
        return;
      }
      if (last) {
        // Complete JSON but no newline: the newline write was lost. Keep it; rewrite the log.
        damaged = true;
      }
      this.applyToRecords(changes);
    });
    for (const [k, v] of this.records) result[k] = v;

    this.log = await this.fs.open(this.path(LOG_FILE), "a", FILE_MODE);
    this.logBytes = (await this.log.stat()).size;
    if (damaged) await this.compact();
    return result;
  }

  private async readJson(file: string): Promise<unknown> {
    let text: string;
    try {
      text = await this.fs.readFile(this.path(file), "utf8");
    } catch (e) {
      if (!isMissing(e)) this.onProblem({ file, reason: `unreadable: ${errorText(e)}` });
      return undefined;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      this.onProblem({ file, reason: `corrupt JSON ignored (${errorText(e)})` });
      return undefined;
    }
  }

  /** Outbox rows by class, for `loadOutbox` (paging). */
  private readonly outbox = new OutboxIndex();

  loadOutbox(cls: string, afterRef: number, max: number): Promise<unknown[]> {
    // Waits for the writes issued before (the index follows written batches only).
    return this.idle.then(() => this.outbox.load(cls, afterRef, max));
  }

  private applyToRecords(changes: readonly DurableChange[]): void {
    for (const { key, value } of changes) {
      if (key === CREDENTIALS_KEY) continue;
      this.outbox.change(key, value);
      if (value === null) this.records.delete(key);
      else this.records.set(key, value);
    }
  }

  apply(changes: readonly DurableChange[]): Promise<void> {
    if (this.log === null) return Promise.reject(new Error("FileStore: load() first"));
    if (this.closed) return Promise.reject(new Error("FileStore is closed"));
    const others = changes.filter((c) => c.key !== CREDENTIALS_KEY);
    // The last credentials change of the batch wins.
    const credentials = [...changes].reverse().find((c) => c.key === CREDENTIALS_KEY);
    // Serialize now: the caller may not mutate values later, but we never rely on it.
    const line = others.length === 0 ? "" : `${JSON.stringify({ changes: others })}\n`;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, others, credentials, resolve, reject });
      if (!this.writing) void this.writeLoop();
    });
  }

  /** Group commit: drains `pending` in order, one fsync per write of consecutive log batches. */
  private async writeLoop(): Promise<void> {
    this.writing = true;
    this.idle = new Promise((resolve) => (this.signalIdle = resolve));
    try {
      while (this.pending.length > 0) {
        // Take consecutive batches up to and including the first one that touches credentials.
        const cut = this.pending.findIndex((p) => p.credentials !== undefined);
        const group = this.pending.splice(0, cut === -1 ? this.pending.length : cut + 1);
        try {
          const text = group.map((p) => p.line).join("");
          if (text !== "") await this.append(text);
          const creds = group[group.length - 1]?.credentials;
          if (creds !== undefined) await this.writeCredentials(creds.value);
          // The core never mutates what it emitted: apply the change objects themselves.
          for (const p of group) this.applyToRecords(p.others);
          if (this.logBytes > this.compactAtBytes && this.logBytes > this.snapshotBytes) await this.compact();
          for (const p of group) p.resolve();
        } catch (e) {
          for (const p of group) p.reject(e);
        }
      }
    } finally {
      this.writing = false;
      this.signalIdle();
    }
  }

  private async append(text: string): Promise<void> {
    const log = this.log;
    if (log === null) throw new Error("FileStore: log not open");
    const bytes = Buffer.from(text, "utf8");
    await log.write(bytes, 0, bytes.length);
    if (this.fsync) await log.datasync();
    this.logBytes += bytes.length;
  }

  private async writeCredentials(value: unknown): Promise<void> {
    const target = this.path(CREDENTIALS_FILE);
    if (value === null) {
      await this.fs.rm(target, { force: true });
    } else {
      await this.writeAtomically(CREDENTIALS_FILE, JSON.stringify(value));
    }
    await this.syncDir();
  }

  /** temp file (0600) → write → fsync → rename over the target. The caller syncs the directory. */
  private async writeAtomically(file: string, text: string): Promise<void> {
    const tmp = this.path(`${file}.tmp`);
    const handle = await this.fs.open(tmp, "w", FILE_MODE);
    try {
      await handle.writeFile(text, "utf8");
      await handle.chmod(FILE_MODE); // an old temp file may have had another mode
      if (this.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    await this.fs.rename(tmp, this.path(file));
  }

  private async syncDir(): Promise<void> {
    if (!this.fsync) return;
    const dir = await this.fs.open(this.dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /** Snapshot every record, then truncate the log (see the file header for the crash argument). */
  private async compact(): Promise<void> {
    const log = this.log;
    if (log === null) return;
    const snapshot = JSON.stringify(Object.fromEntries(this.records));
    await this.writeAtomically(SNAPSHOT_FILE, snapshot);
    this.snapshotBytes = Buffer.byteLength(snapshot, "utf8");
    await this.syncDir();
    await log.truncate(0);
    if (this.fsync) await log.sync();
    this.logBytes = 0;
    this.compactions++;
  }

  /** Size of `store.log` in bytes, as written by this store. */
  get logSize(): number {
    return this.logBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.idle;
    await this.log?.close();
    this.log = null;
  }
}

/** Parses one log line into its changes, or returns why it cannot. */
const parseBatch = (raw: string): DurableChange[] | string => {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    return `not JSON: ${errorText(e)}`;
  }
  const changes = (json as { changes?: unknown } | null)?.changes;
  if (!Array.isArray(changes)) return "no changes array";
  const out: DurableChange[] = [];
  for (const c of changes as unknown[]) {
    if (typeof c !== "object" || c === null || typeof (c as { key?: unknown }).key !== "string") {
      return "change without a string key";
    }
    const { key, value } = c as { key: string; value?: unknown };
    out.push({ key, value: value === undefined ? null : value });
  }
  return out;
};
