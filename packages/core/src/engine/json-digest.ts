/**
 * The digest of a value's JSON (`commandsDigest(JSON.stringify(value))`, cyrb53) and that JSON's
 * length, without building the JSON of the whole value.
 *
 * Why: a digest step of the event log (schema 3) stores the digest of its commands' JSON, and a
 * batch's commands are megabytes (a persist of every row, then deletions and payloads). Writing
 * that text only to hash it and throw it away cost as much as the hashing, and as much again in
 * garbage collection, in the recorder and in every replay. Here arrays, and objects holding a
 * long array, are walked; everything else is written by `JSON.stringify` piece by piece (short
 * strings, collected young) and hashed. The hash sees exactly the characters of the whole JSON
 * (property-tested), so recorded digests stay valid and old logs replay unchanged.
 */

/** Digest (14 hex digits) and length of `JSON.stringify(value)`. */
export interface JsonDigest {
  readonly digest: string;
  readonly length: number;
}

/** Arrays longer than this inside an object make the object walked rather than written whole. */
const LONG = 32;

/** Two cyrb53 lanes and the character count. */
class Hasher {
  h1 = 0xdeadbeef;
  h2 = 0x41c6ce57;
  length = 0;

  char(c: number): void {
    this.h1 = Math.imul(this.h1 ^ c, 2654435761);
    this.h2 = Math.imul(this.h2 ^ c, 1597334677);
    this.length++;
  }

  text(text: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 2654435761);
      h2 = Math.imul(h2 ^ c, 1597334677);
    }
    this.h1 = h1;
    this.h2 = h2;
    this.length += text.length;
  }

  digest(): string {
    let h1 = this.h1;
    let h2 = this.h2;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    const n = 4294967296 * (2097151 & h2) + (h1 >>> 0);
    return n.toString(16).padStart(14, "0");
  }
}

/** A plain object (no `toJSON`: JSON writes its own keys) with an own array longer than LONG. */
const holdsLongArray = (value: object): boolean => {
  const proto = Object.getPrototypeOf(value) as unknown;
  if ((proto !== Object.prototype && proto !== null) || "toJSON" in value) return false;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (Array.isArray(v) && v.length > LONG && Object.hasOwn(value, key)) return true;
  }
  return false;
};

const walked = (value: unknown): value is object =>
  Array.isArray(value) || (typeof value === "object" && value !== null && holdsLongArray(value));

/** Feeds what `JSON.stringify` writes for `value` (a walked value: an array or a plain object). */
const feed = (h: Hasher, value: object): void => {
  if (Array.isArray(value)) {
    h.char(0x5b);
    for (let i = 0; i < value.length; i++) {
      if (i > 0) h.char(0x2c);
      const item = value[i] as unknown;
      if (walked(item)) feed(h, item);
      else h.text((JSON.stringify(item) as string | undefined) ?? "null");
    }
    h.char(0x5d);
    return;
  }
  h.char(0x7b);
  let first = true;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const v = (value as Record<string, unknown>)[key];
    // A value JSON leaves out (undefined, a function, a symbol) leaves out its key too.
    const json = walked(v) ? null : (JSON.stringify(v) as string | undefined);
    if (json === undefined) continue;
    if (!first) h.char(0x2c);
    first = false;
    h.text(JSON.stringify(key));
    h.char(0x3a);
    if (json === null) feed(h, v as object);
    else h.text(json);
  }
  h.char(0x7d);
};

/** `commandsDigest(JSON.stringify(value))` and the JSON's length, without the whole JSON. */
export const jsonDigest = (value: unknown): JsonDigest => {
  const h = new Hasher();
  if (walked(value)) feed(h, value);
  else h.text((JSON.stringify(value) as string | undefined) ?? "null");
  return { digest: h.digest(), length: h.length };
};
