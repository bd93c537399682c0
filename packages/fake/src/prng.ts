/**
 * The world's only source of randomness: a seeded mulberry32 generator (the same algorithm as
 * the core's jitter PRNG). Everything the world decides by chance — latencies, faults, the
 * application's schedule, the admin script — draws from one `Rng`, so a seed fixes the run.
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) | 0;
    let z = this.s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  /** A 32-bit seed for something that keeps its own generator (an engine's `seed`). */
  seed(): number {
    return Math.floor(this.next() * 4294967296) >>> 0;
  }
}

/**
 * Incremental 64-bit-ish trace hash (two independent 32-bit FNV-1a lanes). Cheap, stable
 * across platforms, and good enough to tell two traces apart.
 */
export class TraceHash {
  private a = 0x811c9dc5;
  private b = 0x01000193 ^ 0x5bd1e995;

  add(text: string): void {
    this.part(text);
    this.end();
  }

  /**
   * Hashes `text` as the next characters of the current line: `part(x); part(y); end()` gives
   * the hash of `add(x + y)` without building (and flattening) the concatenated line.
   */
  part(text: string): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x0100019d) ^ (b >>> 13);
    }
    this.a = a;
    this.b = b;
  }

  /** Ends the current line: a separator so ["ab","c"] and ["a","bc"] differ. */
  end(): void {
    this.a = Math.imul(this.a ^ 0x0a, 0x01000193);
    this.b = Math.imul(this.b ^ 0x0a, 0x0100019d);
  }

  hex(): string {
    return (this.a >>> 0).toString(16).padStart(8, "0") + (this.b >>> 0).toString(16).padStart(8, "0");
  }
}
