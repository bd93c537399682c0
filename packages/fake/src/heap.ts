/**
 * The virtual clock's agenda: a binary min-heap ordered by (time, sequence number). The
 * sequence number is the insertion order, so two items due at the same instant always run in
 * the order they were scheduled — the world is deterministic without relying on sort stability.
 */
export interface Scheduled<T> {
  readonly at: number;
  readonly seq: number;
  readonly item: T;
}

export class Agenda<T> {
  private heap: Scheduled<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, item: T): void {
    const node: Scheduled<T> = { at, seq: this.seq++, item };
    const h = this.heap;
    h.push(node);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(node, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = node;
  }

  peek(): Scheduled<T> | undefined {
    return this.heap[0];
  }

  pop(): Scheduled<T> | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (top === undefined || last === undefined || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = last;
      let at = -1;
      if (l < h.length && before(h[l]!, smallest)) {
        smallest = h[l]!;
        at = l;
      }
      if (r < h.length && before(h[r]!, smallest)) {
        smallest = h[r]!;
        at = r;
      }
      if (at < 0) break;
      h[i] = smallest;
      i = at;
    }
    h[i] = last;
    return top;
  }
}

const before = <T>(a: Scheduled<T>, b: Scheduled<T>): boolean =>
  a.at < b.at || (a.at === b.at && a.seq < b.seq);
