import type { Kysely } from "kysely";
import {
  type BlockedEntry,
  type Delivery,
  type DeliveryStatus,
  type Notification,
  type Page,
  SYSTEM_CREATOR,
} from "../../delivery/model.js";
import type { NotificationFilter, PageRequest } from "../../delivery/store/port.js";
import { StoreError } from "../errors.js";
import { withoutUndefined } from "../merge.js";
import { decodeKey, encodeKey, keysetPage, rowToDelivery, rowToNotification } from "./delivery-rows.js";
import type { AllTables } from "./delivery-schema.js";
import { visibleTo } from "./visibility.js";

/** Reads of the delivery store: one notification (its counters, no row counting), and keyset-paged listings. */

const badCursor = () =>
  new StoreError("HERALD_E_STORE_CURSOR", "The page cursor is not one this server issued for this listing; start again without a cursor.");
const badLimit = (limit: number) =>
  new StoreError("HERALD_E_STORE_LIMIT", `The page limit must be a whole number from 1 to 10000 (got ${limit}).`);

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw badLimit(limit);
}

export async function getNotification(db: Kysely<AllTables>, id: string): Promise<Notification | undefined> {
  const row = await db.selectFrom("notifications").selectAll().where("id", "=", id).executeTakeFirst();
  return row && rowToNotification(row);
}

/** Newest first (ids sort by creation time), keyset on id. */
export async function listNotifications(db: Kysely<AllTables>, filter: NotificationFilter, page: PageRequest): Promise<Page<Notification>> {
  checkLimit(page.limit);
  const before = page.cursor === undefined ? undefined : decodeKey("n1", page.cursor);
  if (page.cursor !== undefined && before === undefined) throw badCursor();
  const visible = filter.visibleTo;
  const rows = await db
    .selectFrom("notifications")
    .selectAll()
    .$if(filter.status !== undefined, (q) => q.where("status", "=", filter.status ?? ""))
    .$if(filter.includeSystem !== true, (q) => q.where("created_by", "<>", SYSTEM_CREATOR))
    .$if(visible !== undefined, (q) => q.where(visibleTo(visible)))
    .$if(before !== undefined, (q) => q.where("id", "<", before ?? ""))
    .orderBy("id", "desc")
    .limit(page.limit + 1)
    .execute();
  return keysetPage(rows, page.limit, rowToNotification, "n1", (r) => r.id);
}

/** In recipient order (seq), optionally one status, keyset on seq (index `deliveries_status` or the primary key). */
export async function listDeliveries(
  db: Kysely<AllTables>,
  notificationId: string,
  filter: { status?: DeliveryStatus | undefined },
  page: PageRequest,
): Promise<Page<Delivery>> {
  checkLimit(page.limit);
  const raw = page.cursor === undefined ? undefined : decodeKey("d1", page.cursor);
  const after = raw === undefined ? undefined : Number(raw);
  if (page.cursor !== undefined && !Number.isSafeInteger(after)) throw badCursor();
  const rows = await db
    .selectFrom("deliveries")
    .selectAll()
    .where("notification_id", "=", notificationId)
    .$if(filter.status !== undefined, (q) => q.where("status", "=", filter.status ?? ""))
    .$if(after !== undefined, (q) => q.where("seq", ">", after ?? 0))
    .orderBy("seq")
    .limit(page.limit + 1)
    .execute();
  return keysetPage(rows, page.limit, rowToDelivery, "d1", (r) => Number(r.seq));
}

/**
 * Conversations whose status is `blocked` or `uninstalled`, with the Teams code and time that set
 * it; in the conversation store's insertion order (keyset on seq, index `conversations_status_seq`).
 */
export async function blockedReport(
  db: Kysely<AllTables>,
  filter: { tenantIds?: readonly string[] | undefined },
  page: PageRequest,
): Promise<Page<BlockedEntry>> {
  checkLimit(page.limit);
  const raw = page.cursor === undefined ? undefined : decodeKey("b1", page.cursor);
  const after = raw === undefined ? undefined : Number(raw);
  if (page.cursor !== undefined && !Number.isSafeInteger(after)) throw badCursor();
  const tenants = filter.tenantIds;
  const rows = await db
    .selectFrom("conversations")
    .select([
      "seq",
      "id",
      "tenant_id",
      "kind",
      "status",
      "status_code",
      "status_changed_at",
      "user_id",
      "user_name",
      "user_aad_object_id",
      "team_name",
    ])
    .where("status", "in", ["blocked", "uninstalled"])
    .$if(tenants !== undefined, (q) => q.where("tenant_id", "in", tenants && tenants.length > 0 ? [...tenants] : [""]))
    .$if(after !== undefined, (q) => q.where("seq", ">", after ?? 0))
    .orderBy("seq")
    .limit(page.limit + 1)
    .execute();
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return {
    items: items.map((r) =>
      withoutUndefined<BlockedEntry>({
        conversationId: r.id,
        tenantId: r.tenant_id,
        kind: r.kind,
        status: r.status as BlockedEntry["status"],
        code: r.status_code ?? undefined,
        at: r.status_changed_at ?? undefined,
        userId: r.user_id ?? undefined,
        userName: r.user_name ?? undefined,
        userAadObjectId: r.user_aad_object_id ?? undefined,
        teamName: r.team_name ?? undefined,
      }),
    ),
    nextCursor: rows.length > page.limit && last ? encodeKey("b1", Number(last.seq)) : undefined,
  };
}
