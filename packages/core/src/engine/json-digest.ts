/**
 * The digest of a value's JSON (`commandsDigest(JSON.stringify(value))`, cyrb53) and that JSON's
 * length, computed by walking the value, without building the JSON text.
 *
 * Why: a digest step of the event log (schema 3) stores the digest of its commands' JSON, and a
 * batch's commands are megabytes (a persist of every row, then deletions and payloads). Writing
 * that text only to hash it and throw it away cost as much as the hashing, and as much again in
 * garbage collection, in the recorder and in every replay. The walk feeds the hash exactly the
 * characters `JSON.stringify` would write (property-tested against it), so recorded digests stay
 * valid and old logs replay unchanged.
 */

/** Digest (14 hex digits) and length of `JSON.stringify(value)`. */
export interface JsonDigest {
  readonly digest: string;
  readonly length: number;
}

const HEX = "0123456789abcdef";
const SHORT_ESCAPES: Readonly<Record<number, number>> = { 8: 98, 9: 116, 10: 110, 12: 102, 13: 114 }; // b t n f r

/** Two cyrb53 lanes and the character count, fed one UTF-16 code unit at a time. */
class Hasher {
  h1 = 0xdeadbeef;
  h2 = 0x41c6ce57;
  length = 0;

  char(c: number): void {
    this.h1 = Math.imul(this.h1 ^ c, 2654435761);
    this.h2 = Math.imul(this.h2 ^ c, 1597334677);
    this.length++;
  }

  /** Characters of a text written as is (keys' punctuation, numbers, literals). */
  raw(text: string): void {
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

  /** A JSON string literal, escaped as `JSON.stringify` escapes it (well-formed JSON.stringify). */
  string(s: string): void {
    this.char(0x22);
    let h1 = this.h1;
    let h2 = this.h2;
    let length = this.length;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const plain =
        c >= 0x20 &&
        c !== 0x22 &&
        c !== 0x5c &&
        (c < 0xd800 ||
          c > 0xdfff ||
          (c <= 0xdbff && isLow(s.charCodeAt(i + 1))) ||
          (c >= 0xdc00 && isHigh(s.charCodeAt(i - 1))));
      if (plain) {
        h1 = Math.imul(h1 ^ c, 2654435761);
        h2 = Math.imul(h2 ^ c, 1597334677);
        length++;
        continue;
      }
      this.h1 = h1;
      this.h2 = h2;
      this.length = length;
      this.escape(c);
      h1 = this.h1;
      h2 = this.h2;
      length = this.length;
    }
    this.h1 = h1;
    this.h2 = h2;
    this.length = length;
    this.char(0x22);
  }

  private escape(c: number): void {
    this.char(0x5c);
    if (c === 0x22 || c === 0x5c) return this.char(c);
    const short = SHORT_ESCAPES[c];
    if (short !== undefined) return this.char(short);
    this.char(0x75); // u
    for (let shift = 12; shift >= 0; shift -= 4) this.char(HEX.charCodeAt((c >> shift) & 0xf));
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

const isHigh = (c: number): boolean => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number): boolean => c >= 0xdc00 && c <= 0xdfff;

/** Not written in an object; written as `null` in an array (as `JSON.stringify` does). */
const skipped = (v: unknown): boolean => v === undefined || typeof v === "function" || typeof v === "symbol";

/** A member whose `toJSON` gives no JSON value (undefined): `JSON.stringify` leaves it out. */
const writesNothing = (v: unknown): boolean =>
  typeof v === "object" && v !== null && "toJSON" in v && JSON.stringify(v) === undefined;

/**
 * Feeds the JSON of `value`. Anything but plain data (a `toJSON`, a bigint, a class instance)
 * is fed as `JSON.stringify` writes it, so the result is always that of the JSON text.
 */
const feed = (h: Hasher, value: unknown): void => {
  switch (typeof value) {
    case "string":
      return h.string(value);
    case "number":
      return h.raw(Number.isFinite(value) ? String(value) : "null");
    case "boolean":
      return h.raw(value ? "true" : "false");
    case "object": {
      if (value === null) return h.raw("null");
      if (Array.isArray(value)) {
        h.char(0x5b);
        for (let i = 0; i < value.length; i++) {
          if (i > 0) h.char(0x2c);
          const item = value[i] as unknown;
          if (skipped(item)) h.raw("null");
          else feed(h, item);
        }
        return h.char(0x5d);
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if ((proto !== Object.prototype && proto !== null) || "toJSON" in value) break;
      h.char(0x7b);
      let first = true;
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const v = (value as Record<string, unknown>)[key];
        if (skipped(v) || writesNothing(v)) continue;
        if (!first) h.char(0x2c);
        first = false;
        h.string(key);
        h.char(0x3a);
        feed(h, v);
      }
      return h.char(0x7d);
    }
    default:
      break;
  }
  // Rare shapes: exactly what JSON.stringify writes (it throws on a bigint, as it would).
  const json = JSON.stringify(value) as string | undefined;
  h.raw(json ?? "null");
};

/** `commandsDigest(JSON.stringify(value))` and the JSON's length, without the JSON. */
export const jsonDigest = (value: unknown): JsonDigest => {
  const h = new Hasher();
  feed(h, value);
  return { digest: h.digest(), length: h.length };
};
