/**
 * Crash-safe storage of the engine's durable records in one SQLite database,
 * `<dir>/store.db` (mode 0600; SQLite gives its `-wal` and `-shm` files the same mode),
 * through better-sqlite3.
 *
 * - Write-ahead log with `synchronous=NORMAL`, and the WAL file fsynced by the store itself,
 *   off the event loop (libuv's thread pool): a commit writes its frames into the WAL, then
 *   an `fsync` of the WAL makes them durable, and only then do the commit's batches resolve.
 *   better-sqlite3 is synchronous: with `synchronous=FULL` every commit blocked the whole
 *   process (MQTT I/O included) for the length of an fsync. Checkpoints stay SQLite's: under
 *   NORMAL it syncs the WAL before and the database after each one, so frames that left the
 *   WAL are durable in the database. `fsync: false` sets `synchronous=OFF` and syncs nothing.
 * - One transaction per group of batches: `apply` queues its batch and the queue is written
 *   in the next macrotask as one transaction (group commit); commits made while an fsync
 *   runs share the next one. A batch is atomic, credentials included (no second file).
 * - Outbox rows (`outbox/<12-digit ref>`) live apart from the other records, with their
 *   class, so the outbox can be read a class at a time in ref order (`loadOutbox`) and
 *   counted without reading the rows (`outboxStats`). Runs of plain queued rows (the bulk of
 *   any backlog) are stored as one `outbox_chunks` row per run, their lines joined
 *   (outbox-chunks.ts); any other outbox row is one JSON row of `outbox`. Every other record
 *   is one row of `records`. Values are stored as JSON text and never interpreted otherwise
 *   (chunks excepted, which rebuild exactly the values written).
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
import { closeSync, existsSync, fsync, mkdirSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import type BetterSqlite3 from "better-sqlite3";
import type { DurableChange } from "@c8ylink/core";
import { CREDENTIALS_FILE, FileStore, LOG_FILE, SNAPSHOT_FILE, type StoreProblem } from "./file-store.js";
import {
  CHUNK_BYTES,
  CHUNK_ROWS,
  CHUNKS_SCHEMA,
  OutboxChunks,
  isCompactRow,
  rowsOfChunk,
  type ChunkRecord,
  type CompactRow,
} from "./outbox-chunks.js";
import type { OutboxStats, PagedLoad, Storage } from "./storage.js";

export const DB_FILE = "store.db";

export interface SqliteStoreOptions {
  /** Called for every unreadable record found by `load()` (and by a file-store import). */
  readonly onProblem?: (problem: StoreProblem) => void;
  /** fsync at every commit (default true). Turning it off trades crash safety for speed. */
  readonly fsync?: boolean;
  /** Instrumentation for tests: called with each group's SQL work before it runs; may throw. */
  readonly beforeCommit?: (batches: number) => void;
  /** Instrumentation for tests: replaces the fsync of the WAL file (default: `fs.fsync`). */
  readonly fsyncFd?: (fd: number) => Promise<void>;
}

const fsyncAsync = (fd: number): Promise<void> =>
  new Promise((resolve, reject) => fsync(fd, (e) => (e === null ? resolve() : reject(e))));

const OUTBOX_PREFIX = "outbox/";
const OUTBOX_KEY_LENGTH = OUTBOX_PREFIX.length + 12;

/** The ref of an outbox key (`outbox/` and 12 digits), else -1. Called for every change. */
const outboxRefOf = (key: string): number => {
  if (key.length !== OUTBOX_KEY_LENGTH || !key.startsWith(OUTBOX_PREFIX)) return -1;
  let ref = 0;
  for (let i = OUTBOX_PREFIX.length; i < OUTBOX_KEY_LENGTH; i++) {
    const digit = key.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    ref = ref * 10 + digit;
  }
  return ref;
};
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
  /** Index n: an INSERT of n + 1 outbox rows (a statement run costs more than a row); made on first use. */
  readonly putOutbox: BetterSqlite3.Statement<unknown[]>[];
  readonly deleteOutboxRange: BetterSqlite3.Statement<[number, number]>;
  readonly chunks: OutboxChunks;
}

/** One stored outbox row (or, when `value` is undefined, `rows` unreadable ones), in ref order. */
type OutboxVisitor = (ref: number, bytes: number, value: unknown, rows: number) => void;

interface SingleRow {
  readonly ref: number;
  readonly bytes: number;
  readonly value: string;
}

/** WAL pages (4 KiB each, SQLite's default page size) between automatic checkpoints. */
const WAL_CHECKPOINT_PAGES = 8192;

/** Outbox rows per multi-row INSERT (4 parameters each, far below SQLite's limit of 32,766). */
const PUT_ROWS = 64;

export class SqliteStore implements Storage {
  private readonly onProblem: (problem: StoreProblem) => void;
  private readonly fsync: boolean;
  private readonly beforeCommit: (batches: number) => void;
  private readonly fsyncFd: (fd: number) => Promise<void>;
  /** The WAL file, opened after the first commit (SQLite creates it on the first write). */
  private walFd: number | null = null;
  /** The last fsync issued, and one queued behind it that has not started (shared by commits). */
  private syncTail: Promise<void> = Promise.resolve();
  private syncQueued: Promise<void> | null = null;
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
    this.fsyncFd = options.fsyncFd ?? fsyncAsync;
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
    this.visitOutbox(undefined, 0, -1, (ref, _bytes, value) => {
      if (value !== undefined) result[outboxKey(ref)] = value;
    });
    return result;
  }

  /** Up to `max` outbox values of class `cls` with a ref above `afterRef`, in ref order. */
  loadOutbox(cls: string, afterRef: number, max: number): Promise<unknown[]> {
    const db = this.db;
    if (db === null) return Promise.reject(new Error("SqliteStore: load() first"));
    // Batches applied before are queued for the next commit: a read must see them.
    if (this.pending.length > 0) return this.idle.then(() => this.loadOutbox(cls, afterRef, max));
    const out: unknown[] = [];
    this.visitOutbox(cls, afterRef, max, (_ref, _bytes, value) => {
      if (value !== undefined) out.push(value);
    });
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
    const stats = this.classStats();
    const classes = db.prepare("SELECT DISTINCT cls FROM outbox").all() as { cls: string | null }[];
    for (const cls of new Set([...classes.map((c) => c.cls), ...stats.keys()])) {
      const all = cls === null || cls === "operation-status";
      let readRows = 0;
      let readBytes = 0;
      this.visitOutbox(cls, 0, all ? -1 : memoryRows, (ref, bytes, value, rows) => {
        if (value !== undefined) records[outboxKey(ref)] = value;
        readRows += rows;
        readBytes += bytes;
      });
      if (all || cls === null) continue;
      // What the store holds beyond the rows just read (those come first in ref order).
      const total = stats.get(cls);
      if (total !== undefined && total.count > readRows)
        outboxStored[cls] = {
          count: total.count - readRows,
          bytes: total.bytes - readBytes,
          lastRef: total.lastRef,
        };
    }
    return { records, outboxStored };
  }

  /** Count and bytes of the stored outbox rows per class. */
  outboxStats(): Promise<Record<string, OutboxStats>> {
    const db = this.db;
    if (db === null) return Promise.reject(new Error("SqliteStore: load() first"));
    // Batches applied before are queued for the next commit: the counts must include them.
    if (this.pending.length > 0) return this.idle.then(() => this.outboxStats());
    return Promise.resolve(Object.fromEntries(this.classStats()));
  }

  /** Count, bytes and last ref of the stored outbox rows of each class (rows without a class left out). */
  private classStats(): Map<string, OutboxStats> {
    const db = this.db;
    if (db === null) throw new Error("SqliteStore: load() first");
    const out = new Map<string, OutboxStats>();
    const rows = db
      .prepare(
        "SELECT cls, count(*) AS count, sum(bytes) AS bytes, max(ref) AS lastRef FROM outbox WHERE cls IS NOT NULL GROUP BY cls " +
          "UNION ALL SELECT cls, sum(last - ref + 1), sum(bytes), max(last) FROM outbox_chunks GROUP BY cls",
      )
      .all() as { cls: string; count: number; bytes: number | null; lastRef: number }[];
    for (const r of rows) {
      const seen = out.get(r.cls);
      out.set(r.cls, {
        count: (seen?.count ?? 0) + r.count,
        bytes: (seen?.bytes ?? 0) + (r.bytes ?? 0),
        lastRef: Math.max(seen?.lastRef ?? 0, r.lastRef),
      });
    }
    return out;
  }

  /**
   * Visits the stored outbox rows above `afterRef` in ref order, at most `max` (-1: all):
   * of class `cls`, of every class (`undefined`), or those without a class (`null`). The JSON
   * rows and the chunks are merged; an unreadable row or chunk is reported and visited
   * without a value.
   */
  private visitOutbox(
    cls: string | null | undefined,
    afterRef: number,
    max: number,
    visit: OutboxVisitor,
  ): void {
    const db = this.db;
    if (db === null) throw new Error("SqliteStore: load() first");
    const singles = (
      cls === undefined
        ? db.prepare("SELECT ref, bytes, value FROM outbox WHERE ref > ? ORDER BY ref").iterate(afterRef)
        : cls === null
          ? db
              .prepare("SELECT ref, bytes, value FROM outbox WHERE cls IS NULL AND ref > ? ORDER BY ref")
              .iterate(afterRef)
          : db
              .prepare("SELECT ref, bytes, value FROM outbox WHERE cls = ? AND ref > ? ORDER BY ref")
              .iterate(cls, afterRef)
    ) as IterableIterator<SingleRow>;
    const columns = "SELECT ref, last, cls, topic, template, bytes, lines FROM outbox_chunks";
    const chunks = (
      cls === undefined
        ? db.prepare(`${columns} WHERE last > ? ORDER BY ref`).iterate(afterRef)
        : cls === null
          ? [][Symbol.iterator]()
          : db.prepare(`${columns} WHERE cls = ? AND last > ? ORDER BY last`).iterate(cls, afterRef)
    ) as IterableIterator<ChunkRecord>;
    try {
      let single = nextOf(singles);
      let chunk = nextOf(chunks);
      let rows: CompactRow[] | null = null;
      let at = 0;
      let visited = 0;
      while (max < 0 || visited < max) {
        if (chunk !== undefined && rows === null) {
          rows = rowsOfChunk(chunk);
          if (rows === null) {
            this.onProblem({
              file: DB_FILE,
              reason: `outbox chunk ${chunk.ref}..${chunk.last}: its lines do not match its refs, ignored`,
            });
            const count = chunk.last - chunk.ref + 1;
            visit(chunk.last, chunk.bytes, undefined, count);
            visited += count;
            chunk = nextOf(chunks);
            continue;
          }
          at = Math.max(0, afterRef + 1 - chunk.ref);
        }
        if (single === undefined && rows === null) break;
        if (single !== undefined && (rows === null || single.ref < rows[at]!.ref)) {
          visit(single.ref, single.bytes, this.parse(single.value, outboxKey(single.ref)), 1);
          single = nextOf(singles);
        } else if (rows !== null) {
          const row = rows[at++]!;
          visit(row.ref, row.bytes, row, 1);
          if (at >= rows.length) {
            rows = null;
            chunk = nextOf(chunks);
          }
        }
        visited++;
      }
    } finally {
      singles.return?.();
      chunks.return?.();
    }
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
      // NORMAL: no fsync inside a commit (the store syncs the WAL off the event loop).
      db.pragma(`synchronous = ${this.fsync ? "NORMAL" : "OFF"}`);
      // Checkpoints run inside a commit, on the event loop, with two fsyncs: every 32 MiB of
      // WAL rather than SQLite's 4 MiB, so a page written and freed again (a row queued, then
      // acknowledged) is copied into the database less often. The WAL file is cut back to
      // that size when it restarts.
      db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      db.pragma(`journal_size_limit = ${WAL_CHECKPOINT_PAGES * 4096}`);
      db.exec(
        "CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;" +
          "CREATE TABLE IF NOT EXISTS outbox (ref INTEGER PRIMARY KEY, cls TEXT, bytes INTEGER NOT NULL, value TEXT NOT NULL);" +
          "CREATE INDEX IF NOT EXISTS outbox_by_class ON outbox (cls, ref);" +
          CHUNKS_SCHEMA +
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
      putOutbox: [],
      deleteOutboxRange: db.prepare("DELETE FROM outbox WHERE ref BETWEEN ? AND ?"),
      chunks: new OutboxChunks(db, (ref, last) =>
        this.onProblem({
          file: DB_FILE,
          reason: `outbox chunk ${ref}..${last}: its lines do not match its refs, dropped`,
        }),
      ),
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

  /**
   * Applies changes in order. Runs of plain queued rows (consecutive refs, one class, topic
   * and template) go into chunks; other outbox rows put one after another go out `PUT_ROWS`
   * per statement; outbox rows deleted in a run of consecutive refs (an acknowledged packet)
   * go as one range delete, which is exact: every ref of the range is deleted by the run.
   * A put first removes its ref from wherever it was stored.
   */
  private write(changes: readonly DurableChange[]): void {
    const s = this.statements;
    if (s === null) throw new Error("SqliteStore: not open");
    const puts: unknown[] = [];
    const run: CompactRow[] = [];
    let runBytes = 0;
    let deleteFrom = 0;
    let deleteTo = -1;
    const flushDeletes = (): void => {
      if (deleteTo >= deleteFrom) {
        s.deleteOutboxRange.run(deleteFrom, deleteTo);
        s.chunks.delete(deleteFrom, deleteTo);
      }
      deleteTo = deleteFrom - 1;
    };
    const flushPuts = (): void => {
      if (puts.length === 0) return;
      for (let i = 0; i < puts.length; i += 4) {
        const ref = puts[i] as number;
        s.chunks.delete(ref, ref);
      }
      this.putOutboxRows(puts.length / 4).run(puts);
      puts.length = 0;
    };
    const flushRun = (): void => {
      const first = run[0];
      if (first === undefined) return;
      const last = first.ref + run.length - 1;
      s.deleteOutboxRange.run(first.ref, last);
      if (!s.chunks.put(run)) {
        // Not ASCII: stored as JSON rows.
        for (const row of run) {
          puts.push(row.ref, row.cls, row.bytes, JSON.stringify(row));
          if (puts.length === PUT_ROWS * 4) flushPuts();
        }
        flushPuts();
      }
      run.length = 0;
      runBytes = 0;
    };
    for (let c = 0; c < changes.length; c++) {
      const { key, value } = changes[c]!;
      const ref = outboxRefOf(key);
      if (ref >= 0) {
        if (value === null) {
          flushRun();
          flushPuts();
          if (ref !== deleteTo + 1 || deleteTo < deleteFrom) {
            flushDeletes();
            deleteFrom = ref;
          }
          deleteTo = ref;
        } else if (isCompactRow(ref, value)) {
          flushDeletes();
          flushPuts();
          const head = run[0];
          if (
            head !== undefined &&
            (ref !== head.ref + run.length ||
              value.cls !== head.cls ||
              value.topic !== head.topic ||
              value.template !== head.template ||
              run.length >= CHUNK_ROWS ||
              runBytes + value.bytes > CHUNK_BYTES)
          )
            flushRun();
          run.push(value);
          runBytes += value.bytes + 1;
        } else {
          flushDeletes();
          flushRun();
          puts.push(ref, classOf(value), bytesOf(value), JSON.stringify(value));
          if (puts.length === PUT_ROWS * 4) {
            flushPuts();
          }
        }
        continue;
      }
      flushRun();
      flushPuts();
      flushDeletes();
      if (value === null) s.deleteRecord.run(key);
      else s.putRecord.run(key, JSON.stringify(value));
    }
    flushRun();
    flushPuts();
    flushDeletes();
  }

  /** The INSERT statement for `rows` outbox rows (1 to `PUT_ROWS`). */
  private putOutboxRows(rows: number): BetterSqlite3.Statement<unknown[]> {
    const s = this.statements;
    if (s === null || this.db === null) throw new Error("SqliteStore: not open");
    const cached = s.putOutbox[rows - 1];
    if (cached !== undefined) return cached;
    const values = Array<string>(rows).fill("(?, ?, ?, ?)").join(", ");
    const statement = this.db.prepare<unknown[]>(
      `INSERT OR REPLACE INTO outbox (ref, cls, bytes, value) VALUES ${values}`,
    );
    s.putOutbox[rows - 1] = statement;
    return statement;
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
      this.settleWhenSynced(group);
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
      this.settleWhenSynced([p]);
    } catch (e) {
      p.reject(e);
    }
  }

  /** Resolves the committed batches once an fsync of the WAL that started after the commit completed. */
  private settleWhenSynced(group: readonly Pending[]): void {
    if (!this.fsync) {
      for (const p of group) p.resolve();
      return;
    }
    // Written: only the callbacks wait for the fsync, not the batches' changes (a 100k-row
    // batch would otherwise stay in the heap until the disk answered).
    const resolves = group.map((p) => p.resolve);
    const rejects = group.map((p) => p.reject);
    this.synced().then(
      () => {
        for (const resolve of resolves) resolve();
      },
      (e: unknown) => {
        for (const reject of rejects) reject(e);
      },
    );
  }

  /**
   * An fsync of the WAL that starts after everything committed so far: the queued one when
   * it has not started yet (it will cover this commit too), else a new one after the last.
   */
  private synced(): Promise<void> {
    if (this.syncQueued !== null) return this.syncQueued;
    const next = this.syncTail
      .catch(() => {})
      .then(() => {
        this.syncQueued = null;
        if (this.walFd === null) this.walFd = openSync(join(this.dir, `${DB_FILE}-wal`), "r+");
        return this.fsyncFd(this.walFd);
      });
    this.syncQueued = next;
    this.syncTail = next;
    return next;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.idle;
    await this.syncTail.catch(() => {});
    if (this.walFd !== null) closeSync(this.walFd);
    this.walFd = null;
    this.db?.close();
    this.db = null;
    this.statements = null;
  }
}

const outboxKey = (ref: number): string => `outbox/${String(ref).padStart(12, "0")}`;

const nextOf = <T>(it: Iterator<T>): T | undefined => {
  const r = it.next();
  return r.done === true ? undefined : r.value;
};
