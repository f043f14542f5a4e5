import { type Context, Hono } from "hono";
import { z } from "zod";
import { csvStream } from "../delivery/csv.js";
import type { Caller, DeliveryEngine } from "../delivery/engine.js";
import { answerableOf } from "../delivery/message/responses.js";
import type { Notification } from "../delivery/model.js";
import { errorResponse } from "../http/errors.js";
import type { ResponseRecord, ResponseStore } from "../store/responses.js";
import { type ApiEnv, type ApiKeyVerifier, requireScope } from "./auth.js";
import { engineError } from "./notifications.js";
import { queryError } from "./validation.js";

/** `GET /v1/notifications/{id}/responses`. */
export const responsesQuerySchema = z.strictObject({
  cursor: z.string().min(1).max(2_000).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).optional(),
  format: z.enum(["json", "csv"]).optional(),
});

/** The answers of a notification in its view: how many answered, per option (polls), reactions. */
export interface ResponsesSummary {
  kind: "poll" | "ack";
  total: number;
  /** Polls: one entry per option, in order. */
  options?: { index: number; text: string; count: number }[];
  closesAt?: string;
  anonymous?: boolean;
  /** Reactions on the notification's messages, per type. */
  reactions: Record<string, number>;
}

/** The summary for a notification's view (undefined when its message asks for no answer and has no reactions). */
export async function responsesSummary(store: ResponseStore, n: Notification): Promise<ResponsesSummary | undefined> {
  const a = answerableOf(n.message);
  const reactions = await store.reactionCounts(n.id);
  if (!a) return Object.keys(reactions).length > 0 ? { kind: "ack", total: 0, reactions } : undefined;
  const optionCount = a.kind === "poll" ? a.poll.options.length : 0;
  const totals = await store.totals(n.id, optionCount);
  const summary: ResponsesSummary = { kind: a.kind, total: totals.respondents, reactions };
  if (a.kind === "poll") {
    summary.options = a.poll.options.map((text, index) => ({ index, text, count: totals.options[index] ?? 0 }));
    if (a.poll.closesAt) summary.closesAt = a.poll.closesAt;
    if (a.poll.anonymous) summary.anonymous = true;
  }
  return summary;
}

/** One answer as listed: who (absent for anonymous polls), what (option indexes and their texts), when. */
export function responseView(r: ResponseRecord, options: readonly string[] | undefined) {
  const chosen = Array.isArray(r.value) ? (r.value as number[]) : undefined;
  // A survey answer (src/surveys): `{text, choice?}` per question; the answer shown is the choice or the typed text.
  const survey = r.kind === "survey" ? (r.value as { text?: unknown; choice?: unknown } | null) : undefined;
  const surveyAnswer = survey ? String(survey.choice ?? survey.text ?? "") : undefined;
  return {
    seq: r.seq,
    kind: r.kind,
    userId: r.userId ?? null,
    userName: r.userName ?? null,
    options: chosen ?? null,
    answer: surveyAnswer ?? (chosen ? chosen.map((i) => options?.[i] ?? String(i)).join("; ") : "acknowledged"),
    createdAt: r.createdAt,
    questionId: r.questionId ?? null,
  };
}

const csvHeader = ["seq", "kind", "userId", "userName", "options", "answer", "createdAt", "questionId"] as const;

const callerOf = (c: Context<ApiEnv>): Caller => {
  const p = c.get("principal");
  return { keyId: p.keyId, tenants: p.tenants };
};

/**
 * `GET /v1/notifications/{id}/responses?cursor=&limit=&format=csv`: the answers in the order they
 * came, with the running totals and reactions (`read` scope; the notification must be visible to the key).
 */
export function responseRoutes(engine: DeliveryEngine, store: ResponseStore, keys: ApiKeyVerifier): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get("/v1/notifications/:id/responses", requireScope(keys, "read"), async (c) => {
    const q = responsesQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const id = c.req.param("id");
    try {
      const n = await engine.get(id, callerOf(c));
      if (!n) return errorResponse(c, 404, "HERALD_E_NOT_FOUND", `No notification ${id}.`);
      const a = answerableOf(n.message);
      const options = a?.kind === "poll" ? a.poll.options : undefined;
      if (q.data.format === "csv") {
        // A bad cursor is a 400 before the download starts, not a 200 whose body breaks.
        await store.list(id, { cursor: q.data.cursor, limit: 1 });
        const stream = csvStream(
          csvHeader,
          (r: ResponseRecord) => {
            const v = responseView(r, options);
            return csvHeader.map((k) => (k === "options" ? (v.options?.join(" ") ?? "") : v[k]));
          },
          (cursor) => store.list(id, { cursor, limit: 1_000 }),
          q.data.cursor,
        );
        return new Response(stream, {
          status: 200,
          headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="${id}-responses.csv"` },
        });
      }
      const [page, summary] = await Promise.all([
        store.list(id, { cursor: q.data.cursor, limit: q.data.limit ?? 100 }),
        responsesSummary(store, n),
      ]);
      return c.json({
        summary: summary ?? null,
        items: page.items.map((r) => responseView(r, options)),
        nextCursor: page.nextCursor ?? null,
      });
    } catch (e) {
      return engineError(c, e);
    }
  });
  return app;
}
