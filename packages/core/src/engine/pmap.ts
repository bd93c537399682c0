/**
 * A persistent (immutable) ordered map: an AVL tree with O(log n) get, set, remove, first and
 * ceiling, and in-order iteration.
 *
 * Why: `step` must never mutate its input state, and the journal, its indexes, the finished
 * ids and the tombstones may each hold thousands of entries; copying a record per change made
 * every operation row O(n) (one 80,000-row message took seconds). Updates copy only the
 * O(log n) nodes on one path; old versions stay valid and share everything else.
 */

type Node<K, V> = {
  readonly key: K;
  readonly value: V;
  readonly left: Tree<K, V>;
  readonly right: Tree<K, V>;
  readonly height: number;
};
type Tree<K, V> = Node<K, V> | null;

export type Compare<K> = (a: K, b: K) => number;

export interface PMap<K, V> {
  readonly root: Tree<K, V>;
  readonly size: number;
  readonly compare: Compare<K>;
}

export const emptyMap = <K, V>(compare: Compare<K>): PMap<K, V> => ({ root: null, size: 0, compare });

export const compareStrings: Compare<string> = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
export const compareNumbers: Compare<number> = (a, b) => a - b;

/** Element by element; a shorter tuple sorts before any longer one it is a prefix of. */
export const compareTuples: Compare<readonly (string | number)[]> = (a, b) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x) < String(y) ? -1 : 1;
  }
  return a.length - b.length;
};

const height = <K, V>(t: Tree<K, V>): number => (t === null ? 0 : t.height);

const node = <K, V>(key: K, value: V, left: Tree<K, V>, right: Tree<K, V>): Node<K, V> => ({
  key,
  value,
  left,
  right,
  height: Math.max(height(left), height(right)) + 1,
});

const rotateRight = <K, V>(n: Node<K, V>): Node<K, V> => {
  const l = n.left!;
  return node(l.key, l.value, l.left, node(n.key, n.value, l.right, n.right));
};

const rotateLeft = <K, V>(n: Node<K, V>): Node<K, V> => {
  const r = n.right!;
  return node(r.key, r.value, node(n.key, n.value, n.left, r.left), r.right);
};

/** Rebuilds a node whose subtrees differ in height by at most 2. */
const balance = <K, V>(key: K, value: V, left: Tree<K, V>, right: Tree<K, V>): Node<K, V> => {
  const diff = height(left) - height(right);
  if (diff > 1) {
    const l = left!;
    const pivot = height(l.left) >= height(l.right) ? l : rotateLeft(l);
    return rotateRight(node(key, value, pivot, right));
  }
  if (diff < -1) {
    const r = right!;
    const pivot = height(r.right) >= height(r.left) ? r : rotateRight(r);
    return rotateLeft(node(key, value, left, pivot));
  }
  return node(key, value, left, right);
};

export const get = <K, V>(m: PMap<K, V>, key: K): V | undefined => {
  let t = m.root;
  while (t !== null) {
    const c = m.compare(key, t.key);
    if (c === 0) return t.value;
    t = c < 0 ? t.left : t.right;
  }
  return undefined;
};

export const has = <K, V>(m: PMap<K, V>, key: K): boolean => get(m, key) !== undefined;

// Top-level recursion (no closure per call): these run several times per operation row.
const insert = <K, V>(t: Tree<K, V>, key: K, value: V, compare: Compare<K>): Node<K, V> => {
  if (t === null) return node(key, value, null, null);
  const c = compare(key, t.key);
  if (c === 0) return node(key, value, t.left, t.right);
  return c < 0
    ? balance(t.key, t.value, insert(t.left, key, value, compare), t.right)
    : balance(t.key, t.value, t.left, insert(t.right, key, value, compare));
};

export const set = <K, V>(m: PMap<K, V>, key: K, value: V): PMap<K, V> => {
  const added = get(m, key) === undefined;
  return {
    root: insert(m.root, key, value, m.compare),
    size: added ? m.size + 1 : m.size,
    compare: m.compare,
  };
};

const removeMin = <K, V>(t: Node<K, V>): [Node<K, V>, Tree<K, V>] => {
  if (t.left === null) return [t, t.right];
  const [min, left] = removeMin(t.left);
  return [min, balance(t.key, t.value, left, t.right)];
};

const del = <K, V>(t: Tree<K, V>, key: K, compare: Compare<K>): Tree<K, V> => {
  if (t === null) return null;
  const c = compare(key, t.key);
  if (c < 0) return balance(t.key, t.value, del(t.left, key, compare), t.right);
  if (c > 0) return balance(t.key, t.value, t.left, del(t.right, key, compare));
  if (t.left === null) return t.right;
  if (t.right === null) return t.left;
  const [min, right] = removeMin(t.right);
  return balance(min.key, min.value, t.left, right);
};

export const remove = <K, V>(m: PMap<K, V>, key: K): PMap<K, V> =>
  get(m, key) === undefined ? m : { root: del(m.root, key, m.compare), size: m.size - 1, compare: m.compare };

/** The smallest key and its value. */
export const first = <K, V>(m: PMap<K, V>): readonly [K, V] | undefined => {
  let t = m.root;
  if (t === null) return undefined;
  while (t.left !== null) t = t.left;
  return [t.key, t.value];
};

/** The smallest key >= `key`, with its value. */
export const ceiling = <K, V>(m: PMap<K, V>, key: K): readonly [K, V] | undefined => {
  let t = m.root;
  let best: Node<K, V> | null = null;
  while (t !== null) {
    const c = m.compare(key, t.key);
    if (c === 0) return [t.key, t.value];
    if (c < 0) {
      best = t;
      t = t.left;
    } else t = t.right;
  }
  return best === null ? undefined : [best.key, best.value];
};

/** Every entry in key order. O(n): for snapshots, boot and session-level passes, never per row. */
export const entries = <K, V>(m: PMap<K, V>): [K, V][] => {
  const out: [K, V][] = [];
  const stack: Node<K, V>[] = [];
  let t = m.root;
  while (t !== null || stack.length > 0) {
    while (t !== null) {
      stack.push(t);
      t = t.left;
    }
    const n = stack.pop()!;
    out.push([n.key, n.value]);
    t = n.right;
  }
  return out;
};

export const values = <K, V>(m: PMap<K, V>): V[] => entries(m).map(([, v]) => v);
