import type { Kysely, Transaction } from "kysely";
import type { ConversationRecord, ConversationStatus } from "../../domain/conversation.js";
import { StoreError } from "../errors.js";
import { createRecord, mergeObservation } from "../merge.js";
import type { ConversationFilter, ConversationObservation, ConversationStore, Page, UpsertResult } from "../ports.js";
import { canonicalTime } from "../time.js";
import type { SqlBackend } from "./backend.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { withDeliveryTables } from "./delivery-schema.js";
import { listQuery, personalQuery } from "./queries.js";
import { otherTenantSpelling } from "./recipients.js";
import { type ConversationRow, conversationToRow, rowToConversation } from "./rows.js";
import type { Database } from "./schema.js";
import { openHold } from "./welcomes.js";

/** Largest page `list` returns, in rows: big enough for batched audience expansion, small enough to hold in memory. */
export const maxPageSize = 10_000;

/**
 * Conversation references over Kysely, the same code for SQLite and PostgreSQL.
 * Nothing is ever deleted: uninstalls, blocks and deleted teams are statuses.
 * All times are stored canonical (see `canonicalTime`).
 */
export class KyselyConversationStore implements ConversationStore {
  private readonly db: Kysely<Database>;

  constructor(private readonly backend: SqlBackend) {
    this.db = backend.db;
  }

  /**
   * Merge an observation into the stored record (rules: `mergeObservation` in ../merge.ts) or
   * create it (`createRecord`). One transaction: the row is read `FOR UPDATE` on PostgreSQL (the
   * whole file is write-locked on SQLite), so two concurrent upserts of the same id serialise;
   * when both find no row, the insert that loses the race (`ON CONFLICT DO NOTHING`) re-reads the
   * winner's row and merges into it. Exactly one of them reports `created`, and one `activated`:
   * only that one opens the welcome's hold (`welcome`, WelcomeStore), in the same transaction.
   */
  async upsert(observation: ConversationObservation, welcome?: { conversationId: string; until: string }): Promise<UpsertResult> {
    const obs = { ...observation, at: canonicalTime(observation.at) };
    return this.db.transaction().execute(async (trx) => {
      const result = await this.upsertIn(trx, obs);
      if (result.activated && welcome) await openHold(trx, welcome.conversationId, obs.at, welcome.until);
      return result;
    });
  }

  private async upsertIn(trx: Transaction<Database>, obs: ConversationObservation): Promise<UpsertResult> {
    let row = await this.lockedRow(trx, obs.id);
    if (!row) {
      const { record, activated } = createRecord(obs);
      const inserted = await trx
        .insertInto("conversations")
        .values(conversationToRow(record))
        .onConflict((oc) => oc.column("id").doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { record, created: true, activated };
      row = await this.lockedRow(trx, obs.id);
      if (!row) throw new Error(`conversation ${obs.id} conflicted on insert but cannot be read`);
    }
    const { record, activated } = mergeObservation(rowToConversation(row), obs);
    const { id: _id, created_at: _createdAt, ...changes } = conversationToRow(record);
    await trx.updateTable("conversations").set(changes).where("id", "=", obs.id).execute();
    return { record, created: false, activated };
  }

  /**
   * The cheap form of `upsert` for an observation equal to the previous one but for its time
   * (src/inbound/recent-observations.ts): one statement that moves `lastActivityAt` (the later of
   * the two, as `upsert` does) and `updatedAt`, only while the row's status is still `status`.
   * False when no row has that id and status: the caller then runs the full `upsert`.
   */
  async touch(id: string, at: string, status: ConversationStatus): Promise<boolean> {
    const t = canonicalTime(at);
    const result = await this.db
      .updateTable("conversations")
      .set((eb) => ({
        last_activity_at: eb.case().when("last_activity_at", "<", t).then(t).else(eb.ref("last_activity_at")).end(),
        updated_at: t,
      }))
      .where("id", "=", id)
      .where("status", "=", status)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async get(id: string): Promise<ConversationRecord | undefined> {
    const row = await this.db.selectFrom("conversations").selectAll().where("id", "=", id).executeTakeFirst();
    return row && rowToConversation(row);
  }

  /**
   * The personal chat whose user has this Teams id (`29:...`) or Entra object id, in `tenantId`
   * when given. When several match (the same person in several tenants, or a stale chat), the
   * active one with the latest activity wins. Index lookups on `user_id` / `user_aad_object_id`
   * (see `personalQuery`).
   */
  async findPersonal(tenantId: string | undefined, userIdOrAadObjectId: string): Promise<ConversationRecord | undefined> {
    const row = await personalQuery(this.db, tenantId, userIdOrAadObjectId).executeTakeFirst();
    return row && rowToConversation(row);
  }

  otherTenantSpelling(tenantId: string): Promise<string | undefined> {
    return otherTenantSpelling(withDeliveryTables(this.db), tenantId);
  }

  /**
   * One page of conversations matching every given filter, in insertion order (keyset on `seq`:
   * no duplicates or gaps while paging, even as rows are updated; rows created meanwhile appear
   * on a later page). `limit` is 1..10 000 rows. Throws `HERALD_E_STORE_CURSOR` for a cursor
   * this store did not issue and `HERALD_E_STORE_LIMIT` for a bad limit.
   */
  async list(filter: ConversationFilter, page: { cursor?: string | undefined; limit: number }): Promise<Page<ConversationRecord>> {
    if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > maxPageSize) {
      throw new StoreError("HERALD_E_STORE_LIMIT", `The page limit must be a whole number from 1 to ${maxPageSize} (got ${page.limit}).`);
    }
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const rows = await listQuery(this.db, filter, after, page.limit).execute();
    const items = rows.slice(0, page.limit);
    const last = items.at(-1);
    return {
      items: items.map(rowToConversation),
      nextCursor: rows.length > page.limit && last ? encodeCursor(Number(last.seq)) : undefined,
    };
  }

  /**
   * Set one conversation's status. `statusCode` and `statusChangedAt` change only when the status
   * does (the same rule as `upsert`): the first code Teams gave for a block is the one reported.
   * Returns false when the conversation does not exist.
   */
  async setStatus(id: string, status: ConversationStatus, code: string, at: string): Promise<boolean> {
    const result = await this.statusUpdate(status, code, canonicalTime(at)).where("id", "=", id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** `setStatus` for every conversation of the team; returns how many conversations the team has. */
  async setTeamStatus(teamId: string, status: ConversationStatus, code: string, at: string): Promise<number> {
    const result = await this.statusUpdate(status, code, canonicalTime(at)).where("team_id", "=", teamId).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Set the team name on every conversation of the team; returns how many there are. */
  async renameTeam(teamId: string, name: string, at: string): Promise<number> {
    const result = await this.db
      .updateTable("conversations")
      .set({ team_name: name, updated_at: canonicalTime(at) })
      .where("team_id", "=", teamId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Set `archived` on every conversation of the team; returns how many there are. */
  async setTeamArchived(teamId: string, archived: boolean, at: string): Promise<number> {
    const result = await this.db
      .updateTable("conversations")
      .set({ archived: archived ? 1 : 0, updated_at: canonicalTime(at) })
      .where("team_id", "=", teamId)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** SET expressions read the row as it was before the update, in both databases. */
  private statusUpdate(status: ConversationStatus, code: string, at: string) {
    return this.db.updateTable("conversations").set((eb) => ({
      status_code: eb.case().when("status", "<>", status).then(code).else(eb.ref("status_code")).end(),
      status_changed_at: eb.case().when("status", "<>", status).then(at).else(eb.ref("status_changed_at")).end(),
      status,
      updated_at: at,
    }));
  }

  private async lockedRow(trx: Transaction<Database>, id: string): Promise<ConversationRow | undefined> {
    return trx
      .selectFrom("conversations")
      .selectAll()
      .where("id", "=", id)
      .$if(this.backend.dialect === "postgres", (q) => q.forUpdate())
      .executeTakeFirst();
  }
}
