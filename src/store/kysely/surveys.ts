import { type Kysely, sql } from "kysely";
import type { SessionState } from "../../surveys/machine.js";
import type { SaveResult, SurveyAnswer, SurveySession, SurveyStore } from "../../surveys/port.js";
import type { Database, SurveySessionsTable } from "./schema.js";

/** Thrown inside the save transaction to roll it back when another writer got there first. */
class Conflict extends Error {}

const toSession = (row: SurveySessionsTable): SurveySession => ({
  tenantId: row.tenant_id,
  userId: row.user_id,
  conversationId: row.conversation_id,
  serviceUrl: row.service_url,
  userName: row.user_name ?? undefined,
  state: JSON.parse(row.state) as SessionState,
  expiresAt: row.expires_at ?? undefined,
  version: Number(row.version),
});

/** Survey sessions and their answers over Kysely (SQLite and PostgreSQL alike). */
export class KyselySurveyStore implements SurveyStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(tenantId: string, userId: string): Promise<SurveySession | undefined> {
    const row = await this.db
      .selectFrom("survey_sessions")
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row && toSession(row);
  }

  async save(session: SurveySession, answer?: SurveyAnswer): Promise<SaveResult> {
    const at = answer?.at ?? new Date().toISOString();
    const values = {
      conversation_id: session.conversationId,
      service_url: session.serviceUrl,
      user_name: session.userName ?? null,
      state: JSON.stringify(session.state),
      current_notification_id: session.state.active?.notificationId ?? null,
      current_question: session.state.active?.index ?? null,
      expires_at: session.expiresAt ?? null,
      version: session.version + 1,
      updated_at: at,
    };
    try {
      await this.db.transaction().execute(async (trx) => {
        if (session.version === 0) {
          const inserted = await trx
            .insertInto("survey_sessions")
            .values({ tenant_id: session.tenantId, user_id: session.userId, ...values })
            .onConflict((oc) => oc.columns(["tenant_id", "user_id"]).doNothing())
            .executeTakeFirst();
          if (Number(inserted.numInsertedOrUpdatedRows ?? 0) !== 1) throw new Conflict();
        } else {
          const updated = await trx
            .updateTable("survey_sessions")
            .set(values)
            .where("tenant_id", "=", session.tenantId)
            .where("user_id", "=", session.userId)
            .where("version", "=", session.version)
            .executeTakeFirst();
          if (Number(updated.numUpdatedRows) !== 1) throw new Conflict();
        }
        if (!answer) return;
        // The voter row's primary key makes "one answer per question per person" atomic.
        const voter = await trx
          .insertInto("response_voters")
          .values({ notification_id: answer.notificationId, question_id: answer.questionId, user_id: answer.userId, created_at: answer.at })
          .onConflict((oc) => oc.columns(["notification_id", "question_id", "user_id"]).doNothing())
          .executeTakeFirst();
        if (Number(voter.numInsertedOrUpdatedRows ?? 0) !== 1) return;
        await trx
          .insertInto("responses")
          .values({
            notification_id: answer.notificationId,
            delivery_id: null,
            tenant_id: answer.tenantId,
            user_id: answer.userId,
            user_name: answer.userName ?? null,
            kind: "survey",
            question_id: answer.questionId,
            value: JSON.stringify(answer.value.choice === undefined ? { text: answer.value.text } : answer.value),
            created_at: answer.at,
          })
          .execute();
      });
      return "saved";
    } catch (e) {
      if (e instanceof Conflict) return "conflict";
      throw e;
    }
  }

  async answers(notificationId: string): Promise<SurveyAnswer[]> {
    const rows = await this.db
      .selectFrom("responses")
      .selectAll()
      .where("notification_id", "=", notificationId)
      .where("kind", "=", "survey")
      .orderBy("seq")
      .execute();
    return rows.map((r) => ({
      notificationId: r.notification_id,
      questionId: r.question_id,
      tenantId: r.tenant_id,
      userId: r.user_id ?? "",
      userName: r.user_name ?? undefined,
      value: JSON.parse(r.value) as SurveyAnswer["value"],
      at: r.created_at,
    }));
  }

  async unsaid(before: string, limit: number): Promise<{ tenantId: string; userId: string }[]> {
    // `"said":` occurs in the JSON only as the key (inside the message every quote is escaped).
    // PostgreSQL keeps `state` as jsonb: LIKE reads its text (`{"said": ...}`, the key still followed by `:`).
    const rows = await this.db
      .selectFrom("survey_sessions")
      .select(["tenant_id", "user_id"])
      .where(sql<string>`cast(state as text)`, "like", '%"said":%')
      .where("updated_at", "<=", before)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, userId: r.user_id }));
  }

  async expired(now: string, limit: number): Promise<{ tenantId: string; userId: string }[]> {
    const rows = await this.db
      .selectFrom("survey_sessions")
      .select(["tenant_id", "user_id"])
      .where("expires_at", "<=", now)
      .orderBy("expires_at")
      .limit(limit)
      .execute();
    return rows.map((r) => ({ tenantId: r.tenant_id, userId: r.user_id }));
  }
}
