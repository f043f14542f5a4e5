/**
 * Deterministic 32-bit hashing and a keyed 32-bit permutation: the organisation derives every
 * user, team and id from (seed, kind, index) with these instead of storing objects, so a
 * million users cost no memory and any id can be turned back into its index.
 */

/** Finaliser of a 32-bit integer hash (good avalanche; from the "lowbias32" family). */
export function mix32(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of (seed, kind, index, k) to an unsigned 32-bit integer. */
export function hash32(seed: number, kind: number, index: number, k = 0): number {
  let h = mix32(seed ^ Math.imul(kind + 1, 0x9e3779b1));
  h = mix32(h ^ index);
  h = mix32(h ^ Math.imul(k + 1, 0x85ebca6b) ^ Math.floor(index / 4294967296));
  return h;
}

/** Hash mapped to [0, 1). */
export function unit(seed: number, kind: number, index: number, k = 0): number {
  return hash32(seed, kind, index, k) / 4294967296;
}

/** Hash mapped to an integer in [0, n). */
export function pick(n: number, seed: number, kind: number, index: number, k = 0): number {
  return Math.floor(unit(seed, kind, index, k) * n);
}

const ROUNDS = 4;

function roundKey(seed: number, kind: number, round: number): number {
  return hash32(seed, kind, 0x5eed, round + 100);
}

/**
 * A bijection of [0, 2^32) keyed by (seed, kind): a 4-round Feistel network on two 16-bit
 * halves. Consecutive indexes give unrelated-looking values, and `unpermute` inverts it.
 */
export function permute(seed: number, kind: number, value: number): number {
  let left = (value >>> 16) & 0xffff;
  let right = value & 0xffff;
  for (let r = 0; r < ROUNDS; r++) {
    const next = left ^ (mix32(right ^ roundKey(seed, kind, r)) & 0xffff);
    left = right;
    right = next;
  }
  return ((left << 16) | right) >>> 0;
}

/** Inverse of `permute`. */
export function unpermute(seed: number, kind: number, value: number): number {
  let left = (value >>> 16) & 0xffff;
  let right = value & 0xffff;
  for (let r = ROUNDS - 1; r >= 0; r--) {
    const prev = right ^ (mix32(left ^ roundKey(seed, kind, r)) & 0xffff);
    right = left;
    left = prev;
  }
  return ((left << 16) | right) >>> 0;
}

/** A small seeded PRNG (mulberry32) for streams of decisions, e.g. fault injection. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
