/**
 * Deterministic stand-ins for secrets: passwords and token signatures are derived from a seed
 * kept in the state (no `Math.random`, no crypto), so a run is reproducible from its inputs.
 * Not secure, and not meant to be — this is a test double of the platform.
 */

/** FNV-1a over UTF-16 code units, folded with `seed`. */
export const hash32 = (text: string, seed = 0x811c9dc5): number => {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
};

/** mulberry32: the next generator state and a 32-bit output. */
export const next32 = (state: number): readonly [number, number] => {
  const s = (state + 0x6d2b79f5) | 0;
  let z = Math.imul(s ^ (s >>> 15), s | 1);
  z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
  return [(z ^ (z >>> 14)) >>> 0, s];
};

const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/** A `length`-character password for `subject`, and the advanced seed. */
export const derivePassword = (seed: number, subject: string, length = 16): readonly [string, number] => {
  let state = (seed ^ hash32(subject)) | 0;
  let out = "";
  for (let i = 0; i < length; i++) {
    const [value, nextState] = next32(state);
    state = nextState;
    out += ALPHABET[value % ALPHABET.length] ?? "A";
  }
  return [out, next32(seed)[1]];
};

/** `n` pseudo-random bytes determined by `text` (a fake signature). */
export const digestBytes = (text: string, n = 32): Uint8Array => {
  const bytes = new Uint8Array(n);
  let state = hash32(text) | 0;
  for (let i = 0; i < n; i += 4) {
    const [value, nextState] = next32(state);
    state = nextState;
    for (let k = 0; k < 4 && i + k < n; k++) bytes[i + k] = (value >>> (8 * k)) & 0xff;
  }
  return bytes;
};
