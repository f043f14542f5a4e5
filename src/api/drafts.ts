import { randomBytes } from "node:crypto";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { type Clock, isoNow } from "../clock.js";
import { type AudienceLimit, audienceOutsideLimit, intersectLimits } from "../delivery/audience/reach.js";
import { tenantSpellingProblem } from "../delivery/audience/tenant-spelling.js";
import type { DeliveryEngine } from "../delivery/engine.js";
import { prepareMessage } from "../delivery/message/prepare.js";
import { notificationRequestSchema, toAudience } from "../delivery/request.js";
import type { RecipientDirectory } from "../delivery/store/port.js";
import { approvalTenants, guardrailRefusal, mayReadDraft } from "../drafts/policy.js";
import { type Draft, type DraftStore, draftStatuses } from "../drafts/port.js";
import { errorResponse, readJson } from "../http/errors.js";
import type { ApiKeyStore } from "../store/ports.js";
import { type ApiEnv, type ApiKeyVerifier, requireScope } from "./auth.js";
import { engineError, maxNotificationBodyBytes } from "./notifications.js";
import { bodyError, queryError } from "./validation.js";

/** `POST /v1/drafts` and `PUT /v1/drafts/{id}`. */
export const draftBodySchema = z.strictObject({
  title: z.string().trim().min(1).max(200),
  request: notificationRequestSchema,
});
/** `POST /v1/drafts/{id}/return`. */
export const returnBodySchema = z.strictObject({ comment: z.string().trim().min(1).max(2000) });
/**
 * `POST /v1/drafts/{id}/approve` (optional body): `updatedAt` is the version the approver
 * reviewed; a draft changed since (sent back, rewritten, resubmitted) is refused, not sent unseen.
 */
export const approveBodySchema = z.strictObject({ updatedAt: z.string().min(1).max(64).optional() });
const listQuerySchema = z.strictObject({ status: z.enum(draftStatuses).optional() });

const draftId = () => `d_${randomBytes(12).toString("base64url")}`;

const view = (d: Draft) => ({ ...d, tenants: d.tenants ?? null, comment: d.comment ?? null, notificationId: d.notificationId ?? null });

/**
 * Drafts and approval: `POST /v1/drafts` (`draft` scope), `GET /v1/drafts[?status=]`,
 * `GET /v1/drafts/{id}` (any of draft, approve, read), `PUT /v1/drafts/{id}` and
 * `POST /v1/drafts/{id}/submit` (its author), `POST /v1/drafts/{id}/approve` and
 * `POST /v1/drafts/{id}/return {comment}` (`approve` scope, never the author). Approving sends
 * the request as the author, within the tenants both author and approver may reach.
 */
export function draftRoutes(
  drafts: DraftStore,
  engine: DeliveryEngine,
  keys: ApiKeyVerifier,
  clock: Clock,
  /** The stored keys: an approval sends as its author only while the author's key is live. */
  apiKeys?: ApiKeyStore,
  /** Stored conversations, to place channels in their teams for team guardrails (reach.ts). */
  directory?: Pick<RecipientDirectory, "channels" | "otherTenantSpelling">,
): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const readers = requireScope(keys, ["draft", "approve", "read"]);

  const load = async (c: Context<ApiEnv>): Promise<Draft | Response> => {
    const d = await drafts.get(c.req.param("id") ?? "");
    if (!d || !mayReadDraft(d, c.get("principal").tenants)) return errorResponse(c, 404, "HERALD_E_NOT_FOUND", "No such draft.");
    c.set("auditTarget", { target: d.id, tenants: d.tenants });
    return d;
  };
  const body = async (c: Context<ApiEnv>) => {
    const raw = await readJson(c.req.raw, maxNotificationBodyBytes);
    if (!raw.ok) return errorResponse(c, raw.status, raw.code, raw.message);
    const parsed = draftBodySchema.safeParse(raw.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    // An approval sends one notification; a recurring series is created with POST /v1/series.
    const schedule = parsed.data.request.schedule;
    if (typeof schedule === "object" && schedule !== null && "cron" in schedule)
      return errorResponse(
        c,
        400,
        "HERALD_E_INVALID_BODY",
        "request.schedule.cron: a draft is approved into one notification and cannot be a recurring series; remove the cron (schedule it at a time or at local time), or create the series with POST /v1/series.",
      );
    // The message's templates and size, checked when saved (as POST /v1/notifications does): a
    // draft that cannot be sent is refused now, naming the field, not first at approval.
    try {
      prepareMessage(parsed.data.request.message, {
        data: parsed.data.request.data,
        field: "request.message",
        dataField: "request.data",
      });
    } catch (e) {
      return engineError(c, e);
    }
    const p = c.get("principal");
    const refusal = guardrailRefusal(parsed.data.request.audience, p.tenants);
    if (refusal) return errorResponse(c, refusal.status, refusal.code, refusal.message);
    // Team and group guardrails, checked when saved: refused now, not first at approval.
    if (directory) {
      const audience = toAudience(parsed.data.request.audience);
      const outside = await audienceOutsideLimit(audience, p, directory, p.tenants);
      if (outside !== undefined) return errorResponse(c, 403, "HERALD_E_FORBIDDEN", outside);
      // Refused now, not first at approval (where the draft would go back to the queue).
      const misspelled = await tenantSpellingProblem(audience, directory, "request.audience.tenantId");
      if (misspelled !== undefined) return errorResponse(c, 400, "HERALD_E_TENANT_SPELLING", misspelled);
    }
    return parsed.data;
  };

  app.post("/v1/drafts", requireScope(keys, "draft"), async (c) => {
    const b = await body(c);
    if (b instanceof Response) return b;
    const p = c.get("principal");
    const now = isoNow(clock);
    const d: Draft = {
      id: draftId(),
      title: b.title,
      request: b.request,
      status: "draft",
      createdBy: p.keyId,
      tenants: p.tenants ? [...p.tenants] : undefined,
      createdAt: now,
      updatedAt: now,
    };
    await drafts.create(d);
    c.set("auditTarget", { target: d.id, tenants: d.tenants });
    return c.json(view(d), 201);
  });

  app.get("/v1/drafts", readers, async (c) => {
    const q = listQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    const tenants = c.get("principal").tenants;
    const items = (await drafts.list({ status: q.data.status })).filter((d) => mayReadDraft(d, tenants));
    return c.json({ items: items.map(view), nextCursor: null });
  });

  app.get("/v1/drafts/:id", readers, async (c) => {
    const d = await load(c);
    if (d instanceof Response) return d;
    return c.json({ ...view(d), history: await drafts.history(d.id) });
  });

  const authorOnly = (c: Context<ApiEnv>, d: Draft) =>
    d.createdBy === c.get("principal").keyId
      ? undefined
      : errorResponse(c, 403, "HERALD_E_FORBIDDEN", "Only the draft's author may change or submit it.");

  app.put("/v1/drafts/:id", requireScope(keys, "draft"), async (c) => {
    const d = await load(c);
    if (d instanceof Response) return d;
    const refused = authorOnly(c, d);
    if (refused) return refused;
    const b = await body(c);
    if (b instanceof Response) return b;
    const ok = await drafts.update(d.id, ["draft", "returned"], { title: b.title, request: b.request, updatedAt: isoNow(clock) });
    if (!ok) return errorResponse(c, 409, "HERALD_E_DRAFT_STATE", "Only a draft not yet submitted (or sent back) can be changed.");
    return c.json(view((await drafts.get(d.id)) ?? d));
  });

  app.post("/v1/drafts/:id/submit", requireScope(keys, "draft"), async (c) => {
    const d = await load(c);
    if (d instanceof Response) return d;
    const refused = authorOnly(c, d);
    if (refused) return refused;
    if (!(await drafts.update(d.id, ["draft", "returned"], { status: "submitted", updatedAt: isoNow(clock) })))
      return errorResponse(c, 409, "HERALD_E_DRAFT_STATE", `The draft is ${d.status}; only a draft or a returned draft can be submitted.`);
    return c.json(view((await drafts.get(d.id)) ?? d));
  });

  const decider = (c: Context<ApiEnv>, d: Draft) => {
    if (d.createdBy === c.get("principal").keyId)
      return errorResponse(c, 403, "HERALD_E_SELF_APPROVAL", "An author may not approve or return their own draft; ask another approver.");
    return undefined;
  };

  app.post("/v1/drafts/:id/return", requireScope(keys, "approve"), async (c) => {
    const d = await load(c);
    if (d instanceof Response) return d;
    const refused = decider(c, d);
    if (refused) return refused;
    const raw = await readJson(c.req.raw, 16 * 1024);
    if (!raw.ok) return errorResponse(c, raw.status, raw.code, raw.message);
    const parsed = returnBodySchema.safeParse(raw.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    const now = isoNow(clock);
    if (!(await drafts.update(d.id, ["submitted"], { status: "returned", comment: parsed.data.comment, updatedAt: now })))
      return errorResponse(c, 409, "HERALD_E_DRAFT_STATE", `The draft is ${d.status}; only a submitted draft can be sent back.`);
    await drafts.decide({
      draftId: d.id,
      decision: "returned",
      decidedBy: c.get("principal").keyId,
      comment: parsed.data.comment,
      decidedAt: now,
    });
    return c.json(view((await drafts.get(d.id)) ?? d));
  });

  app.post("/v1/drafts/:id/approve", requireScope(keys, "approve"), async (c) => {
    const d = await load(c);
    if (d instanceof Response) return d;
    const refused = decider(c, d);
    if (refused) return refused;
    // The body is optional (an empty one is no precondition).
    const raw = await readJson(c.req.raw, 4096);
    if (!raw.ok && raw.code !== "HERALD_E_BODY_MISSING") return errorResponse(c, raw.status, raw.code, raw.message);
    if (raw.ok) {
      const parsed = approveBodySchema.safeParse(raw.value);
      if (!parsed.success) return bodyError(c, parsed.error);
      if (parsed.data.updatedAt !== undefined && parsed.data.updatedAt !== d.updatedAt)
        return errorResponse(c, 409, "HERALD_E_DRAFT_CHANGED", "The draft changed since you reviewed it; review it again, then approve.");
    }
    // Sent as its author: not once the author's key is revoked (or gone), whoever approves. A
    // person signed in with OpenID Connect (`oidc:`) has no key: their draft was checked when saved.
    let authorLimit: AudienceLimit = {};
    if (apiKeys && !d.createdBy.startsWith("env:") && !d.createdBy.startsWith("oidc:")) {
      const author = (await apiKeys.list()).find((k) => k.id === d.createdBy);
      if (author) authorLimit = { teams: author.teams, groups: author.groups };
      if (!author || author.revokedAt)
        return errorResponse(
          c,
          409,
          "HERALD_E_DRAFT_AUTHOR_REVOKED",
          "The key that wrote this draft was revoked; send it back, or have a live key draft it again.",
        );
    }
    const p = c.get("principal");
    const now = isoNow(clock);
    // Claimed first (compare-and-set): two approvers at once never both send it.
    if (!(await drafts.update(d.id, ["submitted"], { status: "approved", updatedAt: now })))
      return errorResponse(c, 409, "HERALD_E_DRAFT_STATE", `The draft is ${d.status}; only a submitted draft can be approved.`);
    // Between the read above and the claim it may have been sent back, rewritten and submitted
    // again: send only what was read (and reviewed), never a text the claim did not see.
    const claimed = await drafts.get(d.id);
    if (!claimed || claimed.title !== d.title || JSON.stringify(claimed.request) !== JSON.stringify(d.request)) {
      await drafts.update(d.id, ["approved"], { status: "submitted", updatedAt: isoNow(clock) });
      return errorResponse(c, 409, "HERALD_E_DRAFT_CHANGED", "The draft changed while you approved it; review it again, then approve.");
    }
    const request = notificationRequestSchema.parse({ ...d.request, idempotencyKey: `draft:${d.id}` });
    try {
      const { notification } = await engine.submit(request, {
        keyId: d.createdBy,
        tenants: approvalTenants(d.tenants, p.tenants),
        // Within the author's team/group limit and the approver's: approval widens neither.
        ...intersectLimits(authorLimit, p),
      });
      await drafts.update(d.id, ["approved"], { notificationId: notification.id, updatedAt: isoNow(clock) });
      await drafts.decide({ draftId: d.id, decision: "approved", decidedBy: p.keyId, decidedAt: now });
      return c.json(view((await drafts.get(d.id)) ?? d), 202);
    } catch (e) {
      // Refused by the engine (guardrails, a bad template): back to the approver's queue untouched.
      await drafts.update(d.id, ["approved"], { status: "submitted", updatedAt: isoNow(clock) });
      return engineError(c, e);
    }
  });

  return app;
}
