/**
 * Persistent (immutable, structurally shared) collections for the platform state.
 *
 * Every write of the model used to copy a whole record or list (`{...rec, [k]: v}`,
 * `[...list, x]`), so a write cost grew with the tenant, and a world of n devices with n. These
 * share all untouched parts: a write copies one path of a 32-way trie, O(log n).
 *
 * - `PVec`: a list (append, replace at an index), the shape of Clojure's persistent vector.
 * - `PMap`: string keys to values, a hash array mapped trie (HAMT). It iterates in the order a
 *   plain object gives its own keys (integer keys ascending, then the others in insertion
 *   order; overwriting keeps the place, deleting and adding again moves to the end), so it
 *   replaces a record without changing any order that ids or outputs depend on. That costs a
 *   sort per iteration; `unorderedValues` skips it where order does not matter.
 *
 * Both serialise to plain JSON (`toJSON`): an array, and the object the record would have been.
 * Nodes are never mutated once a write returned, so freezing a state is harmless.
 */
import { hash32 } from "./hash.js";

const BITS = 5;
const WIDTH = 1 << BITS;
const MASK = WIDTH - 1;

type Trie = readonly unknown[];

export class PVec<T> implements Iterable<T> {
  private static readonly EMPTY = new PVec<never>(0, BITS, [], []);

  private constructor(
    readonly length: number,
    private readonly shift: number,
    private readonly root: Trie,
    private readonly tail: readonly T[],
  ) {}

  static empty<T>(): PVec<T> {
    return PVec.EMPTY;
  }

  static from<T>(items: Iterable<T>): PVec<T> {
    let vec = PVec.empty<T>();
    for (const item of items) vec = vec.push(item);
    return vec;
  }

  /** Index of the first element kept in `tail` (every earlier one is in the trie). */
  private tailOffset(): number {
    return this.length < WIDTH ? 0 : ((this.length - 1) >>> BITS) << BITS;
  }

  private leafFor(index: number): readonly T[] {
    if (index >= this.tailOffset()) return this.tail;
    let node = this.root;
    for (let level = this.shift; level > 0; level -= BITS) node = node[(index >>> level) & MASK] as Trie;
    return node as readonly T[];
  }

  get(index: number): T | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) return undefined;
    return this.leafFor(index)[index & MASK];
  }

  /** Like `Array.prototype.at`: a negative index counts from the end. */
  at(index: number): T | undefined {
    return this.get(index < 0 ? this.length + index : index);
  }

  /** Elements `start` (inclusive) to `end` (exclusive, default the length) as an array. */
  slice(start: number, end = this.length): T[] {
    const out: T[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.length); i++) out.push(this.get(i) as T);
    return out;
  }

  push(value: T): PVec<T> {
    if (this.length - this.tailOffset() < WIDTH)
      return new PVec(this.length + 1, this.shift, this.root, [...this.tail, value]);
    // The tail is full: it becomes a leaf of the trie, which grows a level when the root is full.
    const rootOverflows = this.length >>> BITS > 1 << this.shift;
    const root = rootOverflows
      ? [this.root, newPath(this.shift, this.tail)]
      : this.pushTail(this.shift, this.root, this.tail);
    return new PVec(this.length + 1, rootOverflows ? this.shift + BITS : this.shift, root, [value]);
  }

  private pushTail(level: number, parent: Trie, leaf: readonly T[]): Trie {
    const index = ((this.length - 1) >>> level) & MASK;
    const copy = [...parent];
    if (level === BITS) copy[index] = leaf;
    else {
      const child = parent[index] as Trie | undefined;
      copy[index] =
        child === undefined ? newPath(level - BITS, leaf) : this.pushTail(level - BITS, child, leaf);
    }
    return copy;
  }

  /** A copy with the element at `index` replaced; an index outside the list is a programming error. */
  set(index: number, value: T): PVec<T> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length)
      throw new RangeError(`PVec.set: index ${index} outside 0..${this.length - 1}`);
    const offset = this.tailOffset();
    if (index >= offset) {
      const tail = [...this.tail];
      tail[index - offset] = value;
      return new PVec(this.length, this.shift, this.root, tail);
    }
    return new PVec(this.length, this.shift, assocTrie(this.shift, this.root, index, value), this.tail);
  }

  *[Symbol.iterator](): Iterator<T> {
    for (let start = 0; start < this.length; start += WIDTH) {
      const leaf = this.leafFor(start);
      const end = Math.min(WIDTH, this.length - start);
      for (let i = 0; i < end; i++) yield leaf[i] as T;
    }
  }

  /** Newest first. */
  *reversed(): Iterable<T> {
    for (let i = this.length - 1; i >= 0; i--) yield this.get(i) as T;
  }

  toArray(): T[] {
    return [...this];
  }

  toJSON(): T[] {
    return this.toArray();
  }
}

const newPath = (level: number, leaf: Trie): Trie => (level === 0 ? leaf : [newPath(level - BITS, leaf)]);

const assocTrie = (level: number, node: Trie, index: number, value: unknown): Trie => {
  const copy = [...node];
  if (level === 0) copy[index & MASK] = value;
  else {
    const slot = (index >>> level) & MASK;
    copy[slot] = assocTrie(level - BITS, node[slot] as Trie, index, value);
  }
  return copy;
};

// ---------------------------------------------------------------------------------------------
// PMap

interface Leaf<V> {
  readonly hash: number;
  readonly key: string;
  readonly value: V;
  /** Insertion sequence: orders the non-integer keys. */
  readonly seq: number;
}
/** Keys whose whole 32-bit hashes are equal. */
interface Collision<V> {
  readonly hash: number;
  readonly leaves: readonly Leaf<V>[];
}
interface Branch<V> {
  readonly bitmap: number;
  readonly children: readonly Child<V>[];
}
type Child<V> = Leaf<V> | Collision<V> | Branch<V>;

const isBranch = <V>(c: Child<V>): c is Branch<V> => "bitmap" in c;
const isCollision = <V>(c: Child<V>): c is Collision<V> => "leaves" in c;

/** Hash levels: 7 of 5 bits cover the 32-bit hash (the last level uses 2 bits). */
const MAX_SHIFT = 30;

const popcount = (n: number): number => {
  let x = n - ((n >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
};

const EMPTY_BRANCH: Branch<never> = { bitmap: 0, children: [] };

export class PMap<V> implements Iterable<readonly [string, V]> {
  private static readonly EMPTY = new PMap<never>(0, EMPTY_BRANCH, 0);

  private constructor(
    readonly size: number,
    private readonly root: Branch<V>,
    private readonly nextSeq: number,
  ) {}

  static empty<V>(): PMap<V> {
    return PMap.EMPTY;
  }

  static from<V>(entries: Iterable<readonly [string, V]>): PMap<V> {
    let map = PMap.empty<V>();
    for (const [key, value] of entries) map = map.set(key, value);
    return map;
  }

  /** Own enumerable properties of a plain object. */
  static fromRecord<V>(record: Readonly<Record<string, V>>): PMap<V> {
    return PMap.from(Object.entries(record));
  }

  get(key: string): V | undefined {
    const hash = hash32(key);
    let node: Child<V> = this.root;
    for (let shift = 0; ; shift += BITS) {
      if (isBranch(node)) {
        const bit = 1 << ((hash >>> shift) & MASK);
        if ((node.bitmap & bit) === 0) return undefined;
        node = node.children[popcount(node.bitmap & (bit - 1))] as Child<V>;
      } else if (isCollision(node)) return node.leaves.find((l) => l.key === key)?.value;
      else return node.key === key ? node.value : undefined;
    }
  }

  /** Values are never undefined (`get` answers undefined for a missing key). */
  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: string, value: V): PMap<V> {
    const added = { grew: false };
    const leaf = { hash: hash32(key), key, value, seq: this.nextSeq };
    const root = setIn(this.root, 0, leaf, added) as Branch<V>;
    return new PMap(added.grew ? this.size + 1 : this.size, root, this.nextSeq + 1);
  }

  delete(key: string): PMap<V> {
    if (!this.has(key)) return this;
    const root = deleteIn(this.root, 0, hash32(key), key) ?? EMPTY_BRANCH;
    return new PMap(this.size - 1, isBranch(root) ? root : branchOf([root], 0), this.nextSeq);
  }

  /** Leaves in plain-object key order. */
  private ordered(): Leaf<V>[] {
    // Each key is classified once, not once per comparison.
    const keyed = [...leaves(this.root)].map((leaf) => ({ leaf, index: isIndexKey(leaf.key) }));
    return keyed.sort(compareLeaves).map(({ leaf }) => leaf);
  }

  *[Symbol.iterator](): Iterator<readonly [string, V]> {
    for (const leaf of this.ordered()) yield [leaf.key, leaf.value];
  }

  keys(): string[] {
    return this.ordered().map((leaf) => leaf.key);
  }

  values(): V[] {
    return this.ordered().map((leaf) => leaf.value);
  }

  /** Every value, in no particular order (saves the sort where order does not matter). */
  *unorderedValues(): Iterable<V> {
    for (const leaf of leaves(this.root)) yield leaf.value;
  }

  toRecord(): Record<string, V> {
    const out: Record<string, V> = {};
    for (const leaf of this.ordered())
      Object.defineProperty(out, leaf.key, {
        value: leaf.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }

  toJSON(): Record<string, V> {
    return this.toRecord();
  }
}

const INTEGER_KEY = /^(?:0|[1-9]\d{0,9})$/;
const isIndexKey = (k: string): boolean => INTEGER_KEY.test(k) && Number(k) < 2 ** 32 - 1;
const compareLeaves = <V>(
  a: { readonly leaf: Leaf<V>; readonly index: boolean },
  b: { readonly leaf: Leaf<V>; readonly index: boolean },
): number => {
  if (a.index && b.index) return Number(a.leaf.key) - Number(b.leaf.key);
  if (a.index !== b.index) return a.index ? -1 : 1;
  return a.leaf.seq - b.leaf.seq;
};

function* leaves<V>(node: Child<V>): Generator<Leaf<V>> {
  if (isBranch(node)) for (const child of node.children) yield* leaves(child);
  else if (isCollision(node)) yield* node.leaves;
  else yield node;
}

const hashOf = <V>(node: Leaf<V> | Collision<V>): number => node.hash;

/** A branch at `shift` holding the given non-branch nodes (their hashes differ at or below it). */
const branchOf = <V>(nodes: readonly (Leaf<V> | Collision<V>)[], shift: number): Branch<V> => {
  if (nodes.length === 1) {
    const only = nodes[0] as Leaf<V> | Collision<V>;
    return { bitmap: 1 << ((hashOf(only) >>> shift) & MASK), children: [only] };
  }
  const [a, b] = nodes as [Leaf<V> | Collision<V>, Leaf<V> | Collision<V>];
  const fa = (hashOf(a) >>> shift) & MASK;
  const fb = (hashOf(b) >>> shift) & MASK;
  if (fa === fb) return { bitmap: 1 << fa, children: [branchOf([a, b], shift + BITS)] };
  return { bitmap: (1 << fa) | (1 << fb), children: fa < fb ? [a, b] : [b, a] };
};

const setIn = <V>(node: Child<V>, shift: number, leaf: Leaf<V>, added: { grew: boolean }): Child<V> => {
  if (isBranch(node)) {
    const bit = 1 << ((leaf.hash >>> shift) & MASK);
    const at = popcount(node.bitmap & (bit - 1));
    const children = [...node.children];
    if ((node.bitmap & bit) === 0) {
      added.grew = true;
      children.splice(at, 0, leaf);
      return { bitmap: node.bitmap | bit, children };
    }
    children[at] = setIn(node.children[at] as Child<V>, shift + BITS, leaf, added);
    return { bitmap: node.bitmap, children };
  }
  if (isCollision(node)) {
    if (node.hash === leaf.hash) {
      const previous = node.leaves.find((l) => l.key === leaf.key);
      added.grew = previous === undefined;
      const kept = previous === undefined ? leaf : { ...leaf, seq: previous.seq };
      return { hash: node.hash, leaves: [...node.leaves.filter((l) => l.key !== leaf.key), kept] };
    }
    added.grew = true;
    return branchOf([node, leaf], shift);
  }
  if (node.key === leaf.key) return { ...leaf, seq: node.seq };
  added.grew = true;
  if (node.hash === leaf.hash || shift > MAX_SHIFT) return { hash: leaf.hash, leaves: [node, leaf] };
  return branchOf([node, leaf], shift);
};

/** `node` without `key` (which is present), or undefined when nothing is left. */
const deleteIn = <V>(node: Child<V>, shift: number, hash: number, key: string): Child<V> | undefined => {
  if (isBranch(node)) {
    const bit = 1 << ((hash >>> shift) & MASK);
    const at = popcount(node.bitmap & (bit - 1));
    const child = deleteIn(node.children[at] as Child<V>, shift + BITS, hash, key);
    const children = [...node.children];
    if (child === undefined) {
      children.splice(at, 1);
      return children.length === 0 ? undefined : { bitmap: node.bitmap & ~bit, children };
    }
    children[at] = child;
    return { bitmap: node.bitmap, children };
  }
  if (isCollision(node)) {
    const rest = node.leaves.filter((l) => l.key !== key);
    return rest.length === 1 ? rest[0] : { hash: node.hash, leaves: rest };
  }
  return undefined;
};
