/**
 * The SQLite store's compact outbox: runs of plain queued rows kept as one table row per run
 * (a "chunk"), instead of one JSON row per queued row. A batch of 100k measurements is ~400
 * chunk rows to insert and delete, not 100k rows and 100k index entries, and no JSON.
 *
 * A row is compact when its value is exactly what the core writes for a plain queued row,
 * `{ref, cls, topic, line, bytes, template}` (no tag, no operation key, no flags), with the
 * key's ref, a one-line ASCII `line` and `bytes === line.length`. A chunk holds consecutive
 * refs `ref..last` of one class, topic and template; `lines` is their lines joined with LF,
 * the i-th line being ref + i. Reading a chunk back rebuilds exactly the values written
 * (ASCII: `bytes` is the line's length). Anything else stays one JSON row of `outbox`.
 *
 * Deleting refs `a..b` deletes the chunks inside the range; a chunk that sticks out of it on
 * either side is rewritten as what remains (one or two chunks). Chunks never overlap: a put of
 * a ref deletes the ref wherever it is stored first (the two tables together are one
 * key-value map).
 */
import type BetterSqlite3 from "better-sqlite3";

/** A plain queued row, as the core writes it (`OutboxEntry` without optional fields). */
export interface CompactRow {
  readonly ref: number;
  readonly cls: string;
  readonly topic: string;
  readonly line: string;
  readonly bytes: number;
  readonly template: string;
}

/** Most rows per chunk; a partial delete rewrites at most one chunk's worth on each side. */
export const CHUNK_ROWS = 256;
/** Most line bytes per chunk (the text stays within a few SQLite pages). */
export const CHUNK_BYTES = 16 * 1024;

export const CHUNKS_SCHEMA =
  "CREATE TABLE IF NOT EXISTS outbox_chunks (ref INTEGER PRIMARY KEY, last INTEGER NOT NULL, cls TEXT NOT NULL, topic TEXT NOT NULL, template TEXT NOT NULL, bytes INTEGER NOT NULL, lines TEXT NOT NULL);" +
  // Chunks of a class never overlap, so `last` orders them as `ref` does.
  "CREATE INDEX IF NOT EXISTS outbox_chunks_by_class ON outbox_chunks (cls, last);";

const OBJECT_PROTOTYPE = Object.prototype;

/** Whether `value`, stored under outbox ref `ref`, can go into a chunk (see the module comment). */
export const isCompactRow = (ref: number, value: unknown): value is CompactRow => {
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== OBJECT_PROTOTYPE)
    return false;
  const r = value as Record<string, unknown>;
  const line = r["line"];
  return (
    r["ref"] === ref &&
    typeof line === "string" &&
    r["bytes"] === line.length &&
    typeof r["cls"] === "string" &&
    typeof r["topic"] === "string" &&
    typeof r["template"] === "string" &&
    line.indexOf("\n") === -1 &&
    ownKeyCount(r) === 6
  );
};

/** Own enumerable properties of a plain object, without allocating a key array. */
const ownKeyCount = (o: object): number => {
  let n = 0;
  for (const _ in o) n++;
  return n;
};

/** A chunk as read back (`lines` not yet split). */
export interface ChunkRecord {
  readonly ref: number;
  readonly last: number;
  readonly cls: string;
  readonly topic: string;
  readonly template: string;
  readonly bytes: number;
  readonly lines: string;
}

/** The rows of a chunk, or null when its lines do not match its ref range (corrupt). */
export const rowsOfChunk = (c: ChunkRecord): CompactRow[] | null => {
  const lines = c.lines.split("\n");
  if (lines.length !== c.last - c.ref + 1) return null;
  const { cls, topic, template } = c;
  const rows: CompactRow[] = new Array<CompactRow>(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    rows[i] = { ref: c.ref + i, cls, topic, line, bytes: line.length, template };
  }
  return rows;
};

/** Whether every character of `text` is ASCII (then its UTF-8 form has one byte per character). */
const isAscii = (text: string): boolean => Buffer.byteLength(text, "utf8") === text.length;

export class OutboxChunks {
  private readonly insert: BetterSqlite3.Statement<[number, number, string, string, string, number, string]>;
  private readonly overlapping: BetterSqlite3.Statement<[number, number, number, number]>;
  private readonly linesOf: BetterSqlite3.Statement<[number]>;
  private readonly deleteOne: BetterSqlite3.Statement<[number]>;
  private readonly deleteInside: BetterSqlite3.Statement<[number, number, number]>;

  constructor(
    db: BetterSqlite3.Database,
    /** A chunk whose lines do not match its ref range, found while rewriting it (it is dropped). */
    private readonly onCorrupt: (ref: number, last: number) => void,
  ) {
    this.insert = db.prepare(
      "INSERT INTO outbox_chunks (ref, last, cls, topic, template, bytes, lines) VALUES (?, ?, ?, ?, ?, ?, ?)",
    );
    // The chunk holding `a` (the last one starting at or before it) and every chunk starting in a..b.
    this.overlapping = db.prepare(
      "SELECT ref, last FROM outbox_chunks WHERE ref BETWEEN coalesce((SELECT max(ref) FROM outbox_chunks WHERE ref <= ?), ?) AND ? AND last >= ?",
    );
    this.linesOf = db.prepare("SELECT cls, topic, template, lines FROM outbox_chunks WHERE ref = ?");
    this.deleteOne = db.prepare("DELETE FROM outbox_chunks WHERE ref = ?");
    this.deleteInside = db.prepare("DELETE FROM outbox_chunks WHERE ref BETWEEN ? AND ? AND last <= ?");
  }

  /**
   * Stores `rows` (consecutive refs, one class, topic and template, at most `CHUNK_ROWS`) as
   * one chunk. Returns false, storing nothing, when their lines are not all ASCII.
   */
  put(rows: readonly CompactRow[]): boolean {
    const first = rows[0];
    if (first === undefined) return true;
    let lines = first.line;
    for (let i = 1; i < rows.length; i++) lines += "\n" + rows[i]!.line;
    if (!isAscii(lines)) return false;
    const last = first.ref + rows.length - 1;
    this.delete(first.ref, last);
    this.insert.run(
      first.ref,
      last,
      first.cls,
      first.topic,
      first.template,
      lines.length - rows.length + 1,
      lines,
    );
    return true;
  }

  /** Deletes refs `a..b` from the chunks (refs not stored in a chunk are ignored). */
  delete(a: number, b: number): void {
    const hits = this.overlapping.all(a, a, b, a) as { ref: number; last: number }[];
    let inside = false;
    for (const hit of hits) {
      if (hit.ref >= a && hit.last <= b) {
        inside = true;
        continue;
      }
      this.keepOutside(hit.ref, hit.last, a, b);
    }
    if (inside) this.deleteInside.run(a, b, b);
  }

  /** Rewrites the chunk `ref..last`, which sticks out of `a..b`, as its rows outside `a..b`. */
  private keepOutside(ref: number, last: number, a: number, b: number): void {
    const c = this.linesOf.get(ref) as Omit<ChunkRecord, "ref" | "last" | "bytes"> | undefined;
    this.deleteOne.run(ref);
    if (c === undefined) return;
    const lines = c.lines.split("\n");
    if (lines.length !== last - ref + 1) {
      this.onCorrupt(ref, last);
      return;
    }
    const piece = (from: number, to: number): void => {
      if (from > to) return;
      const text = lines.slice(from - ref, to - ref + 1).join("\n");
      this.insert.run(from, to, c.cls, c.topic, c.template, text.length - (to - from), text);
    };
    piece(ref, Math.min(last, a - 1));
    piece(Math.max(ref, b + 1), last);
  }
}
