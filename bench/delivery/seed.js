// Stored conversation references for the benchmark, written straight into the SQLite file
// (one prepared INSERT in 50,000-row transactions: a million in a few seconds). The ids come
// from the emulator's organisation generated with the same seed and spec, as installs would
// have recorded them.
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { GeneratedOrg } from "../../dist/emulator/index.js";
import { openStore } from "../../dist/store/open.js";

/** Create the database (migrations) and store the personal chats of users [0, count). */
export async function seedPersonalChats(path, { seed, spec, count, serviceUrl, appId }) {
  const store = await openStore(`sqlite:${path}`);
  await store.close();
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  const org = new GeneratedOrg(seed, spec);
  const insert = db.prepare(
    `insert into conversations (id, kind, tenant_id, service_url, channel_id, bot_id, user_id, user_name, user_aad_object_id, locale,
       last_activity_at, status, archived, created_at, updated_at)
     values (?, 'personal', ?, ?, 'msteams', ?, ?, ?, ?, ?, ?, 'active', 0, ?, ?)`,
  );
  const now = new Date().toISOString();
  const write = db.transaction((from, to) => {
    for (let i = from; i < to; i++) {
      const u = org.user(i);
      insert.run(
        org.personalConversationId(i),
        u.tenantId,
        serviceUrl,
        `28:${appId}`,
        u.id,
        u.name,
        u.aadObjectId,
        u.locale,
        now,
        now,
        now,
      );
    }
  });
  for (let i = 0; i < count; i += 50_000) write(i, Math.min(count, i + 50_000));
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return org;
}

/**
 * PostgreSQL: a fresh database `name` on the server of `adminUrl` (dropped first if a previous
 * run left it), migrated by Herald, holding the personal chats of users [0, count) (multi-row
 * INSERTs of 1,000). Returns its URL; `dropPostgresDatabase` removes it.
 */
export async function seedPostgresChats(adminUrl, name, { seed, spec, count, serviceUrl, appId }) {
  const pg = (await import("pg")).default;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const store = await openStore(url.href);
  await store.close();
  const client = new pg.Client({ connectionString: url.href });
  await client.connect();
  try {
    const org = new GeneratedOrg(seed, spec);
    const now = new Date().toISOString();
    const cols = 10;
    for (let from = 0; from < count; from += 1000) {
      const to = Math.min(count, from + 1000);
      const params = [];
      const tuples = [];
      for (let i = from; i < to; i++) {
        const u = org.user(i);
        const b = params.length;
        params.push(org.personalConversationId(i), u.tenantId, serviceUrl, `28:${appId}`, u.id, u.name, u.aadObjectId, u.locale, now, now);
        const p = (k) => `$${b + k}`;
        tuples.push(
          `(${p(1)}, 'personal', ${p(2)}, ${p(3)}, 'msteams', ${p(4)}, ${p(5)}, ${p(6)}, ${p(7)}, ${p(8)}, ${p(9)}, 'active', ${p(10)}, ${p(10)})`,
        );
      }
      if (params.length !== (to - from) * cols) throw new Error("seed: parameter count");
      await client.query(
        `insert into conversations (id, kind, tenant_id, service_url, channel_id, bot_id, user_id, user_name, user_aad_object_id, locale,
           last_activity_at, status, created_at, updated_at) values ${tuples.join(", ")}`,
        params,
      );
    }
    await client.query("vacuum analyze conversations");
  } finally {
    await client.end();
  }
  return url.href;
}

/** Drop a database `seedPostgresChats` made. */
export async function dropPostgresDatabase(adminUrl, name) {
  const pg = (await import("pg")).default;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

/**
 * A fresh database of `db` ("sqlite": a file in the temporary directory; "postgres": a database on
 * the server of `pgUrl`) holding the personal chats `seedArgs` describes, named after `label` and
 * this process. Returns its URL and the function that removes it.
 */
export async function seededDatabase(db, label, pgUrl, seedArgs) {
  if (db === "postgres") {
    const name = `herald_bench_${label.replaceAll("-", "_")}_${process.pid}`;
    const url = await seedPostgresChats(pgUrl, name, seedArgs);
    return { url, cleanup: () => dropPostgresDatabase(pgUrl, name) };
  }
  const file = join(tmpdir(), `herald-bench-${label}-${process.pid}.db`);
  await seedPersonalChats(file, seedArgs);
  return {
    url: `sqlite:${file}`,
    cleanup: async () => {
      // The file, its WAL, and the companion Herald locks it with (src/store/sqlite/lock.ts).
      for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}.lock`]) rmSync(f, { force: true });
    },
  };
}
