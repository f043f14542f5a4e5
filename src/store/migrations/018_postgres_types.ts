import { type Kysely, sql } from "kysely";
import type { Migration } from "./migration.js";

/**
 * PostgreSQL's own types for what operators query from their tools (Grafana, Metabase, psql):
 * times become `timestamptz`, flags `boolean`, stored JSON documents `jsonb`. Until now every
 * table had SQLite's shape on PostgreSQL too (ISO text, 0/1 integers, JSON text). SQLite keeps
 * that shape: this migration does nothing there.
 *
 * The conversion is in place (`ALTER COLUMN ... TYPE ... USING`): values, indexes and defaults
 * are kept (a flag's default is dropped before and set again after, as `0`/`1` cannot be cast).
 * Each table is rewritten once under an ACCESS EXCLUSIVE lock, by one `ALTER TABLE` naming all
 * its columns: see docs/deployment.md ("Upgrading to PostgreSQL types") for its time on a large
 * database. `delivery_workers.heartbeat_at` (integer ms) becomes a `timestamptz` too: heartbeats
 * are now written and judged on the database's clock (`now()`). The engine's other integer-ms
 * columns (`deliveries.due_at`, `deliveries.first_attempt_at`, `frequency_sends.at`) stay
 * `bigint`: the claim reads them on every send.
 *
 * The store converts at the PostgreSQL edge (../postgres/types.ts), so the values crossing the
 * ports keep their TypeScript types (ISO strings, 0/1, JSON text).
 */
export const m018PostgresTypes: Migration = {
  name: "018_postgres_types",
  async up(db, dialect) {
    if (dialect !== "postgres") return;
    // Rewriting large tables takes a while (27 s per million deliveries measured): a role's or a
    // managed database's statement_timeout must not cut it off halfway (it would roll back and
    // stop every start). LOCAL: for this migration's transaction only.
    await sql`set local statement_timeout = 0`.execute(db);
    for (const [table, columns] of Object.entries(postgresTypes)) {
      for (const [column, change] of Object.entries(columns)) {
        if (change.type === "jsonb") await storableJson(db, table, column);
      }
      const clauses: string[] = [];
      for (const [column, change] of Object.entries(columns)) {
        const c = `"${column}"`;
        if (change.default !== undefined) clauses.push(`alter column ${c} drop default`);
        clauses.push(`alter column ${c} type ${change.type} using ${change.using.replaceAll("$", c)}`);
        if (change.default !== undefined) clauses.push(`alter column ${c} set default ${change.default}`);
      }
      await sql.raw(`alter table "${table}" ${clauses.join(", ")}`).execute(db);
    }
  },
};

/**
 * JSON text written before the API refused them may hold an escaped NUL (`\u0000`) or a lone
 * surrogate (`\ud800`): text stored them, `jsonb` cannot (22P05), and one such row would fail the
 * whole migration. Those characters become U+FFFD first (only rows whose text has such an escape
 * are read: the `~*` filter is a scan, no rewrite).
 */
async function storableJson(db: Kysely<unknown>, table: string, column: string): Promise<void> {
  const { rows } = await sql<{
    ctid: string;
    value: string;
  }>`select ctid::text as ctid, ${sql.ref(column)} as value from ${sql.table(table)}
    where ${sql.ref(column)} ~* ${"\\\\u(0000|d[89a-f])"}`.execute(db);
  for (const r of rows) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.value);
    } catch {
      continue; // not JSON at all: the cast below fails and names it
    }
    await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${JSON.stringify(storable(parsed))} where ctid = ${r.ctid}::tid`.execute(
      db,
    );
  }
}

const storableText = (s: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing NUL is the point
  s.replace(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");

/** A parsed JSON value with every string and key storable in jsonb. */
function storable(v: unknown): unknown {
  if (typeof v === "string") return storableText(v);
  if (Array.isArray(v)) return v.map(storable);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [storableText(k), storable(x)]));
  return v;
}

interface ColumnChange {
  readonly type: string;
  /** The USING expression, `$` standing for the column. */
  readonly using: string;
  /** The default to set again after the conversion (the old one cannot be cast). */
  readonly default?: string;
}

const time: ColumnChange = { type: "timestamptz", using: "$::timestamptz" };
const msTime: ColumnChange = { type: "timestamptz", using: "to_timestamp($ / 1000.0)" };
const flag: ColumnChange = { type: "boolean", using: "$ <> 0" };
const flagDefault = (on: boolean): ColumnChange => ({ ...flag, default: on ? "true" : "false" });
const json: ColumnChange = { type: "jsonb", using: "$::jsonb" };

/**
 * Every column this migration converts, by table, as migrations 001-017 left them. Exported for
 * the migration's test, which checks that no other column holds a time, a flag or JSON.
 */
export const postgresTypes: Readonly<Record<string, Readonly<Record<string, ColumnChange>>>> = {
  herald_migrations: { applied_at: time },
  conversations: {
    installed_at: time,
    last_activity_at: time,
    status_changed_at: time,
    blocked_retry_at: time,
    archived: flagDefault(false),
    created_at: time,
    updated_at: time,
  },
  preferences: {
    opted_out: flagDefault(false),
    opted_out_categories: { ...json, default: `'[]'::jsonb` },
    updated_at: time,
  },
  notifications: {
    active: flagDefault(true),
    audience: json,
    message: json,
    data: json,
    created_at: time,
    scheduled_at: time,
    started_at: time,
    completed_at: time,
    canceled_at: time,
    updated_at: time,
    expansion_done: flagDefault(false),
    expansion_cursor: json,
    schedule: json,
    series_run_at: time,
    footer: flag,
  },
  deliveries: {
    sent_at: time,
    updated_at: time,
    retry_blocked: flag,
    read_at: time,
    not_before: time,
    held_until: time,
  },
  delivery_workers: { started_at: time, heartbeat_at: msTime },
  paused_tenants: { paused_at: time },
  api_keys: { scopes: json, tenants: json, team_limit: json, group_limit: json, created_at: time, revoked_at: time },
  audit_log: { at: time, details: json, tenants: json },
  responses: { value: json, created_at: time },
  response_voters: { created_at: time },
  response_reactions: { created_at: time },
  survey_sessions: { state: json, expires_at: time, updated_at: time },
  notification_series: {
    caller_tenants: json,
    audience: json,
    message: json,
    data: json,
    local_time: flagDefault(false),
    until: time,
    next_run_at: time,
    last_run_at: time,
    pending_run_at: time,
    pending_since: time,
    created_at: time,
    updated_at: time,
  },
  tenant_settings: { working_days: json, updated_at: time },
  installation_jobs: { audience: json, created_at: time, completed_at: time },
  installation_items: { at: time },
  drafts: { request: json, tenants: json, created_at: time, updated_at: time },
  approvals: { decided_at: time },
  templates: { message: json, options: json, tenants: json, created_at: time, updated_at: time },
};
