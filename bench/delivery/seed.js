// Stored conversation references for the benchmark, written straight into the SQLite file
// (one prepared INSERT in 50,000-row transactions: a million in a few seconds). The ids come
// from the emulator's organisation generated with the same seed and spec, as installs would
// have recorded them.
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
