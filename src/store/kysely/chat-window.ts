import { type Expression, type Kysely, type RawBuilder, type SqlBool, sql } from "kysely";
import type { ChatWindow } from "../../delivery/store/port.js";
import type { StoreDialect } from "./backend.js";
import type { AllTables, DeliveriesTable } from "./delivery-schema.js";

/**
 * The walk by id of an `all` audience (src/delivery/audience/stream.ts) in windows the store
 * writes itself: a window is the messageable 1:1 chats whose id is in `(afterId, last]`, stored
 * up to `seq` `upTo`. The rows of its active chats are built by the database in one
 * `INSERT … SELECT` (`insertWindowRows`), so that a broadcast's rows never cross into
 * JavaScript and back (read as objects, mapped, bound again as 31 parameters each).
 * `node bench/expansion.js` measures both ways: the windows take about three fifths of the
 * pages' CPU on SQLite and a third on PostgreSQL (docs/benchmark-log.md).
 * The few chats whose row needs a decision in code (blocked ones, to be tried again or skipped;
 * users with an opt-out, of everything or of some category) are read and built as before, and
 * written first; the `INSERT … SELECT` skips them by their recipient keys.
 *
 * A chat whose state changes between the window's read and its write gets what the pages gave it
 * in the same race: a chat unblocked, or a user who opts out meanwhile, gets a `pending` row, which
 * the claim ends `optedOut` if the user opted out of this notification (`endOptedOut` in
 * delivery-holds.ts, as for any opt-out made after a row was written). The INSERT judged opt-outs
 * itself for a while (5d0d32f): a user who opted out of another category meanwhile then got no
 * row at all, and missed the message (second review).
 *
 * Ids are compared in code point order, as in the walk by pages (`personalPageById`): SQLite's
 * BINARY collation, PostgreSQL's `COLLATE "C"`, both indexed (022_personal_id_order).
 */

/**
 * Audiences are Teams conversations with a tenant, only. Herald stores no other since issue 9,
 * but older versions stored Web Chat / Direct Line chats with an empty tenant: every lookup of the
 * directory (recipients.ts) and of a window leaves such rows out, so no broadcast, user or team
 * audience can pick one.
 */
export const teamsChannelId = "msteams";

/** A chat's id in code point order. */
export const idInCodePoints = (dialect: StoreDialect): RawBuilder<string> =>
  dialect === "postgres" ? sql<string>`c.id collate "C"` : sql<string>`c.id`;

/**
 * The stored 1:1 chats of one status that a broadcast may message, of one tenant or of all, stored
 * up to `upTo`, with ids after `afterId` and up to `atMost` when given (a condition on `c`, the
 * conversations): the walk by id's chats (`personalPageById`) and a window's
 * (`insertWindowRows`), written once.
 */
export function personalChatsById(
  dialect: StoreDialect,
  status: "active" | "blocked",
  w: { tenantId?: string | undefined; afterId?: string | undefined; upTo: number; atMost?: string | undefined },
): RawBuilder<SqlBool> {
  const id = idInCodePoints(dialect);
  const parts = [
    sql`c.kind = ${"personal"}`,
    sql`c.status = ${status}`,
    sql`c.channel_id = ${teamsChannelId}`,
    sql`c.tenant_id <> ${""}`,
    sql`c.seq <= ${w.upTo}`,
  ];
  if (w.tenantId !== undefined) parts.push(sql`c.tenant_id = ${w.tenantId}`);
  // The first window or page too has a lower bound (every id is after the empty string): with none,
  // SQLite without statistics (a database never analysed) preferred the (status, seq) index to
  // `seq <= upTo` and sorted every chat's id to find the first window's (bench/first-window.js).
  parts.push(sql`${id} > ${w.afterId ?? ""}`);
  if (w.atMost !== undefined) parts.push(sql`${id} <= ${w.atMost}`);
  return sql<SqlBool>`(${sql.join(parts, sql` and `)})`;
}

/**
 * Whether the chat's user has an opt-out (of everything, or of any category): such a chat's row
 * is decided in code (`optedOut` in rows.ts) and written before `insertWindowRows` runs. Malformed
 * category text counts as an opt-out here, and the code then reads it as none, as it always has.
 * A scalar subquery with LIMIT, so that both databases look each chat's user up by key: as a
 * join, PostgreSQL hashed the whole `preferences` table for every window (review of 31d1238:
 * 50,000 preferences, 15 ms a window).
 */
export function mayOptOut(dialect: StoreDialect): RawBuilder<SqlBool> {
  const optedOut = dialect === "postgres" ? sql`o.opted_out` : sql`o.opted_out = 1`;
  const none = dialect === "postgres" ? sql`'[]'::jsonb` : sql`'[]'`;
  return sql<SqlBool>`(select 1 from preferences o where o.tenant_id = c.tenant_id and o.user_id = c.user_id
    and (${optedOut} or o.opted_out_categories <> ${none}) limit 1) is not null`;
}

/**
 * The query of how many chats the next window holds (`count`) and the id it ends at (`last`):
 * the first `limit` active and blocked chats after `afterId`, in id order, as the walk by pages
 * reads them (one keyset query per status, each walking its index, merged; nothing crosses into
 * JavaScript but the answer).
 */
export function nextWindow(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  w: { tenantId?: string | undefined; afterId?: string | undefined; upTo: number },
  limit: number,
) {
  const ids = (status: "active" | "blocked") =>
    db
      .selectFrom("conversations as c")
      .where(personalChatsById(dialect, status, w))
      .select(idInCodePoints(dialect).as("id"))
      .orderBy(idInCodePoints(dialect))
      .limit(limit);
  const merged = db
    .selectFrom(ids("active").as("a"))
    .select("a.id")
    .unionAll(db.selectFrom(ids("blocked").as("b")).select("b.id"))
    .orderBy("id")
    .limit(limit);
  return db
    .selectFrom(merged.as("w"))
    .select((eb) => [eb.fn.countAll<number | string>().as("count"), eb.fn.max<string | null>("w.id").as("last")]);
}

/**
 * Write the rows of a window's active chats, as `conversationRow` (src/delivery/audience/rows.ts)
 * builds them for a chat whose user has no opt-out: `pending`, keyed `conv:<id>`,
 * with the user's ids, locale and time zone when the chat names its user. Seqs from `firstSeq`
 * in id order; recipients the notification already has are skipped (their rows, built in code,
 * were written first). The statement returns the status, tenant and seq of each row written.
 */
export function insertWindowRows(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  notificationId: string,
  firstSeq: number,
  w: ChatWindow,
  dueAt: number,
  now: number,
) {
  const time = (ms: number): RawBuilder<string> => {
    const iso = new Date(ms).toISOString();
    return dialect === "postgres" ? sql<string>`cast(${iso} as timestamptz)` : sql<string>`${iso}`;
  };
  /** A field of the chat's user: none when the chat names no user (as `userOf` in rows.ts). */
  const ofUser = (column: string): RawBuilder<string | null> =>
    sql`case when c.user_id is null and c.user_name is null then null else ${sql.ref(column)} end`;
  // Each column of the row and what the database writes in it.
  const row = {
    notification_id: sql<string>`${notificationId}`,
    seq: sql<number>`cast(${firstSeq - 1} as bigint) + row_number() over (order by ${idInCodePoints(dialect)})`,
    recipient_key: sql<string>`'conv:' || c.id`,
    kind: sql.lit("conversation"),
    tenant_id: sql.ref("c.tenant_id"),
    conversation_id: sql.ref("c.id"),
    service_url: sql.ref("c.service_url"),
    user_id: sql.ref("c.user_id"),
    user_name: sql.ref("c.user_name"),
    user_aad_object_id: ofUser("c.user_aad_object_id"),
    locale: ofUser("c.locale"),
    status: sql.lit("pending"),
    op: sql.lit("send"),
    queue: sql.lit("ready"),
    due_at: sql<number>`cast(${dueAt} as bigint)`,
    attempts: sql.lit(0),
    updated_at: time(now),
    not_before: time(dueAt),
    timezone: ofUser("c.timezone"),
  } satisfies Partial<Record<keyof DeliveriesTable, RawBuilder<unknown>>>;
  const chats = db
    .selectFrom("conversations as c")
    .where(personalChatsById(dialect, "active", { tenantId: w.tenantId, afterId: w.afterId, upTo: w.upTo, atMost: w.last }))
    .select(Object.entries(row).map(([column, value]) => (value as RawBuilder<unknown>).as(column)))
    // In id order, as the walk by pages wrote them: the indexes keyed by conversation id are appended to.
    .orderBy(idInCodePoints(dialect));
  return db
    .insertInto("deliveries")
    .columns(Object.keys(row) as (keyof typeof row)[])
    .expression(chats as unknown as Expression<never>)
    .onConflict((oc) => oc.columns(["notification_id", "recipient_key"]).doNothing())
    .returning(["status", "tenant_id", "seq"]);
}
