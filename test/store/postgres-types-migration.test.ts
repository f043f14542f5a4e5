import { randomBytes } from "node:crypto";
import { Kysely, PostgresDialect, sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { NewDelivery } from "../../src/delivery/model.js";
import type { SqlBackend } from "../../src/store/kysely/backend.js";
import { migrate } from "../../src/store/kysely/migrator.js";
import type { Database } from "../../src/store/kysely/schema.js";
import { KyselyStore } from "../../src/store/kysely/store.js";
import { m018PostgresTypes, postgresTypes } from "../../src/store/migrations/018_postgres_types.js";
import { migrations } from "../../src/store/migrations/index.js";
import { postgresTypeParsers } from "../../src/store/postgres/types.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * Migration 018_postgres_types on a database left by 001-015: every table filled (through the
 * store where it writes the table, and one generic row plus one all-null row per table so no
 * table or column is missed), then migrated in place. Every value must survive with its new
 * type, no text column may still hold a time or a JSON document, the defaults and indexes
 * stay, and the store reads back what it read before.
 */
const schema = `herald_m016_${randomBytes(5).toString("hex")}`;
const at = (i: number) => new Date(Date.UTC(2025, 2, 1, 9, 0, i, 123)).toISOString();
const typesIndex = migrations.indexOf(m018PostgresTypes);

type Row = Record<string, unknown>;
interface Column {
  table_name: string;
  column_name: string;
  data_type: string;
  is_nullable: string;
  column_default: string | null;
  is_identity: string;
}

let pool: pg.Pool;
let backend: SqlBackend;
let store: KyselyStore;

const query = async <T extends Row>(text: string, values: unknown[] = []): Promise<T[]> => (await pool.query<T>(text, values)).rows;
const columns = () =>
  query<Column & Row>(
    `select table_name, column_name, data_type, is_nullable, column_default, is_identity
       from information_schema.columns where table_schema = $1 order by table_name, ordinal_position`,
    [schema],
  );
const indexes = () =>
  query<{ indexname: string; indexdef: string }>("select indexname, indexdef from pg_indexes where schemaname = $1 order by indexname", [
    schema,
  ]);
const primaryKey = async (table: string): Promise<string[]> =>
  (
    await query<{ attname: string }>(
      `select a.attname from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = $1::regclass and i.indisprimary order by a.attname`,
      [`"${schema}"."${table}"`],
    )
  ).map((r) => r.attname);

/** Every row of every table, in primary key order. */
async function dump(tables: readonly string[]): Promise<Map<string, Row[]>> {
  const out = new Map<string, Row[]>();
  for (const t of tables) {
    const key = (await primaryKey(t)).map((c) => `"${c}"`).join(", ");
    out.set(t, await query(`select * from "${t}" order by ${key}`));
  }
  return out;
}

/** What the store reads of the rows it wrote (compared before and after the migration). */
async function appView(s: KyselyStore, ids: { conversation: string; notification: string; job: string }) {
  return {
    conversation: await s.conversations.get(ids.conversation),
    preference: await s.preferences.get("t-m", "u-m"),
    tenant: await s.preferences.tenantSettings("t-m"),
    notification: await s.deliveries.getNotification(ids.notification),
    deliveries: await s.deliveries.listDeliveries(ids.notification, {}, { limit: 50 }),
    keys: await s.apiKeys.list(),
    audit: await s.audit.list({ limit: 50 }),
    job: await s.installations.get(ids.job),
    items: await s.installations.items(ids.job, -1, 50),
  };
}

/** A value for a column in the shape the 015 code writes: canonical ISO text, 0/1, JSON text. */
function generic(c: Column, tag: string, n: number): unknown {
  const change = postgresTypes[c.table_name]?.[c.column_name];
  if (change?.type === "jsonb") return JSON.stringify({ tag, list: [n, "x", null, true], nested: { é: "ü", n: 1.5 } });
  if (change?.type === "boolean") return n % 2;
  if (change?.type === "timestamptz") return c.data_type === "bigint" ? Date.parse(at(n)) : at(n);
  // A time column the migration's list missed still gets a time: the text-column check below finds it.
  if (c.data_type === "text" && /(^|_)(at|until|since)$/.test(c.column_name)) return at(n);
  if (c.data_type === "text") return `${tag}-${c.column_name}`;
  // A later migration's column, created with its PostgreSQL type already.
  if (c.data_type === "timestamp with time zone") return at(n);
  return n;
}

beforeAll(async () => {
  expect(typesIndex).toBeGreaterThan(0);
  pool = new pg.Pool({ connectionString: testPostgresUrl, max: 4, options: `-c search_path=${schema}`, types: postgresTypeParsers });
  backend = {
    dialect: "postgres",
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    lockForMigrations: async (trx) => {
      await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    },
  };
  // The database as the previous release left it: every migration before this one. The later ones
  // (additive: new columns, already typed for PostgreSQL) are applied too, so that today's store
  // code, which writes their columns, can fill the tables; 018 does not touch them.
  await migrate(backend, migrations.slice(0, typesIndex));
  for (const later of migrations.slice(typesIndex + 1)) await later.up(backend.db as unknown as Kysely<unknown>, "postgres");
  store = new KyselyStore(backend);
});

afterAll(async () => {
  await backend.db.destroy();
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});

describe("migration 018_postgres_types on a database at 015", () => {
  it("converts every time, flag and JSON column in place; values, defaults, indexes and the store's reads are kept", async () => {
    // --- rows as the store writes them ---
    const { record: conversation } = await store.conversations.upsert({
      id: "a:conv-m",
      kind: "personal",
      tenantId: "t-m",
      serviceUrl: "https://smba.example/teams/",
      channelId: "msteams",
      bot: { id: "28:bot", name: "Herald" },
      user: { id: "29:u-m", name: "Ada", aadObjectId: "aad-m" },
      installedBy: { id: "29:u-m", name: "Ada" },
      status: "active",
      at: at(2),
    });
    await store.conversations.setStatus(conversation.id, "blocked", "403/MessageWritesBlocked", at(3));
    await store.preferences.setOptedOutCategories("t-m", "u-m", ["surveys", "polls"], at(4));
    await store.preferences.setOptedOut("t-m", "u-m", true, at(5));
    await store.preferences.putTenantSettings({
      tenantId: "t-m",
      timeZone: "Europe/Paris",
      quietHours: { start: "22:00", end: "07:00" },
      workingDays: ["sat", "sun"],
      updatedAt: at(6),
    });
    const rows: NewDelivery[] = [0, 1, 2].map((i) => ({
      recipientKey: `conv:m:${i}`,
      kind: "conversation",
      tenantId: "t-m",
      conversationId: `m:${i}`,
      serviceUrl: "https://smba.example/",
      status: "pending",
    }));
    const t0 = Date.parse(at(7));
    const { notification } = await store.deliveries.createNotification(
      {
        id: "n_m016",
        createdBy: "k",
        requestHash: "h",
        audience: { conversations: ["m:0", "m:1", "m:2"] },
        message: { text: "hello", card: { b: 1, a: [1, 2] } },
        data: { z: "last", a: "first" },
        category: "surveys",
        createdAt: t0,
        expansionDone: true,
      },
      rows,
    );
    const jobs = await store.deliveries.claim("w-m", notification.id, "t-m", t0 + 10, 3);
    expect(jobs).toHaveLength(3);
    await store.deliveries.markInflight("w-m", jobs, t0 + 11);
    // A sent row as 015's result path wrote it (this code's result statement speaks timestamptz).
    await query(
      "update deliveries set status = 'sent', queue = null, lease_owner = null, activity_id = 'act-1', sent_at = $1, retry_blocked = 1 where seq = 0",
      [at(16)],
    );
    await query("update notifications set pending = pending - 1, sent = sent + 1, started_at = $1, footer = 1 where id = $2", [
      at(17),
      notification.id,
    ]);
    await store.apiKeys.create({
      id: "key-m",
      name: "ops",
      hash: "ab".repeat(32),
      scopes: ["send", "read"],
      tenants: ["t-m"],
      createdAt: at(8),
      createdBy: "root",
    });
    await store.apiKeys.revoke("key-m", at(9));
    await store.audit.record({
      at: at(10),
      actor: "key-m",
      action: "notification.create",
      target: "n_m016",
      details: { count: 3 },
      tenants: ["t-m"],
    });
    await store.installations.create({ id: "job-m", createdBy: "k", tenantId: "t-m", audience: { users: ["u-m"] }, createdAt: at(11) });
    await store.installations.record("job-m", [{ userId: "u-m", status: "installed", at: at(12) }]);
    await store.installations.finish("job-m", at(13));
    // delivery_workers as 015 wrote it (heartbeat_at in integer ms).
    await query("insert into delivery_workers (id, started_at, heartbeat_at) values ($1, $2, $3)", ["w-m", at(14), Date.parse(at(15))]);

    // --- one full and one all-null row in every table, so no column goes unchecked ---
    const before015 = await columns();
    const tables = [...new Set(before015.map((c) => c.table_name))];
    for (const t of tables) {
      const cols = before015.filter((c) => c.table_name === t && c.is_identity !== "YES" && !c.column_default?.startsWith("nextval"));
      for (const [tag, n] of [
        ["full", 1],
        ["null", 2],
      ] as const) {
        const values = cols.map((c) => (tag === "null" && c.is_nullable === "YES" ? null : generic(c, tag, n)));
        await query(
          `insert into "${t}" (${cols.map((c) => `"${c.column_name}"`).join(", ")}) values (${cols.map((_, i) => `$${i + 1}`).join(", ")})`,
          values,
        );
      }
    }

    const ids = { conversation: conversation.id, notification: notification.id, job: "job-m" };
    const viewBefore = await appView(store, ids);
    const indexesBefore = await indexes();
    const before = await dump(tables);
    for (const t of tables) expect(before.get(t)?.length ?? 0, t).toBeGreaterThanOrEqual(2);

    // --- the migration ---
    expect(await migrate(backend, migrations.slice(0, typesIndex + 1))).toEqual([m018PostgresTypes.name]);

    // Types: every converted column has its PostgreSQL type; the defaults are kept.
    const after016 = await columns();
    const typeName: Record<string, string> = { timestamptz: "timestamp with time zone", boolean: "boolean", jsonb: "jsonb" };
    for (const [t, cols] of Object.entries(postgresTypes))
      for (const [c, change] of Object.entries(cols)) {
        const col = after016.find((x) => x.table_name === t && x.column_name === c);
        expect(col?.data_type, `${t}.${c}`).toBe(typeName[change.type]);
        if (change.default !== undefined) expect(col?.column_default, `${t}.${c}`).toBe(change.default);
      }
    expect(after016.length).toBe(before015.length);
    expect(await indexes()).toEqual(indexesBefore);

    // Values: the same rows, each value the same time / flag / document / text.
    const after = await dump(tables);
    for (const t of tables) {
      const was = before.get(t) ?? [];
      // herald_migrations gains this migration's own row.
      const now = (after.get(t) ?? []).filter((r) => !(t === "herald_migrations" && r["name"] === m018PostgresTypes.name));
      expect(now.length, t).toBe(was.length);
      now.forEach((row, i) => {
        const old = was[i] as Row;
        for (const [c, value] of Object.entries(row)) {
          const change = postgresTypes[t]?.[c];
          const where = `${t}.${c} row ${i}`;
          const prior = old[c];
          if (prior === null || prior === undefined) expect(value, where).toBeNull();
          else if (change?.type === "timestamptz")
            expect(value, where).toBe(typeof prior === "string" && !/^\d+$/.test(prior) ? prior : new Date(Number(prior)).toISOString());
          else if (change?.type === "boolean") expect(value, where).toBe(Number(prior) !== 0 ? 1 : 0);
          else if (change?.type === "jsonb") expect(JSON.parse(value as string), where).toEqual(JSON.parse(prior as string));
          else expect(value, where).toEqual(prior);
        }
      });
    }

    // No text column still holds a time or a JSON document; no integer column is a converted flag.
    for (const c of after016) {
      if (c.data_type !== "text") continue;
      for (const row of after.get(c.table_name) ?? []) {
        const v = row[c.column_name];
        if (typeof v !== "string") continue;
        expect(/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v), `${c.table_name}.${c.column_name} holds a time: ${v}`).toBe(false);
        let doc: unknown;
        try {
          doc = JSON.parse(v);
        } catch {
          doc = undefined;
        }
        expect(doc !== null && typeof doc === "object", `${c.table_name}.${c.column_name} holds JSON: ${v}`).toBe(false);
      }
    }
    const flags = Object.entries(postgresTypes).flatMap(([t, cols]) =>
      Object.entries(cols)
        .filter(([, ch]) => ch.type === "boolean")
        .map(([c]) => `${t}.${c}`),
    );
    expect(flags.sort()).toEqual([
      "conversations.archived",
      "deliveries.retry_blocked",
      "notification_series.local_time",
      "notifications.active",
      "notifications.expansion_done",
      "notifications.footer",
      "preferences.opted_out",
    ]);
    const integers = after016
      .filter((c) => ["integer", "bigint", "smallint"].includes(c.data_type))
      .map((c) => `${c.table_name}.${c.column_name}`);
    for (const f of flags) expect(integers).not.toContain(f);

    // The store reads back what it read before.
    expect(await appView(store, ids)).toEqual(viewBefore);
  });
});
