/**
 * Outbox rows by class in ref order, for stores that hold every record in memory anyway
 * (`MemoryStorage`, `FileStore`): answers `loadOutbox` without scanning other classes.
 * Rows arrive in ref order almost always (refs only grow); a row inserted behind a larger
 * ref marks its class for one re-sort at the next read.
 */
const OUTBOX_KEY = /^outbox\/(\d{12})$/;

interface ClassRows {
  rows: Map<number, unknown>;
  maxRef: number;
  sorted: boolean;
}

export class OutboxIndex {
  private readonly byClass = new Map<string, ClassRows>();
  /** ref → class, to find the row of a deletion. */
  private readonly classOfRef = new Map<number, string>();

  /** Mirrors one change of a store (`value: null` deletes). Keys that are not outbox rows are ignored. */
  change(key: string, value: unknown): void {
    const match = OUTBOX_KEY.exec(key);
    if (match === null) return;
    const ref = Number(match[1]);
    const old = this.classOfRef.get(ref);
    if (old !== undefined) {
      this.byClass.get(old)?.rows.delete(ref);
      this.classOfRef.delete(ref);
    }
    const cls = (value as { cls?: unknown } | null)?.cls;
    if (value === null || typeof cls !== "string") return;
    let c = this.byClass.get(cls);
    if (c === undefined) {
      c = { rows: new Map(), maxRef: 0, sorted: true };
      this.byClass.set(cls, c);
    }
    if (ref < c.maxRef) c.sorted = false;
    c.maxRef = Math.max(c.maxRef, ref);
    c.rows.set(ref, value);
    this.classOfRef.set(ref, cls);
  }

  /** Up to `max` rows of class `cls` with a ref above `afterRef`, in ref order. */
  load(cls: string, afterRef: number, max: number): unknown[] {
    const c = this.byClass.get(cls);
    if (c === undefined) return [];
    if (!c.sorted) {
      c.rows = new Map([...c.rows].sort((a, b) => a[0] - b[0]));
      c.sorted = true;
    }
    const out: unknown[] = [];
    for (const [ref, value] of c.rows) {
      if (ref <= afterRef) continue;
      out.push(value);
      if (out.length >= max) break;
    }
    return out;
  }
}
