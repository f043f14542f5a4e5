/**
 * A subset of `size` users out of a tenant's `n`, stored as three numbers: member k is user
 * `(offset + k * step) mod n` (step coprime with n, so members are distinct). Enumerating,
 * paging and testing membership are O(1) with no per-member memory.
 */
export interface Stride {
  n: number;
  size: number;
  offset: number;
  step: number;
  /** Inverse of step modulo n. */
  inverse: number;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** (a * b) mod m without losing precision (a, b < m < 2^26 fits doubles; larger via split). */
export function mulMod(a: number, b: number, m: number): number {
  if (a * b < Number.MAX_SAFE_INTEGER) return (a * b) % m;
  const hi = Math.floor(b / 65536);
  const lo = b % 65536;
  return (((a * hi) % m) * 65536 + a * lo) % m;
}

function inverseMod(a: number, m: number): number {
  if (m === 1) return 0;
  let [oldR, r] = [a, m];
  let [oldS, s] = [1, 0];
  while (r !== 0) {
    const q = Math.floor(oldR / r);
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return ((oldS % m) + m) % m;
}

/** A stride of `size` members among `n`, starting at `offset`, stepping by about `step`. */
export function makeStride(n: number, size: number, offset: number, step: number): Stride {
  if (n <= 0) return { n: 0, size: 0, offset: 0, step: 1, inverse: 0 };
  let s = step % n || 1;
  while (gcd(s, n) !== 1) s = (s % n) + 1;
  return { n, size: Math.min(size, n), offset: offset % n, step: s, inverse: inverseMod(s, n) };
}

/** Position (0..n-1, relative to the tenant) of member k. */
export function strideAt(st: Stride, k: number): number {
  return (st.offset + mulMod(k, st.step, st.n)) % st.n;
}

/** Whether position j (relative to the tenant) is a member. */
export function strideHas(st: Stride, j: number): boolean {
  if (st.n === 0 || j < 0 || j >= st.n) return false;
  const k = mulMod((j - st.offset + st.n) % st.n, st.inverse, st.n);
  return k < st.size;
}
