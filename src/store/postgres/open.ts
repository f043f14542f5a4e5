import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { StoreError } from "../errors.js";
import type { SqlBackend } from "../kysely/backend.js";
import type { Database } from "../kysely/schema.js";
import { type KyselyStore, openKyselyStore } from "../kysely/store.js";
import { defaultQueryCheckMs, guardedClient, type QueryCheck } from "./guarded-client.js";
import { postgresTypeParsers } from "./types.js";

/** Connections in the pool; the delivery engine's batched writes need few. */
export const postgresPoolSize = 10;
/** How long to wait for a connection before failing (and `ready()` answering false), in milliseconds. */
export const postgresConnectTimeoutMs = 5_000;

/** First key of Herald's advisory locks ("HRLD"); the second is a hash of the schema name. */
const lockClass = 0x48524c44;

export interface PostgresStoreOptions {
  /**
   * The schema holding Herald's tables, created if missing; default: the server's `search_path`
   * (normally `public`). Letters, digits and `_`, not starting with a digit.
   */
  schema?: string | undefined;
  /**
   * After this long without an answer, in milliseconds, a query is checked from a new connection
   * and given up (its connection closed) when the server cannot be reached or is not working on
   * it (guarded-client.ts); 0: never. Default 60 000. The migrations at open are never checked.
   */
  queryCheckMs?: number | undefined;
}

/**
 * Connect a pool to `url` (`postgres://user:password@host:port/database`) and apply pending
 * migrations. Migrations run under a transaction-scoped advisory lock keyed by the schema, so
 * several processes starting together apply them once. With `schema`, every pooled connection
 * has `search_path` set to it, so the store's queries never name a schema.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<KyselyStore> {
  const { schema, queryCheckMs = defaultQueryCheckMs } = options;
  if (schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new StoreError(
      "HERALD_E_STORE_SCHEMA",
      `The PostgreSQL schema "${schema.slice(0, 80)}" is not a plain identifier; use letters, digits and _ (at most 63, not starting with a digit).`,
    );
  }
  const { connectionString, options: urlOptions } = splitOptions(url);
  // Not checked until the migrations are done: an upgrade's may rewrite or index whole tables.
  const check: QueryCheck = { ms: 0 };
  const pool = new pg.Pool({
    Client: guardedClient(check),
    connectionString,
    max: postgresPoolSize,
    connectionTimeoutMillis: postgresConnectTimeoutMs,
    // Operators find Herald's sessions in pg_stat_activity by name; an application_name in the URL
    // or PGAPPNAME wins (a fallback is used only when neither names it).
    fallback_application_name: "herald",
    // TCP keepalive (first probe after 10 s idle; the operating system's interval and count after
    // that): an idle pooled connection whose server or network went away is noticed and dropped
    // (pool 'error' below) instead of failing the first query sent on it after a long quiet.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // timestamptz, boolean and jsonb read back as the shared store code expects them (./types.ts).
    types: postgresTypeParsers,
    // DateStyle and TimeZone pinned: ./types.ts reads timestamptz in ISO output (a server or role
    // set to DateStyle SQL/German/Postgres would make every time unreadable); UTC takes its fast path.
    // The operator's own options come first (the pins after them win): the URL's `options` (e.g.
    // `-c search_path=…`), else the environment's PGOPTIONS, as libpq and pg read them. pg reads
    // PGOPTIONS only when given no `options`, and Herald always gives some.
    options: [
      urlOptions ?? (process.env.PGOPTIONS || undefined),
      "-c DateStyle=ISO -c TimeZone=UTC",
      schema !== undefined ? `-c search_path=${schema}` : undefined,
    ]
      .filter(Boolean)
      .join(" "),
  });
  // An idle connection that breaks (server restart) is dropped from the pool; the next query opens
  // a new one or fails with its own error. Without a listener the pool's 'error' would crash the process.
  pool.on("error", () => {});
  const backend: SqlBackend = {
    dialect: "postgres",
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    lockForMigrations: async (trx) => {
      await sql`select pg_advisory_xact_lock(${lockClass}, ${lockKey(schema ?? "")})`.execute(trx);
      if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    },
  };
  const store = await openKyselyStore(backend, describe(url, schema));
  check.ms = queryCheckMs;
  return store;
}

/**
 * The URL without its `options` query parameters, and the last one's value (as pg reads it): pg
 * lets a URL's `options` replace the pool's, which would drop Herald's DateStyle and TimeZone
 * pins; Herald joins them instead. Done on the query string alone: pg also takes URLs that WHATWG
 * URL does not (`postgres://user:pw@/db?host=/run/postgresql`, an empty host).
 */
export function splitOptions(url: string): { connectionString: string; options: string | undefined } {
  const q = url.indexOf("?");
  if (q < 0) return { connectionString: url, options: undefined };
  let options: string | undefined;
  const kept: string[] = [];
  for (const pair of url.slice(q + 1).split("&")) {
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    if (decodeQuery(name) === "options") options = decodeQuery(eq < 0 ? "" : pair.slice(eq + 1));
    else kept.push(pair);
  }
  if (options === undefined) return { connectionString: url, options: undefined };
  return { connectionString: kept.length > 0 ? `${url.slice(0, q)}?${kept.join("&")}` : url.slice(0, q), options };
}

/** A query component as URLSearchParams (pg's parser) reads it: `+` is a space; a bad escape is kept as written. */
function decodeQuery(s: string): string {
  const spaced = s.replace(/\+/g, " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** FNV-1a of the schema name as a signed 32-bit integer (the advisory lock's second key). */
export function lockKey(schema: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(schema, "utf8")) hash = Math.imul(hash ^ byte, 0x01000193);
  return hash | 0;
}

/** The database for messages: host, port, database and schema, never the password. */
function describe(url: string, schema: string | undefined): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}${u.pathname}${schema ? ` (schema ${schema})` : ""}`;
  } catch {
    return "the configured URL";
  }
}
