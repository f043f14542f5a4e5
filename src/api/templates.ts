import { randomBytes } from "node:crypto";
import { type Context, Hono } from "hono";
import { z } from "zod";
import { type Clock, isoNow } from "../clock.js";
import { MessageError } from "../delivery/message/errors.js";
import { prepareMessage } from "../delivery/message/prepare.js";
import { messageSchema } from "../delivery/message/schema.js";
import { errorResponse, readJson } from "../http/errors.js";
import { decodeTemplateCursor, templateCursor } from "../templates/cursor.js";
import { mayReadTemplate } from "../templates/policy.js";
import type { Template, TemplateStore } from "../templates/port.js";
import { type ApiEnv, type ApiKeyVerifier, requireScope } from "./auth.js";
import { maxNotificationBodyBytes } from "./notifications.js";
import { bodyError, queryError } from "./validation.js";

const text = (what: string, max: number) =>
  z
    .string({ error: `must be a string (${what})` })
    .trim()
    .min(1, { error: `must not be empty (${what})` })
    .max(max, { error: `must be at most ${max} characters (${what})` });

/** `options` of a template: the request's send options besides audience and schedule. */
export const templateOptionsSchema = z.strictObject(
  {
    priority: z.enum(["normal", "urgent"], { error: 'must be "normal" or "urgent"' }).optional(),
    footer: z.boolean({ error: "must be true or false" }).optional(),
    data: z.record(z.string(), z.unknown(), { error: "must be a JSON object" }).optional(),
  },
  { error: "must be an object such as {priority?, footer?, data?}" },
);

/** `POST /v1/templates` and `PUT /v1/templates/{id}`. */
export const templateBodySchema = z.strictObject({
  name: text("the template's name", 200),
  description: text("what the template is for", 2_000).optional(),
  /** The `message` of `POST /v1/notifications`. */
  message: messageSchema,
  category: text("the notification's category", 100).optional(),
  options: templateOptionsSchema.optional(),
});

/** `GET /v1/templates?cursor=&limit=`. */
export const templateListQuerySchema = z.strictObject({
  cursor: z
    .string({ error: "must be the nextCursor of the page before" })
    .min(1, { error: "must not be empty: leave it out for the first page" })
    .max(4_000, { error: "is not a cursor this server issued; start again without a cursor" })
    .optional()
    .describe("The nextCursor of the page before; leave it out for the first page."),
  limit: z.coerce
    .number({ error: "must be a whole number from 1 to 500" })
    .int({ error: "must be a whole number from 1 to 500" })
    .min(1, { error: "must be a whole number from 1 to 500" })
    .max(500, { error: "must be a whole number from 1 to 500" })
    .optional()
    .describe("Templates per page, 1 to 500 (default 100)."),
});

/**
 * At most this many stored templates are read for one page: a key limited to some tenants may
 * see few of many, and one request must not read the whole table. A page can then hold fewer than
 * `limit` templates (even none) and still have a `nextCursor`: keep going while there is one.
 */
const maxScannedPerPage = 5_000;

const templateId = () => `t_${randomBytes(12).toString("base64url")}`;

/** The JSON of a template: absent optional fields are null. */
export const templateView = (t: Template) => ({
  ...t,
  description: t.description ?? null,
  category: t.category ?? null,
  tenants: t.tenants ?? null,
});

/**
 * Saved templates: `GET /v1/templates` and `GET /v1/templates/{id}` (send, draft or read scope),
 * `POST /v1/templates` (send or draft), `PUT` and `DELETE /v1/templates/{id}` (their creator, or an
 * admin). A key limited to some tenants sees only the templates saved within them. A template's message is checked as a notification's would be (schema, then `${...}`
 * expressions with its `options.data`), so what is saved can be sent.
 */
export function templateRoutes(templates: TemplateStore, keys: ApiKeyVerifier, clock: Clock): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  const readers = requireScope(keys, ["send", "draft", "read"]);
  const writers = requireScope(keys, ["send", "draft"]);

  const body = async (c: Context<ApiEnv>) => {
    const raw = await readJson(c.req.raw, maxNotificationBodyBytes);
    if (!raw.ok) return errorResponse(c, raw.status, raw.code, raw.message);
    const parsed = templateBodySchema.safeParse(raw.value);
    if (!parsed.success) return bodyError(c, parsed.error);
    try {
      prepareMessage(parsed.data.message, { data: parsed.data.options?.data, dataField: "options.data" });
    } catch (e) {
      if (e instanceof MessageError) return errorResponse(c, e.code === "HERALD_E_MESSAGE_TOO_LARGE" ? 413 : 400, e.code, e.message);
      throw e;
    }
    return parsed.data;
  };
  const load = async (c: Context<ApiEnv>): Promise<Template | Response> => {
    const t = await templates.get(c.req.param("id") ?? "");
    if (!t || !mayReadTemplate(t, c.get("principal").tenants))
      return errorResponse(c, 404, "HERALD_E_NOT_FOUND", `No template ${c.req.param("id")}; list them with GET /v1/templates.`);
    c.set("auditTarget", { target: t.id, tenants: t.tenants });
    return t;
  };
  const ownerOnly = (c: Context<ApiEnv>, t: Template) => {
    const p = c.get("principal");
    if (t.createdBy === p.keyId || p.scopes.includes("admin")) return undefined;
    return errorResponse(
      c,
      403,
      "HERALD_E_FORBIDDEN",
      `Only the template's creator (${t.createdBy}) or an admin may change or delete it; save a copy instead.`,
    );
  };

  app.get("/v1/templates", readers, async (c) => {
    const q = templateListQuerySchema.safeParse(c.req.query());
    if (!q.success) return queryError(c, q.error);
    if (q.data.cursor !== undefined && !decodeTemplateCursor(q.data.cursor))
      return errorResponse(
        c,
        400,
        "HERALD_E_BAD_CURSOR",
        "cursor: is not one this server issued for GET /v1/templates; pass a nextCursor it answered, or start again without a cursor.",
      );
    const limit = q.data.limit ?? 100;
    const tenants = c.get("principal").tenants;
    // The store pages over every template; the key sees those within its tenants, so read store
    // pages until this page is full or none are left (or enough were read for one request).
    const items: Template[] = [];
    let after = q.data.cursor;
    let scanned = 0;
    let more = true;
    while (items.length < limit && more && scanned < maxScannedPerPage) {
      const page = await templates.list({ after, limit: Math.min(500, Math.max(limit, 100)) });
      scanned += page.items.length;
      for (const t of page.items) {
        if (!mayReadTemplate(t, tenants)) {
          after = templateCursor(t);
          continue;
        }
        if (items.length === limit) break;
        items.push(t);
        after = templateCursor(t);
      }
      more = page.nextCursor !== undefined;
      if (items.length === limit) {
        // Full: more are left when this store page had more after the last one shown, or the store has more.
        const last = page.items.at(-1);
        if (last && templateCursor(last) !== after) more = true;
        break;
      }
    }
    return c.json({ items: items.map(templateView), nextCursor: more ? (after ?? null) : null });
  });

  app.get("/v1/templates/:id", readers, async (c) => {
    const t = await load(c);
    return t instanceof Response ? t : c.json(templateView(t));
  });

  app.post("/v1/templates", writers, async (c) => {
    const b = await body(c);
    if (b instanceof Response) return b;
    const { keyId, tenants } = c.get("principal");
    const now = isoNow(clock);
    const t: Template = {
      id: templateId(),
      name: b.name,
      description: b.description,
      message: b.message,
      category: b.category,
      options: b.options ?? {},
      createdBy: keyId,
      tenants: tenants ? [...tenants] : undefined,
      updatedBy: keyId,
      createdAt: now,
      updatedAt: now,
    };
    await templates.create(t);
    c.set("auditTarget", { target: t.id, tenants: t.tenants });
    c.header("Location", `/v1/templates/${t.id}`);
    return c.json(templateView(t), 201);
  });

  app.put("/v1/templates/:id", writers, async (c) => {
    const t = await load(c);
    if (t instanceof Response) return t;
    const refused = ownerOnly(c, t);
    if (refused) return refused;
    const b = await body(c);
    if (b instanceof Response) return b;
    const change = {
      name: b.name,
      description: b.description,
      message: b.message,
      category: b.category,
      options: b.options ?? {},
      updatedBy: c.get("principal").keyId,
      updatedAt: isoNow(clock),
    };
    if (!(await templates.update(t.id, change))) return errorResponse(c, 404, "HERALD_E_NOT_FOUND", `No template ${t.id}.`);
    return c.json(templateView({ ...t, ...change }));
  });

  app.delete("/v1/templates/:id", writers, async (c) => {
    const t = await load(c);
    if (t instanceof Response) return t;
    const refused = ownerOnly(c, t);
    if (refused) return refused;
    await templates.delete(t.id);
    return c.body(null, 204);
  });

  return app;
}
