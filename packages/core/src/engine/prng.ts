/**
 * Seeded pseudo-random numbers for the pure core. The generator state is a single
 * 32-bit integer that lives in the engine state, so a run is reproducible from its
 * seed and its events alone. Algorithm: mulberry32 (tiny, fast, good enough for jitter).
 */

/** Returns a float in [0, 1) and the next generator state. */
export const nextRandom = (seed: number): readonly [number, number] => {
  const next = (seed + 0x6d2b79f5) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 15), z | 1);
  z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
  const value = ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  return [value, next];
};
