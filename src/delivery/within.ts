/**
 * `p`, or a rejection once `ms` have passed without its answer. `p` itself goes on (a query cannot
 * be taken back); its late answer or error is ignored. For waits that must not hang on a
 * connection that died without a reset (a database failover, a cut network): a heartbeat, a
 * measure of the database's clock.
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
