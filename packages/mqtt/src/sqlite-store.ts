/**
 * Crash-safe storage of the engine's durable records in one SQLite database,
 * `<dir>/store.db` (mode 0600; SQLite gives its `-wal` and `-shm` files the same mode),
 * through better-sqlite3.
 *
 * - Write-ahead log with `synchronous=FULL`: a transaction is durable when its commit
 *   returns (the WAL is fsynced at every commit). `fsync: false` sets `synchronous=OFF`.
 * - One transaction per group of batches: `apply` queues its batch and the queue is written
 *   in the next macrotask as one transaction (group commit, one fsync for all batches
 *   queued meanwhile). A batch is atomic, credentials included (no second file).
 * - Outbox rows (`outbox/<12-digit ref>`) live in their own table keyed by ref, with their
 *   class, so the outbox can be read a class at a time in ref order (`loadOutbox`) and
 *   counted without reading the rows (`outboxStats`). Every other record is one row of
 *   `records`. Values are stored as JSON text and never interpreted otherwise.
 * - SQLite reclaims deleted rows' pages itself: no compaction, no snapshot rewrite.
 *
 * Loading never throws for bad content: a record whose JSON cannot be parsed is reported
 * through `onProblem` and skipped. I/O errors (disk full, permissions) reject the batch,
 * and the core reports them as `persist-failed`; the store goes on with later batches.
 *
 * Migration: a state directory written by the `FileStore` (`snapshot.json`, `store.log`,
 * `credentials.json`) is imported at the first `load()` in one transaction, which also
 * records that the import happened; only then are the old files removed. A crash in
 * between leaves files that the next `load()` removes without importing them again.
 */
import { createRequire } from "node:module";
import { existsSync, mkdirSync, closeSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { DurableChange } from "@c8ylink/core";
import { CREDENTIALS_FILE, FileStore, LOG_FILE, SNAPSHOT_FILE, type StoreProblem } from "./file-store.js";
import type { OutboxStats, PagedLoad, Storage } from "./storage.js";

export const DB_FILE = "store.db";

export interface SqliteStoreOptions {
  /** Called for every unreadable record found by `load()` (and by a file-store import). */
  readonly onProblem?: (problem: StoreProblem) => void;
  /** fsync at every commit (default true). Turning it off trades crash safety for speed. */
  readonly fsync?: boolean;
  /** Instrumentation for tests: called with each group's SQL work before it runs; may throw. */
  readonly beforeCommit?: (batches: number) => void;
}

const OUTBOX_KEY = /^outbox\/(\d{12})$/;
const IMPORTED = "imported-file-store";

const requireCjs = createRequire(import.meta.url);

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The class of an outbox value, when it has one (the core's `OutboxEntry.cls`). */
const classOf = (value: unknown): string | null => {
  const cls = (value as { cls?: unknown } | null)?.cls;
  return typeof cls === "string" ? cls : null;
};

const bytesOf = (value: unknown): number => {
  const bytes = (value as { bytes?: unknown } | null)?.bytes;
  return typeof bytes === "number" && Number.isFinite(bytes) ? bytes : 0;
};

interface Pending {
  readonly changes: readonly DurableChange[];
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

interface Statements {
  readonly putRecord: BetterSqlite3.Statement<[string, string]>;
  readonly deleteRecord: BetterSqlite3.Statement<[string]>;
  readonly putOutbox: BetterSqlite3.Statement<[number, string | null, number, string]>;
  readonly deleteOutbox: BetterSqlite3.Statement<[number]>;
}

export class SqliteStore implements Storage {
  private readonly onProblem: (problem: StoreProblem) => void;
  private readonly fsync: boolean;
  private readonly beforeCommit: (batches: number) => void;
  private db: BetterSqlite3.Database | null = null;
  private statements: Statements | null = null;
  private pending: Pending[] = [];
  private scheduled = false;
  private closed = false;
  private idle: Promise<void> = Promise.resolve();
  private signalIdle: () => void = () => {};

  /** Transactions committed since `load()` (for tests and diagnostics). */
  commits = 0;

  constructor(
    readonly dir: string,
    options: SqliteStoreOptions = {},
  ) {
    this.onProblem = options.onProblem ?? (() => {});
    this.fsync = options.fsync ?? true;
    this.beforeCommit = options.beforeCommit ?? (() => {});
  }

  /** Opens (creating if needed) the database, imports a file store, and returns every record. */
  async load(): Promise<Record<string, unknown>> {
    const db = await this.open();
    const result: Record<string, unknown> = {};
    for (const row of db.prepare("SELECT key, value FROM records").iterate() as Iterable<{
      key: string;
      value: string;
    }>) {
      const value = this.parse(row.value, row.key);
      if (value !== undefined) result[row.key] = value;
    }
    for (const row of db.prepare("SELECT ref, value FROM outbox ORDER BY ref").iterate() as Iterable<{
      ref: number;
      value: string;
    }>) {
      const key = outboxKey(row.ref);
      const value = this.parse(row.value, key);
      if (value !== undefined) result[key] = value;
    }
    return result;
  }

  /** Up to `max` outbox values of class `cls` with a ref above `afterRef`, in ref order. */
  loadOutbox(cls: string, afterRef: number, max: number): Promise<unknown[]> {
    const db = this.db;
    if (db === null) return Promise.reject(new Error("SqliteStore: load() first"));
    // Batches applied before are queued for the next commit: a read must see them.
    if (this.pending.length > 0) return this.idle.then(() => this.loadOutbox(cls, afterRef, max));
    const rows = db
      .prepare("SELECT ref, value FROM outbox WHERE cls = ? AND ref > ? ORDER BY ref LIMIT ?")
      .all(cls, afterRef, max) as { ref: number; value: string }[];
    const out: unknown[] = [];
    for (const row of rows) {
      const value = this.parse(row.value, outboxKey(row.ref));
      if (value !== undefined) out.push(value);
    }
    return Promise.resolve(out);
  }

  /**
   * Every record, but at most `memoryRows` outbox rows of each class (every operation status
   * and every row without a class), with what the store holds beyond them per class.
   */
  async loadPaged(memoryRows: number): Promise<PagedLoad> {
    const db = await this.open();
    const records: Record<string, unknown> = {};
    for (const row of db.prepare("SELECT key, value FROM records").iterate() as Iterable<{
      key: string;
      value: string;
    }>) {
      const value = this.parse(row.value, row.key);
      if (value !== undefined) records[row.key] = value;
    }
    const outboxStored: Record<string, OutboxStats> = {};
    const classes = db.prepare("SELECT DISTINCT cls FROM outbox").all() as { cls: string | null }[];
    for (const { cls } of classes) {
      const all = cls === null || cls === "operation-status";
      const rows = (
        cls === null
          ? db.prepare("SELECT ref, value FROM outbox WHERE cls IS NULL ORDER BY ref").all()
          : db
              .prepare("SELECT ref, value FROM outbox WHERE cls = ? ORDER BY ref LIMIT ?")
              .all(cls, all ? -1 : memoryRows)
      ) as { ref: number; value: string }[];
      let lastRef = 0;
      for (const row of rows) {
        const key = outboxKey(row.ref);
        const value = this.parse(row.value, key);
        if (value !== undefined) records[key] = value;
        lastRef = row.ref;
      }
      if (all || cls === null) continue;
      const rest = db
        .prepare(
          "SELECT count(*) AS count, sum(bytes) AS bytes, max(ref) AS lastRef FROM outbox WHERE cls = ? AND ref > ?",
        )
        .get(cls, lastRef) as { count: number; bytes: number | null; lastRef: number | null };
      if (rest.count > 0)
        outboxStored[cls] = { count: rest.count, bytes: rest.bytes ?? 0, lastRef: rest.lastRef ?? 0 };
    }
    return { records, outboxStored };
  }

  /** Count and bytes of the stored outbox rows per class. */
  outboxStats(): Promise<Record<string, OutboxStats>> {
    const db = this.db;
    if (db === null) return Promise.reject(new Error("SqliteStore: load() first"));
    const out: Record<string, OutboxStats> = {};
    const rows = db
      .prepare(
        "SELECT cls, count(*) AS count, sum(bytes) AS bytes, max(ref) AS lastRef FROM outbox GROUP BY cls",
      )
      .all() as { cls: string | null; count: number; bytes: number; lastRef: number }[];
    for (const r of rows)
      if (r.cls !== null) out[r.cls] = { count: r.count, bytes: r.bytes, lastRef: r.lastRef };
    return Promise.resolve(out);
  }

  private parse(text: string, key: string): unknown {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      this.onProblem({ file: DB_FILE, reason: `record ${key}: corrupt JSON ignored (${errorText(e)})` });
      return undefined;
    }
  }

  private async open(): Promise<BetterSqlite3.Database> {
    if (this.db !== null) throw new Error("SqliteStore.load() called twice");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, DB_FILE);
    // Created 0600 before SQLite opens it; SQLite creates its -wal/-shm files with this mode.
    closeSync(openSync(path, "a", 0o600));
    const Database = requireCjs("better-sqlite3") as typeof BetterSqlite3;
    const db = new Database(path);
    try {
      db.pragma("journal_mode = WAL");
      db.pragma(`synchronous = ${this.fsync ? "FULL" : "OFF"}`);
      db.exec(
        "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;" +
          "CREATE TABLE IF NOT EXISTS outbox (ref INTEGER PRIMARY KEY, cls TEXT, bytes INTEGER NOT NULL, value TEXT NOT NULL);" +
          "CREATE INDEX IF NOT EXISTS outbox_by_class ON outbox (cls, ref);" +
          "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;",
      );
    } catch (e) {
      db.close();
      throw e;
    }
    this.db = db;
    this.statements = {
      putRecord: db.prepare("INSERT OR REPLACE INTO records (key, value) VALUES (?, ?)"),
      deleteRecord: db.prepare("DELETE FROM records WHERE key = ?"),
      putOutbox: db.prepare("INSERT OR REPLACE INTO outbox (ref, cls, bytes, value) VALUES (?, ?, ?, ?)"),
      deleteOutbox: db.prepare("DELETE FROM outbox WHERE ref = ?"),
    };
    await this.importFileStore(db);
    return db;
  }

  private async importFileStore(db: BetterSqlite3.Database): Promise<void> {
    const oldFiles = [CREDENTIALS_FILE, SNAPSHOT_FILE, LOG_FILE].map((f) => join(this.dir, f));
    if (!oldFiles.some((f) => existsSync(f))) return;
    const done = db.prepare("SELECT value FROM meta WHERE key = ?").get(IMPORTED) !== undefined;
    if (!done) {
      const files = new FileStore(this.dir, { onProblem: this.onProblem });
      const records = await files.load();
      await files.close();
      const changes = Object.entries(records).map(([key, value]) => ({ key, value }));
      db.transaction(() => {
        this.write(changes);
        db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)").run(IMPORTED, String(changes.length));
      })();
    }
    for (const f of [...oldFiles, ...oldFiles.map((f) => `${f}.tmp`)]) rmSync(f, { force: true });
  }

  private write(changes: readonly DurableChange[]): void {
    const s = this.statements;
    if (s === null) throw new Error("SqliteStore: not open");
    for (const { key, value } of changes) {
      const outbox = OUTBOX_KEY.exec(key);
      if (outbox !== null) {
        const ref = Number(outbox[1]);
        if (value === null) s.deleteOutbox.run(ref);
        else s.putOutbox.run(ref, classOf(value), bytesOf(value), JSON.stringify(value));
      } else if (value === null) {
        s.deleteRecord.run(key);
      } else {
        s.putRecord.run(key, JSON.stringify(value));
      }
    }
  }

  apply(changes: readonly DurableChange[]): Promise<void> {
    if (this.db === null) return Promise.reject(new Error("SqliteStore: load() first"));
    if (this.closed) return Promise.reject(new Error("SqliteStore is closed"));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ changes, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        this.idle = new Promise((done) => (this.signalIdle = done));
        setImmediate(() => this.commit());
      }
    });
  }

  /** Writes every queued batch in one transaction; on failure each batch is retried alone. */
  private commit(): void {
    const group = this.pending;
    this.pending = [];
    this.scheduled = false;
    const db = this.db;
    try {
      if (db === null) throw new Error("SqliteStore is closed");
      this.beforeCommit(group.length);
      db.transaction(() => {
        for (const p of group) this.write(p.changes);
      })();
      this.commits++;
      for (const p of group) p.resolve();
    } catch (e) {
      // One bad batch must not take the others of its group down with it.
      if (group.length === 1 || db === null) for (const p of group) p.reject(e);
      else for (const p of group) this.commitAlone(db, p);
    }
    if (!this.scheduled) this.signalIdle();
  }

  private commitAlone(db: BetterSqlite3.Database, p: Pending): void {
    try {
      this.beforeCommit(1);
      db.transaction(() => this.write(p.changes))();
      this.commits++;
      p.resolve();
    } catch (e) {
      p.reject(e);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.idle;
    this.db?.close();
    this.db = null;
    this.statements = null;
  }
}

const outboxKey = (ref: number): string => `outbox/${String(ref).padStart(12, "0")}`;
