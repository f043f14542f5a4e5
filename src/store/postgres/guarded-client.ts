import pg from "pg";

/**
 * How long a query may go without an answer before its connection is given up, in milliseconds,
 * by default: far above any statement Herald runs outside its migrations (which are not bounded),
 * far below the ~15 minutes Linux keeps retransmitting to a server that went away.
 */
export const defaultQueryTimeoutMs = 120_000;

/** The bound the pool's clients read at each query: 0 while the migrations run (never bounded), then the store's. */
export interface QueryBound {
  ms: number;
}

/**
 * The pool's connection class: pg's Client, with two guards.
 *
 * 1. A connection that breaks while a query is out (a server restart or failover, a reset on the
 *    network) fails that query, as pg does, and nothing else. pg also emits the failure as an
 *    'error' event on the client, and pg-pool listens for it only while the client is idle: a
 *    checked-out client's 'error' had no listener, and Node turned it into an uncaught exception
 *    that ended the process. The query's own rejection carries the error to its caller.
 * 2. A query with no answer after `bound.ms` closes its connection: the query fails with an error
 *    that says so, and the pool opens a new connection for the next. A server or network that went
 *    away without a reset (a failover, a dropped route) otherwise leaves the query waiting for
 *    TCP to give up, about 15 minutes on Linux with data unacknowledged (keepalive only probes an
 *    idle connection), and whatever waits for it (a batched write, a takeover) with it.
 */
export function guardedClient(bound: QueryBound): typeof pg.Client {
  class GuardedClient extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      this.on("error", ignore);
    }
  }
  GuardedClient.prototype.query = function boundedQuery(this: pg.Client, ...args: unknown[]): unknown {
    // pg's own `query` as it is now: read at each call, so that whatever wraps it later (tracing
    // instrumentation patches pg.Client.prototype.query) still sees Herald's queries.
    const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
    const answer = query.apply(this, args);
    const ms = bound.ms;
    // Herald (through Kysely) uses the promise form only; callbacks and streams go as pg has them.
    if (!(ms > 0) || !(answer instanceof Promise)) return answer;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // Ends the connection at once: pg fails every query on it, and pg-pool drops the client when it is released.
      streamOf(this)?.destroy();
    }, ms);
    return answer.then(
      (result: unknown) => {
        clearTimeout(timer);
        return result;
      },
      (e: unknown) => {
        clearTimeout(timer);
        if (!timedOut) throw e;
        throw new Error(
          `PostgreSQL did not answer within ${ms / 1000} s; Herald closed the connection (a server or network that went away, or a statement blocked that long) and opens a new one for the next query.`,
          { cause: e },
        );
      },
    );
  } as typeof pg.Client.prototype.query;
  return GuardedClient;
}

function ignore(): void {}

/** The client's socket (pg keeps it on its connection). */
function streamOf(client: pg.Client): { destroy(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
}
