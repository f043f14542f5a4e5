import { type Kysely, sql } from "kysely";
import type { Page } from "../ports.js";
import type { AnswerInput, AnswerOutcome, DeliveryRef, ResponseRecord, ResponseStore, ResponseTotals, StaleCard } from "../responses.js";
import { canonicalTime } from "../time.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import type { AllTables } from "./delivery-schema.js";

/** Option -1 of `response_counts`: the number of people who answered. */
const RESPONDENTS = -1;

/**
 * The time kept for an anonymous answer, in `responses` and in `response_voters` alike: the hour
 * only. An exact time in both tables would join a person to their choice.
 */
function storedTime(input: AnswerInput): string {
  const at = canonicalTime(input.at);
  return input.anonymous ? `${at.slice(0, 13)}:00:00.000Z` : at;
}

interface RefRow {
  notification_id: string;
  seq: number | string;
  kind: string;
  tenant_id: string;
  conversation_id: string | null;
  service_url: string | null;
  activity_id: string | null;
  user_id: string | null;
  user_aad_object_id: string | null;
  conversation_kind: string | null;
  conversation_user_id: string | null;
  conversation_user_aad: string | null;
}

function toRef(r: RefRow): DeliveryRef {
  return {
    notificationId: r.notification_id,
    seq: Number(r.seq),
    kind: r.kind,
    tenantId: r.tenant_id,
    conversationId: r.conversation_id ?? "",
    serviceUrl: r.service_url ?? undefined,
    activityId: r.activity_id ?? "",
    userId: r.user_id ?? r.conversation_user_id ?? undefined,
    userAadObjectId: r.user_aad_object_id ?? r.conversation_user_aad ?? undefined,
    personal: r.kind === "user" || r.conversation_kind === "personal",
  };
}

function totalsOf(rows: readonly { option: number | string; count: number | string }[], optionCount: number): ResponseTotals {
  const totals: ResponseTotals = { respondents: 0, options: new Array<number>(optionCount).fill(0) };
  for (const r of rows) {
    const option = Number(r.option);
    if (option === RESPONDENTS) totals.respondents = Number(r.count);
    else if (option >= 0 && option < optionCount) totals.options[option] = Number(r.count);
  }
  return totals;
}

/** Answers, reactions and read receipts over Kysely (migrations 009 and 010), the same code for SQLite and PostgreSQL. */
export class KyselyResponseStore implements ResponseStore {
  constructor(private readonly db: Kysely<AllTables>) {}

  private refQuery() {
    return this.db
      .selectFrom("deliveries as d")
      .leftJoin("conversations as c", "c.id", "d.conversation_id")
      .select([
        "d.notification_id",
        "d.seq",
        "d.kind",
        "d.tenant_id",
        "d.conversation_id",
        "d.service_url",
        "d.activity_id",
        "d.user_id",
        "d.user_aad_object_id",
        "c.kind as conversation_kind",
        "c.user_id as conversation_user_id",
        "c.user_aad_object_id as conversation_user_aad",
      ]);
  }

  async findDelivery(conversationId: string, activityId: string): Promise<DeliveryRef | undefined> {
    const row = await this.refQuery()
      .where("d.conversation_id", "=", conversationId)
      .where("d.activity_id", "=", activityId)
      .where("d.activity_id", "is not", null)
      .executeTakeFirst();
    return row && toRef(row);
  }

  async answer(input: AnswerInput): Promise<AnswerOutcome> {
    const [outcome] = await this.answerMany([input]);
    if (!outcome) throw new Error("answerMany returned no outcome");
    return outcome;
  }

  async answerMany(inputs: readonly AnswerInput[]): Promise<AnswerOutcome[]> {
    if (inputs.length === 0) return [];
    // The first answer of each (notification, person) in the list may count; later ones are duplicates.
    const key = (i: AnswerInput) => `${i.notificationId}\n${i.userId}`;
    const firsts = new Map<string, number>();
    inputs.forEach((input, index) => {
      if (!firsts.has(key(input))) firsts.set(key(input), index);
    });
    // In (notification, user) order: two processes claiming the same people lock them in the same order (no deadlock).
    const candidates = [...firsts.values()].map((index) => inputs[index]!).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    return this.db.transaction().execute(async (trx) => {
      // Claimed in one statement; RETURNING names the rows inserted (a conflict returns nothing).
      const claimed = await trx
        .insertInto("response_voters")
        .values(
          candidates.map((input) => ({
            notification_id: input.notificationId,
            question_id: "",
            user_id: input.userId,
            created_at: storedTime(input),
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .returning(["notification_id", "user_id"])
        .execute();
      const won = new Set(claimed.map((r) => `${r.notification_id}\n${r.user_id}`));
      const stored = candidates.filter((input) => won.has(key(input)));
      const chosen = (input: AnswerInput) => (input.kind === "poll" ? [...new Set(input.options)].sort((a, b) => a - b) : []);
      if (stored.length > 0) {
        await trx
          .insertInto("responses")
          .values(
            stored.map((input) => ({
              notification_id: input.notificationId,
              // A 1:1 delivery names its recipient: not kept for an anonymous answer.
              delivery_id: input.anonymous ? null : String(input.deliverySeq),
              tenant_id: input.tenantId,
              user_id: input.anonymous ? null : input.userId,
              user_name: input.anonymous ? null : (input.userName ?? null),
              kind: input.kind,
              question_id: "",
              value: JSON.stringify(input.kind === "poll" ? chosen(input) : true),
              created_at: storedTime(input),
            })),
          )
          .execute();
        const increments = new Map<string, { notification_id: string; option: number; count: number }>();
        for (const input of stored) {
          for (const option of [RESPONDENTS, ...chosen(input)]) {
            const k = `${input.notificationId}\n${option}`;
            const row = increments.get(k) ?? { notification_id: input.notificationId, option, count: 0 };
            row.count++;
            increments.set(k, row);
          }
        }
        // Rows in (notification, option) order: concurrent transactions lock the shared rows in the same order (no deadlock).
        const rows = [...increments.values()].sort((a, b) =>
          a.notification_id === b.notification_id ? a.option - b.option : a.notification_id < b.notification_id ? -1 : 1,
        );
        await trx
          .insertInto("response_counts")
          .values(rows)
          .onConflict((oc) =>
            oc.columns(["notification_id", "option"]).doUpdateSet({ count: sql<number>`response_counts.count + excluded.count` }),
          )
          .execute();
      }
      const ids = [...new Set(inputs.map((i) => i.notificationId))];
      const countRows = await trx
        .selectFrom("response_counts")
        .select(["notification_id", "option", "count"])
        .where("notification_id", "in", ids)
        .execute();
      return inputs.map((input, index): AnswerOutcome => {
        const totals = totalsOf(
          countRows.filter((r) => r.notification_id === input.notificationId),
          input.optionCount,
        );
        const counted = firsts.get(key(input)) === index && won.has(key(input));
        return counted ? { stored: true, totals } : { stored: false, reason: "duplicate", totals };
      });
    });
  }

  private async readTotals(db: Kysely<AllTables>, notificationId: string, optionCount: number): Promise<ResponseTotals> {
    const rows = await db.selectFrom("response_counts").select(["option", "count"]).where("notification_id", "=", notificationId).execute();
    return totalsOf(rows, optionCount);
  }

  totals(notificationId: string, optionCount: number): Promise<ResponseTotals> {
    return this.readTotals(this.db, notificationId, optionCount);
  }

  async answerOf(notificationId: string, userId: string): Promise<number[] | true | "anonymous" | undefined> {
    const voter = await this.db
      .selectFrom("response_voters")
      .select("user_id")
      .where("notification_id", "=", notificationId)
      .where("question_id", "=", "")
      .where("user_id", "=", userId)
      .executeTakeFirst();
    if (!voter) return undefined;
    const row = await this.db
      .selectFrom("responses")
      .select(["value", "kind"])
      .where("notification_id", "=", notificationId)
      .where("user_id", "=", userId)
      .where("question_id", "=", "")
      .executeTakeFirst();
    if (!row) return "anonymous";
    const value: unknown = JSON.parse(row.value);
    return Array.isArray(value) ? value.map(Number) : true;
  }

  async voters(notificationId: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom("response_voters")
      .select("user_id")
      .where("notification_id", "=", notificationId)
      .where("question_id", "=", "")
      .orderBy("created_at")
      .orderBy("user_id")
      .limit(limit)
      .execute();
    return rows.map((r) => r.user_id);
  }

  async list(notificationId: string, page: { cursor?: string | undefined; limit: number }): Promise<Page<ResponseRecord>> {
    const after = page.cursor === undefined ? undefined : decodeCursor(page.cursor);
    const rows = await this.db
      .selectFrom("responses")
      .selectAll()
      .where("notification_id", "=", notificationId)
      .where("kind", "in", ["poll", "ack", "survey"])
      .$if(after !== undefined, (q) => q.where("seq", ">", after ?? 0))
      .orderBy("seq")
      .limit(page.limit + 1)
      .execute();
    const items = rows.slice(0, page.limit).map(
      (r): ResponseRecord => ({
        seq: Number(r.seq),
        kind: r.kind,
        deliverySeq: r.delivery_id === null ? undefined : Number(r.delivery_id),
        userId: r.user_id ?? undefined,
        userName: r.user_name ?? undefined,
        questionId: r.question_id || undefined,
        value: JSON.parse(r.value) as unknown,
        createdAt: r.created_at,
      }),
    );
    const last = items.at(-1);
    return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last.seq) : undefined };
  }

  async reactionCounts(notificationId: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom("response_reactions")
      .select(["type", (eb) => eb.fn.countAll<number | string>().as("n")])
      .where("notification_id", "=", notificationId)
      .groupBy("type")
      .orderBy("type")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.type, Number(r.n)]));
  }

  async react(ref: DeliveryRef, userId: string, types: readonly string[], added: boolean, at: string): Promise<void> {
    if (types.length === 0) return;
    if (added) {
      await this.db
        .insertInto("response_reactions")
        .values(
          types.map((type) => ({
            notification_id: ref.notificationId,
            seq: ref.seq,
            user_id: userId,
            type,
            created_at: canonicalTime(at),
          })),
        )
        .onConflict((oc) => oc.doNothing())
        .execute();
      return;
    }
    await this.db
      .deleteFrom("response_reactions")
      .where("notification_id", "=", ref.notificationId)
      .where("seq", "=", ref.seq)
      .where("user_id", "=", userId)
      .where("type", "in", [...types])
      .execute();
  }

  async markRead(conversationId: string, activityId: string, at: string): Promise<number> {
    const readAt = canonicalTime(at);
    return this.db.transaction().execute(async (trx) => {
      const last = await trx
        .selectFrom("deliveries")
        .select(["notification_id", "seq", "sent_at"])
        .where("conversation_id", "=", conversationId)
        .where("activity_id", "=", activityId)
        .where("activity_id", "is not", null)
        .executeTakeFirst();
      if (!last) return 0;
      // Reading up to a message reads the earlier ones of the chat too.
      const marked = await trx
        .updateTable("deliveries")
        .set({ read_at: readAt })
        .where("conversation_id", "=", conversationId)
        .where("activity_id", "is not", null)
        .where("read_at", "is", null)
        .where((eb) =>
          last.sent_at === null
            ? eb.and([eb("notification_id", "=", last.notification_id), eb("seq", "=", last.seq)])
            : eb.or([
                eb("sent_at", "<=", last.sent_at),
                eb.and([eb("notification_id", "=", last.notification_id), eb("seq", "=", last.seq)]),
              ]),
        )
        .returning("notification_id")
        .execute();
      const per = new Map<string, number>();
      for (const r of marked) per.set(r.notification_id, (per.get(r.notification_id) ?? 0) + 1);
      for (const [id, n] of [...per].sort(([a], [b]) => a.localeCompare(b))) {
        await trx
          .updateTable("notifications")
          .set({ read_count: sql<number>`read_count + ${n}` })
          .where("id", "=", id)
          .execute();
      }
      return marked.length;
    });
  }

  async readCount(notificationId: string): Promise<number> {
    const row = await this.db.selectFrom("notifications").select("read_count").where("id", "=", notificationId).executeTakeFirst();
    return Number(row?.read_count ?? 0);
  }

  async readTimes(notificationId: string, seqs: readonly number[]): Promise<Map<number, string>> {
    if (seqs.length === 0) return new Map();
    const rows = await this.db
      .selectFrom("deliveries")
      .select(["seq", "read_at"])
      .where("notification_id", "=", notificationId)
      .where("seq", "in", [...seqs])
      .where("read_at", "is not", null)
      .execute();
    return new Map(rows.map((r) => [Number(r.seq), r.read_at ?? ""]));
  }

  async cardShown(notificationId: string, seq: number, total: number): Promise<void> {
    await this.db
      .updateTable("deliveries")
      .set({ card_total: total })
      .where("notification_id", "=", notificationId)
      .where("seq", "=", seq)
      .where((eb) => eb.or([eb("card_total", "is", null), eb("card_total", "<", total)]))
      .execute();
  }

  async staleCards(limit: number): Promise<StaleCard[]> {
    const rows = await this.refQuery()
      .innerJoin("response_counts as rc", (j) => j.onRef("rc.notification_id", "=", "d.notification_id").on("rc.option", "=", RESPONDENTS))
      .select(["d.card_total", "rc.count"])
      .where("d.activity_id", "is not", null)
      .where("d.kind", "!=", "user")
      .where((eb) => eb.or([eb("c.kind", "is", null), eb("c.kind", "!=", "personal")]))
      .where(sql<boolean>`coalesce(d.card_total, 0) < rc.count`)
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ref: toRef(r), shown: Number(r.card_total ?? 0), respondents: Number(r.count) }));
  }
}
