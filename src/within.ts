/**
 * `p`, or a rejection (NoAnswer) once `ms` have passed without its answer. `p` itself goes on (a
 * query cannot be taken back); the answer returned here ignores what it does later (keep `p` to
 * see it). For waits that must not hang on a connection that died without a reset (a database
 * failover, a cut network): a heartbeat, a measure of the database's clock.
 */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NoAnswer(`${what} got no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** What `within` rejects with when `p` did not answer in time (as opposed to `p`'s own error). */
export class NoAnswer extends Error {}

/** `p`'s value, or `fallback` once `ms` have passed without its answer (`p`'s own error still rejects). */
export async function withinOr<T, F>(p: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  try {
    return await within(p, ms, "a bounded wait");
  } catch (e) {
    if (e instanceof NoAnswer) return fallback;
    throw e;
  }
}
