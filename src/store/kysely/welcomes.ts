import type { Kysely } from "kysely";
import type { WelcomeHold, WelcomeStore } from "../ports.js";
import { canonicalTime } from "../time.js";
import { chunk, rowsPerStatement } from "./delivery-sql.js";
import type { Database } from "./schema.js";

/**
 * Welcome holds and install leases over Kysely (migration 021). One hold row per conversation,
 * replaced when an install activates it again (`openHold`, in the upsert's transaction). A hold
 * ends by moving `hold_until` to the end time, never later than it was: when its welcome ends
 * (`settled`, by notification id, so the end of an earlier welcome never ends a newer hold), or
 * when no welcome comes (`cancel`, only while none is named).
 */
export class KyselyWelcomeStore implements WelcomeStore {
  private releases = 0;

  constructor(private readonly db: Kysely<Database>) {}

  async expect(conversationId: string, askedAt: string, until: string): Promise<void> {
    await openHold(this.db, conversationId, askedAt, until);
  }

  async stored(conversationId: string, notificationId: string, until: string): Promise<void> {
    const end = canonicalTime(until, "until");
    await this.db
      .updateTable("welcome_holds")
      .set((eb) => ({
        notification_id: notificationId,
        // A welcome stored late (its name looked up for seconds) still holds for a while after.
        hold_until: eb.case().when("hold_until", "<", end).then(end).else(eb.ref("hold_until")).end(),
      }))
      .where("conversation_id", "=", conversationId)
      .where("notification_id", "is", null)
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
      // A hold naming its welcome ends with that welcome (settled), never before.
      .where("notification_id", "is", null)
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

  async releaseInstall(person: string, owner: string, keepUntil?: string): Promise<void> {
    if (keepUntil !== undefined)
      await this.db
        .updateTable("install_leases")
        .set({ lease_until: canonicalTime(keepUntil, "keepUntil") })
        .where("person", "=", person)
        .where("owner", "=", owner)
        .execute();
    else await this.db.deleteFrom("install_leases").where("person", "=", person).where("owner", "=", owner).execute();
    // Leases kept past their step (keepUntil) are never claimed again for most people: now and then, the long-ended go.
    if (++this.releases % PRUNE_EVERY === 0)
      await this.db
        .deleteFrom("install_leases")
        .where("lease_until", "<", new Date(Date.now() - PRUNE_AFTER_MS).toISOString())
        .execute();
  }
}

/** Ended install leases are deleted every this many releases, once this old (ms). */
const PRUNE_EVERY = 1_000;
const PRUNE_AFTER_MS = 3_600_000;

/**
 * Open the hold for a new install's welcome into `conversationId`, replacing the last one (a
 * reinstall's welcome is the one to wait for now): `conversations.upsert` calls it in the
 * transaction that activates the conversation, so no reader sees the one without the other.
 */
export async function openHold(db: Kysely<Database>, conversationId: string, askedAt: string, until: string): Promise<void> {
  const row = {
    conversation_id: conversationId,
    asked_at: canonicalTime(askedAt, "askedAt"),
    notification_id: null,
    hold_until: canonicalTime(until, "until"),
  };
  await db
    .insertInto("welcome_holds")
    .values(row)
    .onConflict((c) =>
      c.column("conversation_id").doUpdateSet({ asked_at: row.asked_at, notification_id: null, hold_until: row.hold_until }),
    )
    .execute();
}
