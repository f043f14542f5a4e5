import { type Kysely, sql } from "kysely";
import { canonicalUserId } from "../../delivery/audience/rows.js";
import type { LeasedKey } from "../../delivery/model.js";
import type { StoreDialect } from "./backend.js";
import type { AllTables } from "./delivery-schema.js";
import { lockNotifications } from "./delivery-sql.js";

/** `'user'` as a literal: SQLite uses the partial index `deliveries_user_chat` only when it can see the value. */
const userKind = sql.lit("user");

/**
 * `DeliveryStore.claimChat`: in one transaction under the notification's lock, look for another
 * live row of the notification with the chat, first among rows whose chat was created at send
 * time (index `deliveries_user_chat`), then the row of the stored chat's user that holds the chat
 * (by recipient key: a user listed by Teams id whose stored chat lacks the Entra id). None: the
 * row takes the chat, so of two rows of one person the first to claim wins outright.
 */
export async function claimChat(
  db: Kysely<AllTables>,
  dialect: StoreDialect,
  owner: string,
  key: LeasedKey,
  chat: { conversationId: string; serviceUrl: string },
  now: number,
): Promise<{ duplicateOf?: number }> {
  return db.transaction().execute(async (trx) => {
    await lockNotifications(trx, dialect, [key.notificationId]);
    const created = await trx
      .selectFrom("deliveries")
      .select("seq")
      .where("notification_id", "=", key.notificationId)
      .where("kind", "=", userKind)
      .where("conversation_id", "=", chat.conversationId)
      .where("seq", "<>", key.seq)
      .where("status", "<>", "canceled")
      .limit(1)
      .executeTakeFirst();
    if (created) return { duplicateOf: Number(created.seq) };
    const stored = await trx
      .selectFrom("conversations")
      .select(["tenant_id", "user_id", "user_aad_object_id"])
      .where("id", "=", chat.conversationId)
      .executeTakeFirst();
    if (stored) {
      const keys = [stored.user_id, stored.user_aad_object_id]
        .filter((id): id is string => id !== null && id !== "")
        .map((id) => `user:${stored.tenant_id}:${canonicalUserId(id)}`);
      keys.push(`conv:${chat.conversationId}`);
      const other = await trx
        .selectFrom("deliveries")
        .select("seq")
        .where("notification_id", "=", key.notificationId)
        .where("recipient_key", "in", keys)
        // Only a row that HOLDS the chat: a pending row of the same person that has not created
        // its chat yet is not an owner (else the two rows can each find the other and both end
        // canceled: the person gets nothing).
        .where("conversation_id", "=", chat.conversationId)
        .where("seq", "<>", key.seq)
        .where("status", "<>", "canceled")
        .limit(1)
        .executeTakeFirst();
      if (other) return { duplicateOf: Number(other.seq) };
    }
    await trx
      .updateTable("deliveries")
      .set({ conversation_id: chat.conversationId, service_url: chat.serviceUrl, updated_at: new Date(now).toISOString() })
      .where("notification_id", "=", key.notificationId)
      .where("seq", "=", key.seq)
      .where("lease_owner", "=", owner)
      .where("lease_id", "=", key.lease)
      .execute();
    return {};
  });
}
