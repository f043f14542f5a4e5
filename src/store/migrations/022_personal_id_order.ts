import { sql } from "kysely";
import type { Migration } from "./migration.js";

/**
 * The `all` audience walks the 1:1 chats stored when it begins in conversation-id order (issue
 * 14), so that a broadcast's rows are written in the order of the keys their indexes are sorted
 * by; the chats stored during that walk follow in insertion order (`seq`), as everything did
 * before (src/delivery/audience/stream.ts).
 *
 * A row's recipient key is `conv:<conversation id>`, unique per notification
 * (`deliveries_recipient`); once sent, `deliveries_activity` files it under its conversation id.
 * In insertion order Teams' conversation ids are random, so every row landed on an index page of
 * its own, twice: one page written per row in each expansion commit and in each commit of
 * results. In id order both indexes are appended to. On the bench (50,000 chats, SQLite) the write
 * system calls went from 9.3 to 4.0 per message.
 *
 * The keyset is one query per status, as with `seq` (`KyselyRecipientDirectory.personalPageById`):
 * - `conversations_tenant_status_id (tenant_id, status, id)` for an audience of one tenant;
 * - `conversations_status_id (status, id)` for all tenants.
 * On PostgreSQL `id` is indexed and compared `COLLATE "C"` (byte order, which is SQLite's BINARY
 * and the code point order the pages are merged in), whatever the database's collation.
 *
 * `IF NOT EXISTS`: on a large PostgreSQL database the indexes can be built beforehand with
 * `CREATE INDEX CONCURRENTLY` (docs/deployment.md, Migrations on upgrade); this then only records
 * itself. Only if the index it finds is the right one: a concurrent build that failed leaves an
 * INVALID index of that name, and one built without `COLLATE "C"` is not used by the queries;
 * either would make every page of a broadcast a scan and sort of the whole table. Such an index is
 * dropped and built again here (the drop blocks reads of `conversations` as well as writes until
 * the migrations commit; it waits at most 10 s for the table).
 */
export const m022PersonalIdOrder: Migration = {
  name: "022_personal_id_order",
  async up(db, dialect) {
    if (dialect === "sqlite") {
      for (const [name, columns] of personalIdIndexes)
        await sql`create index if not exists ${sql.id(name)} on conversations (${sql.raw(columns)})`.execute(db);
      return;
    }
    // As in 018: a role's or a managed database's statement_timeout must not cut an index build
    // on a large table off halfway (the migration would roll back and stop every start).
    await sql`set local statement_timeout = 0`.execute(db);
    for (const [name, sqliteColumns] of personalIdIndexes) {
      // As `pg_get_indexdef` writes them.
      const columns = `${sqliteColumns} COLLATE "C"`;
      // The index of that name in the schema of the `conversations` this connection sees; it is
      // the right one only if it is on that table, valid, and has these columns.
      const found = await sql<{ valid: boolean; def: string }>`
        select i.indisvalid and i.indrelid = t.oid as valid, pg_get_indexdef(i.indexrelid) as def
        from pg_class t join pg_class c on c.relnamespace = t.relnamespace join pg_index i on i.indexrelid = c.oid
        where t.oid = to_regclass('conversations') and c.relname = ${name}`.execute(db);
      const index = found.rows[0];
      if (index && !(index.valid && index.def.endsWith(`USING btree (${columns})`))) {
        // DROP INDEX locks the table for reads too, until the migration commits: do not queue
        // behind a long reader (and everything else behind us) for more than a few seconds.
        await sql`set local lock_timeout = '10s'`.execute(db);
        await sql`drop index ${sql.id(name)}`.execute(db);
        await sql`set local lock_timeout to default`.execute(db);
      }
      await sql`create index if not exists ${sql.id(name)} on conversations (${sql.raw(columns)})`.execute(db);
    }
  },
};

/** Each index and its columns (on PostgreSQL the id is `COLLATE "C"`). */
const personalIdIndexes = [
  ["conversations_tenant_status_id", "tenant_id, status, id"],
  ["conversations_status_id", "status, id"],
] as const;
