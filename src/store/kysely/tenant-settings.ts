import type { Kysely, Selectable } from "kysely";
import type { Preference } from "../../domain/conversation.js";
import type { Weekday } from "../../preferences/hours.js";
import { allCategories, type OptOutCount, type TenantSettings } from "../../preferences/model.js";
import { StoreError } from "../errors.js";
import { withoutUndefined } from "../merge.js";
import type { Page } from "../ports.js";
import { canonicalTime } from "../time.js";
import { rowToPreference } from "./rows.js";
import type { Database, TenantSettingsTable } from "./schema.js";

/** Tenant settings and the opt-out report over Kysely (migration 013_preferences). */

function rowToSettings(row: Selectable<TenantSettingsTable>): TenantSettings {
  return withoutUndefined<TenantSettings>({
    tenantId: row.tenant_id,
    timeZone: row.time_zone ?? undefined,
    quietHours: row.quiet_start && row.quiet_end ? { start: row.quiet_start, end: row.quiet_end } : undefined,
    workingDays: row.working_days === null ? undefined : (JSON.parse(row.working_days) as Weekday[]),
    updatedAt: row.updated_at,
  });
}

export async function getTenantSettings(db: Kysely<Database>, tenantId: string): Promise<TenantSettings | undefined> {
  const row = await db.selectFrom("tenant_settings").selectAll().where("tenant_id", "=", tenantId).executeTakeFirst();
  return row && rowToSettings(row);
}

export async function putTenantSettings(db: Kysely<Database>, s: TenantSettings): Promise<TenantSettings> {
  const values = {
    time_zone: s.timeZone ?? null,
    quiet_start: s.quietHours?.start ?? null,
    quiet_end: s.quietHours?.end ?? null,
    working_days: s.workingDays === undefined ? null : JSON.stringify(s.workingDays),
    updated_at: canonicalTime(s.updatedAt),
  };
  const row = await db
    .insertInto("tenant_settings")
    .values({ tenant_id: s.tenantId, ...values })
    .onConflict((oc) => oc.column("tenant_id").doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
  return rowToSettings(row);
}

/** Rows with any opt-out: everything, or at least one category. */
const anyOptOut = (db: Kysely<Database>, tenantIds: readonly string[] | undefined) =>
  db
    .selectFrom("preferences")
    .selectAll()
    .where((eb) => eb.or([eb("opted_out", "=", 1), eb("opted_out_categories", "<>", "[]")]))
    .$if(tenantIds !== undefined, (q) => q.where("tenant_id", "in", tenantIds && tenantIds.length > 0 ? [...tenantIds] : [""]));

/** Up to `limit` opted-out rows in (tenant, user) order, after the key `after` (keyset paging). */
function optOutsAfter(
  db: Kysely<Database>,
  tenantIds: readonly string[] | undefined,
  after: { tenant: string; user: string } | undefined,
  limit: number,
) {
  return anyOptOut(db, tenantIds)
    .$if(after !== undefined, (q) =>
      q.where((eb) =>
        eb.or([
          eb("tenant_id", ">", after?.tenant ?? ""),
          eb.and([eb("tenant_id", "=", after?.tenant ?? ""), eb("user_id", ">", after?.user ?? "")]),
        ]),
      ),
    )
    .orderBy("tenant_id")
    .orderBy("user_id")
    .limit(limit)
    .execute();
}

/** Counted in pages (the categories are JSON text, read the same way on both databases). */
export async function optOutCounts(db: Kysely<Database>, tenantIds?: readonly string[]): Promise<OptOutCount[]> {
  const counts = new Map<string, OptOutCount>();
  const add = (tenantId: string, category: string) => {
    const key = `${tenantId}\u0000${category}`;
    const c = counts.get(key) ?? { tenantId, category, count: 0 };
    c.count++;
    counts.set(key, c);
  };
  let after: { tenant: string; user: string } | undefined;
  for (;;) {
    const rows = await optOutsAfter(db, tenantIds, after, 1_000);
    for (const row of rows) {
      const p = rowToPreference(row);
      if (p.optedOut) add(p.tenantId, allCategories);
      for (const c of p.optedOutCategories) add(p.tenantId, c);
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < 1_000) break;
    after = { tenant: last.tenant_id, user: last.user_id };
  }
  return [...counts.values()].sort((a, b) => a.tenantId.localeCompare(b.tenantId) || a.category.localeCompare(b.category));
}

const encode = (tenant: string, user: string) => Buffer.from(`o1:${JSON.stringify([tenant, user])}`, "utf8").toString("base64url");
function decode(cursor: string): { tenant: string; user: string } {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  try {
    if (text.startsWith("o1:")) {
      const v = JSON.parse(text.slice(3)) as unknown;
      if (Array.isArray(v) && typeof v[0] === "string" && typeof v[1] === "string") return { tenant: v[0], user: v[1] };
    }
  } catch {
    // falls through to the error below
  }
  throw new StoreError("HERALD_E_STORE_CURSOR", "The page cursor is not one this server issued; start again without a cursor.");
}

export async function listOptOuts(
  db: Kysely<Database>,
  filter: { tenantIds?: readonly string[] | undefined },
  page: { cursor?: string | undefined; limit: number },
): Promise<Page<Preference>> {
  const after = page.cursor === undefined ? undefined : decode(page.cursor);
  const rows = await optOutsAfter(db, filter.tenantIds, after, page.limit + 1);
  const items = rows.slice(0, page.limit).map(rowToPreference);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > page.limit && last ? encode(last.tenantId, last.userId) : undefined };
}
