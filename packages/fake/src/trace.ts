/**
 * The world's trace: every line goes into the trace hash (what the golden test pins), the last
 * few are kept for the report, and all of them only when the full trace was asked for.
 *
 * Engine and platform inputs are most of the lines (about four per message): they are hashed
 * piece by piece and kept as their pieces, so the common case builds no line string at all
 * (building and flattening one per input was a per-message allocation of the world's own).
 * The hash is the same as hashing the built line.
 */
import { TraceHash } from "./prng.js";

/** Marks a kept line that is not an input (its text is all in `heads`). */
const PLAIN = -2;
/** Marks an input line without a life (`P <- …`, the platform's inputs). */
const NO_LIFE = -1;

export class Trace {
  readonly hash = new TraceHash();
  // The kept tail as a ring of parallel slots, so remembering a line allocates nothing.
  private readonly clocks: number[] = [];
  private readonly heads: string[] = [];
  private readonly lives: number[] = [];
  private readonly jsons: string[] = [];
  private next = 0;

  constructor(
    private readonly keep: number,
    readonly full: string[] | null,
  ) {}

  /** `<clock> <line>`. */
  line(clockMs: number, line: string): void {
    this.hash.part(String(clockMs));
    this.hash.part(" ");
    this.hash.part(line);
    this.hash.end();
    this.remember(clockMs, line, PLAIN, "");
  }

  /** `<clock> <who>.<life> <- <json>`, or `<clock> <who> <- <json>` when `life` is null. */
  input(clockMs: number, who: string, life: number | null, json: string): void {
    const h = this.hash;
    h.part(String(clockMs));
    h.part(" ");
    h.part(who);
    if (life !== null) {
      h.part(".");
      h.part(String(life));
    }
    h.part(" <- ");
    h.part(json);
    h.end();
    this.remember(clockMs, who, life ?? NO_LIFE, json);
  }

  /** The kept lines, oldest first. */
  tail(): string[] {
    const n = this.clocks.length;
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.text((this.next + i) % n));
    return out;
  }

  private remember(clockMs: number, head: string, life: number, json: string): void {
    const i = this.next;
    this.clocks[i] = clockMs;
    this.heads[i] = head;
    this.lives[i] = life;
    this.jsons[i] = json;
    this.next = (i + 1) % this.keep;
    this.full?.push(this.text(i));
  }

  private text(i: number): string {
    const life = this.lives[i]!;
    const head = `${this.clocks[i]} ${this.heads[i]}`;
    if (life === PLAIN) return head;
    return life === NO_LIFE ? `${head} <- ${this.jsons[i]}` : `${head}.${life} <- ${this.jsons[i]}`;
  }
}
