/**
 * A persistent (immutable) FIFO queue with amortized O(1) push, pop and push-front.
 *
 * Why: `step` must never mutate its input state, yet the outbox may hold a million
 * messages; copying an array per step would make every step O(n). This is the classic
 * two-list "banker's" queue built from shared, immutable cons cells: old versions stay
 * valid, new versions share almost everything with them.
 */

type Cons<T> = { readonly head: T; readonly tail: List<T> } | null;
type List<T> = Cons<T>;

export interface Queue<T> {
  /** Oldest first. */
  readonly front: List<T>;
  /** Newest first (reversed back half). */
  readonly back: List<T>;
  readonly size: number;
}

/**
 * The one empty queue: every engine's untouched outbox classes share it (a fleet of engines in
 * one process pays for it once, not five times per outbox per engine).
 */
const EMPTY: Queue<never> = Object.freeze({ front: null, back: null, size: 0 });

export const emptyQueue = <T>(): Queue<T> => EMPTY;

// Invariant: `front` is empty only when the whole queue is empty, so `peek` is O(1);
// the O(n) reverse happens once per element, when `pop` exhausts the front.

export const push = <T>(q: Queue<T>, value: T): Queue<T> =>
  q.front === null
    ? { front: { head: value, tail: null }, back: null, size: 1 }
    : { front: q.front, back: { head: value, tail: q.back }, size: q.size + 1 };

/** Puts `value` before every other element (used to return unacknowledged messages). */
export const pushFront = <T>(q: Queue<T>, value: T): Queue<T> => ({
  front: { head: value, tail: q.front },
  back: q.back,
  size: q.size + 1,
});

const reverse = <T>(list: List<T>): List<T> => {
  let out: List<T> = null;
  for (let cur = list; cur !== null; cur = cur.tail) out = { head: cur.head, tail: out };
  return out;
};

export const peek = <T>(q: Queue<T>): T | undefined => q.front?.head;

/** Removes the oldest element; returns it with the remaining queue (or undefined when empty). */
export const pop = <T>(q: Queue<T>): readonly [T, Queue<T>] | undefined => {
  if (q.front === null) return undefined;
  const rest: Queue<T> =
    q.size === 1
      ? EMPTY
      : q.front.tail === null
        ? { front: reverse(q.back), back: null, size: q.size - 1 }
        : { front: q.front.tail, back: q.back, size: q.size - 1 };
  return [q.front.head, rest];
};

/**
 * Removes the oldest elements while `accept(value)` holds (it sees them oldest first and may
 * keep state). One new queue for the whole run, not one per element as repeated `pop`s make.
 */
export const popWhile = <T>(
  q: Queue<T>,
  accept: (value: T) => boolean,
): { readonly taken: T[]; readonly rest: Queue<T> } => {
  const taken: T[] = [];
  let front = q.front;
  let back = q.back;
  while (front !== null && accept(front.head)) {
    taken.push(front.head);
    front = front.tail;
    if (front === null) {
      front = reverse(back);
      back = null;
    }
  }
  if (taken.length === 0) return { taken, rest: q };
  const size = q.size - taken.length;
  return { taken, rest: size === 0 ? EMPTY : { front, back, size } };
};

/** Oldest first. O(n): for snapshots, logs and tests, never on the hot path. */
export const toArray = <T>(q: Queue<T>): T[] => {
  const out: T[] = [];
  for (let cur = q.front; cur !== null; cur = cur.tail) out.push(cur.head);
  const back: T[] = [];
  for (let cur = q.back; cur !== null; cur = cur.tail) back.push(cur.head);
  for (let i = back.length - 1; i >= 0; i--) out.push(back[i] as T);
  return out;
};

export const fromArray = <T>(values: readonly T[]): Queue<T> => {
  let front: List<T> = null;
  for (let i = values.length - 1; i >= 0; i--) front = { head: values[i] as T, tail: front };
  return { front, back: null, size: values.length };
};
