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
  // Both maps exist only while rows are indexed, and a class only while it holds rows: an
  // engine whose outbox drained (most of a fleet, most of the time) keeps no empty hash tables.
  private byClass: Map<string, ClassRows> | null = null;
  /** ref → class, to find the row of a deletion. */
  private classOfRef: Map<number, string> | null = null;

  /** Mirrors one change of a store (`value: null` deletes). Keys that are not outbox rows are ignored. */
  change(key: string, value: unknown): void {
    const match = OUTBOX_KEY.exec(key);
    if (match === null) return;
    const ref = Number(match[1]);
    const old = this.classOfRef?.get(ref);
    if (old !== undefined) this.forget(ref, old);
    const cls = (value as { cls?: unknown } | null)?.cls;
    if (value === null || typeof cls !== "string") return;
    const byClass = (this.byClass ??= new Map());
    let c = byClass.get(cls);
    if (c === undefined) {
      // A class emptied and refilled starts sorted again: no row is left to be out of order with.
      c = { rows: new Map(), maxRef: 0, sorted: true };
      byClass.set(cls, c);
    }
    if (ref < c.maxRef) c.sorted = false;
    c.maxRef = Math.max(c.maxRef, ref);
    c.rows.set(ref, value);
    (this.classOfRef ??= new Map()).set(ref, cls);
  }

  private forget(ref: number, cls: string): void {
    const c = this.byClass?.get(cls);
    if (c !== undefined) {
      c.rows.delete(ref);
      if (c.rows.size === 0) this.byClass?.delete(cls);
    }
    if (this.byClass?.size === 0) this.byClass = null;
    this.classOfRef?.delete(ref);
    if (this.classOfRef?.size === 0) this.classOfRef = null;
  }

  /** No row indexed (the maps exist only while rows are). */
  get empty(): boolean {
    return this.byClass === null && this.classOfRef === null;
  }

  /** Up to `max` rows of class `cls` with a ref above `afterRef`, in ref order. */
  load(cls: string, afterRef: number, max: number): unknown[] {
    const c = this.byClass?.get(cls);
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
