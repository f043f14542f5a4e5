import pg from "pg";

/**
 * How long a query may wait for its answer before Herald checks that the server is still working
 * on it, in milliseconds, by default. A long statement the server is running (a recall of millions
 * of rows) is left alone; a query whose server or link went away is given up after this plus one
 * check (`QueryCheck.boundMs`), instead of the ~15 minutes Linux keeps retransmitting.
 */
export const defaultQueryCheckMs = 60_000;
/** The longest a check may take (connecting included), in milliseconds, by default. */
const defaultCheckBoundMs = 5_000;

/** What the pool's clients read at each query: `ms` 0 while the migrations run (never checked), then the store's. */
export interface QueryCheck {
  ms: number;
  /** The longest a check may take, connecting included (default 5 000 ms). */
  boundMs?: number;
}

/**
 * The pool's connection class: pg's Client, with two guards.
 *
 * 1. A connection that breaks while a query is out (a server restart or failover, a reset on the
 *    network) fails that query, as pg does, and nothing else. pg also emits the failure as an
 *    'error' event on the client, and pg-pool listens for it only while the client is idle: a
 *    checked-out client's 'error' had no listener, and Node turned it into an uncaught exception
 *    that ended the process. The query's own rejection carries the error to its caller.
 * 2. A query with no answer after `check.ms` goes on waiting while bytes of its answer keep
 *    arriving (a large result on a slow link); else it is checked from a new connection. It goes on
 *    waiting (checked again after as long) when the server refuses that connection (it answered:
 *    too many clients, a connection limit) or shows the session as anything but idle (running,
 *    waiting for a lock; `disabled` with track_activities off). It is given up when the server
 *    cannot be reached within `check.boundMs` (gone without a reset, a dropped route) or shows
 *    the session idle or not at all (another server took over): the statement is canceled on the
 *    server (best effort) and the connection closed. The query fails with an error that says so,
 *    later queries on that client (a transaction's ROLLBACK) fail with the same error, and the pool
 *    opens a new connection for the next.
 *    Behind PgBouncer the process id is PgBouncer's, never found: a query is then given up after
 *    `check.ms` of silence whatever the server does.
 */
export function guardedClient(check: QueryCheck): typeof pg.Client {
  class GuardedClient extends pg.Client {
    /** Set when a query was given up: every later query on this client fails with it. */
    givenUp: Error | undefined;
    readonly config: string | pg.ClientConfig | undefined;
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      this.config = config;
      this.on("error", ignore);
    }
  }
  GuardedClient.prototype.query = function checkedQuery(this: GuardedClient, ...args: unknown[]): unknown {
    if (this.givenUp) return Promise.reject(this.givenUp);
    // pg's own `query` as it is now: read at each call, so that whatever wraps it later (tracing
    // instrumentation patches pg.Client.prototype.query) still sees Herald's queries.
    const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
    const answer = query.apply(this, args);
    const ms = check.ms;
    // Herald (through Kysely) uses the promise form only; callbacks and streams go as pg has them.
    if (!(ms > 0 && ms < 2 ** 31) || !(answer instanceof Promise)) return answer;
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    let bytesSeen = bytesReadOf(this);
    const look = () => {
      const bytes = bytesReadOf(this);
      if (bytes !== bytesSeen) {
        bytesSeen = bytes;
        timer = setTimeout(look, ms);
        return;
      }
      void serverIsWorking(this, check.boundMs ?? defaultCheckBoundMs).then((working) => {
        if (answered || this.givenUp) return;
        if (working) {
          bytesSeen = bytesReadOf(this);
          timer = setTimeout(look, ms);
          return;
        }
        cancelOnServer(this);
        // Ends the connection at once: pg fails every query on it, and pg-pool drops the client when it is released.
        endSession(
          this,
          new Error(
            `PostgreSQL did not answer for ${ms / 1000} s and is not working on the query (the server or the network went away, or another server took over); Herald closed the connection and opens a new one for the next query.`,
          ),
        );
      });
    };
    timer = setTimeout(look, ms);
    return answer.then(
      (result: unknown) => {
        answered = true;
        clearTimeout(timer);
        return result;
      },
      (e: unknown) => {
        answered = true;
        clearTimeout(timer);
        if (this.givenUp) throw this.givenUp;
        if (endsSession(e)) endSession(this, e as Error);
        throw e;
      },
    );
  } as typeof pg.Client.prototype.query;
  return GuardedClient;
}

/**
 * Whether the server may still be working on the client's statement: it refused a new connection
 * with an error of its own (it is there, busy), or shows the session as anything but idle. False
 * when it cannot be reached within `boundMs`, or shows the session idle or not at all.
 */
async function serverIsWorking(client: pg.Client & { config: string | pg.ClientConfig | undefined }, boundMs: number): Promise<boolean> {
  const pid = (client as unknown as { processID?: number }).processID;
  const base = typeof client.config === "string" ? { connectionString: client.config } : (client.config ?? {});
  const probe = new pg.Client({ ...base, connectionTimeoutMillis: boundMs, application_name: "herald-check" });
  probe.on("error", ignore);
  const late = setTimeout(() => streamOf(probe)?.destroy(), boundMs);
  try {
    await probe.connect();
    const { rows } = await probe.query<{ state: string | null }>("select state from pg_stat_activity where pid = $1", [pid ?? -1]);
    const state = rows[0]?.state;
    return rows.length > 0 && !(typeof state === "string" && state.startsWith("idle"));
  } catch (e) {
    // An error the server sent (a SQLSTATE: too many clients, a role's connection limit): it is
    // there and busy. A network error or the bound: it is not reachable.
    return sqlState(e) !== undefined;
  } finally {
    clearTimeout(late);
    streamOf(probe)?.destroy();
  }
}

/** Ask the server to cancel the client's statement (PostgreSQL's cancel request, on a connection of its own); nothing waits for it. */
function cancelOnServer(client: pg.Client): void {
  const c = client as unknown as { processID?: number; secretKey?: number; connectionParameters?: { host?: string; port?: number } };
  const host = c.connectionParameters?.host;
  const port = c.connectionParameters?.port;
  if (c.processID === undefined || c.secretKey === undefined || host === undefined || port === undefined) return;
  try {
    const con = new pg.Connection() as pg.Connection & {
      connect(port: number | string, host?: string): void;
      cancel(pid: number, key: number): void;
    };
    con.on("error", ignore);
    con.once("connect", () => con.cancel(c.processID as number, c.secretKey as number));
    if (host.startsWith("/")) con.connect(`${host}/.s.PGSQL.${port}`);
    else con.connect(port, host);
    setTimeout(() => con.stream.destroy(), defaultCheckBoundMs).unref();
  } catch {
    // Best effort: the connection is closed anyway.
  }
}

/**
 * A FATAL error ends the server's session (pg_terminate_backend, a shutdown, a failover): the
 * socket closes an instant later, but pg answers the query first, and a pool that got the client
 * back in between handed it out again (a statement right after, such as a claim's give-back,
 * then failed on it).
 */
function endsSession(e: unknown): boolean {
  const severity = (e as { severity?: unknown } | null)?.severity;
  // The SQLSTATE too: the severity is in the server's language (lc_messages).
  return severity === "FATAL" || severity === "PANIC" || sqlState(e)?.startsWith("57P") === true;
}

/** The SQLSTATE of an error the server sent, else undefined (a network error: ECONNREFUSED, EPIPE, a timeout). */
function sqlState(e: unknown): string | undefined {
  return e instanceof pg.DatabaseError ? e.code : undefined;
}

/** Bytes read on the client's socket so far. */
function bytesReadOf(client: pg.Client): number {
  return streamOf(client)?.bytesRead ?? 0;
}

/** No more queries on this client (each fails with `e`), and pg-pool drops it when it is released (its own test: `_queryable`). */
function endSession(client: pg.Client & { givenUp: Error | undefined }, e: Error): void {
  client.givenUp = e;
  (client as unknown as { _queryable: boolean })._queryable = false;
  streamOf(client)?.destroy();
}

function ignore(): void {}

/** The client's socket (pg keeps it on its connection). */
function streamOf(client: pg.Client): Socket | undefined {
  return (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
}

type Socket = { destroy(): void; readonly bytesRead?: number };
