import type { Kysely } from "kysely";
import type { WelcomeHold, WelcomeStore } from "../ports.js";
import { canonicalTime } from "../time.js";
import { chunk, rowsPerStatement } from "./delivery-sql.js";
import type { Database } from "./schema.js";

/**
 * Welcome holds and install leases over Kysely (migration 021): one row per conversation, replaced by the next
 * install event's (`ON CONFLICT`). A hold ends by moving `hold_until` to the end time, never
 * later than it was; each change names the hold it means (`asked_at`), so a late answer about an
 * earlier welcome never ends a newer one.
 */
export class KyselyWelcomeStore implements WelcomeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async expect(conversationId: string, askedAt: string, until: string): Promise<boolean> {
    const row = {
      conversation_id: conversationId,
      asked_at: canonicalTime(askedAt, "askedAt"),
      notification_id: null,
      hold_until: canonicalTime(until, "until"),
    };
    const taken = await this.db
      .insertInto("welcome_holds")
      .values(row)
      .onConflict((c) =>
        c
          .column("conversation_id")
          .doUpdateSet({ asked_at: row.asked_at, notification_id: null, hold_until: row.hold_until })
          // A live hold stays: the same install told twice (installationUpdate and conversationUpdate).
          .where("welcome_holds.hold_until", "<=", row.asked_at),
      )
      .returning("conversation_id")
      .executeTakeFirst();
    return taken !== undefined;
  }

  async stored(conversationId: string, notificationId: string, at: string): Promise<void> {
    await this.db
      .updateTable("welcome_holds")
      .set({ notification_id: notificationId })
      .where("conversation_id", "=", conversationId)
      .where("notification_id", "is", null)
      .where("hold_until", ">", canonicalTime(at))
      .execute();
  }

  async settled(notificationIds: readonly string[], at: string): Promise<void> {
    const end = canonicalTime(at);
    for (const ids of chunk([...notificationIds], rowsPerStatement))
      await this.db
        .updateTable("welcome_holds")
        .set({ hold_until: end })
        .where("notification_id", "in", ids)
        .where("hold_until", ">", end)
        .execute();
  }

  async cancel(conversationId: string, askedAt: string, at: string): Promise<void> {
    const end = canonicalTime(at);
    await this.db
      .updateTable("welcome_holds")
      .set({ hold_until: end })
      .where("conversation_id", "=", conversationId)
      .where("asked_at", "=", canonicalTime(askedAt, "askedAt"))
      .where("hold_until", ">", end)
      .execute();
  }

  async get(conversationId: string): Promise<WelcomeHold | undefined> {
    const row = await this.db.selectFrom("welcome_holds").selectAll().where("conversation_id", "=", conversationId).executeTakeFirst();
    if (!row) return undefined;
    return {
      conversationId: row.conversation_id,
      askedAt: canonicalTime(row.asked_at, "asked_at"),
      notificationId: row.notification_id ?? undefined,
      until: canonicalTime(row.hold_until, "hold_until"),
    };
  }

  async claimInstall(person: string, owner: string, until: string, now: string): Promise<boolean> {
    const lease = { person, owner, lease_until: canonicalTime(until, "until") };
    const taken = await this.db
      .insertInto("install_leases")
      .values(lease)
      .onConflict((c) =>
        c
          .column("person")
          .doUpdateSet({ owner, lease_until: lease.lease_until })
          .where((eb) => eb.or([eb("install_leases.lease_until", "<=", canonicalTime(now)), eb("install_leases.owner", "=", owner)])),
      )
      .returning("person")
      .executeTakeFirst();
    return taken !== undefined;
  }

  async releaseInstall(person: string, owner: string): Promise<void> {
    await this.db.deleteFrom("install_leases").where("person", "=", person).where("owner", "=", owner).execute();
  }
}
