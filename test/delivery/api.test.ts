import { Hono } from "hono";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ApiEnv, type ApiKeyVerifier, adminKeyVerifier } from "../../src/api/auth.js";
import { notificationRoutes } from "../../src/api/notifications.js";
import { reportRoutes } from "../../src/api/reports.js";
import { forEachStore } from "../helpers/stores.js";
import { finished, type Harness, startHarness } from "./helpers/harness.js";

const adminKey = "api-test-admin-key-0123456789";
const scopedKey = "api-test-tenant-key-0123456789";

/** The HTTP contract of product.md, in process (`app.request`), over the real engine and emulator. */
forEachStore((stores) => {
  let h: Harness;
  let app: Hono<ApiEnv>;
  let tenant0: string;
  let tenant1: string;

  beforeAll(async () => {
    h = await startHarness(await stores.open(), { emulator: { org: { tenants: 2, users: 40 } } });
    await h.seedUsers(Array.from({ length: 40 }, (_, i) => i));
    tenant0 = h.emulator.org.tenants[0]!.id;
    tenant1 = h.emulator.org.tenants[1]!.id;
    const admin = adminKeyVerifier(adminKey);
    const keys: ApiKeyVerifier = {
      async verify(presented) {
        if (presented === scopedKey) return { keyId: "scoped", scopes: ["send", "read"], tenants: [tenant0] };
        return admin.verify(presented);
      },
    };
    app = new Hono<ApiEnv>();
    app.route("/", notificationRoutes(h.engine, keys));
    app.route("/", reportRoutes(h.engine, keys));
  });
  afterAll(async () => {
    await h.close();
  });

  const call = async (method: string, path: string, body?: unknown, key = adminKey) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    // biome-ignore lint/suspicious/noExplicitAny: test bodies are read loosely
    return { status: res.status, json: json as any, text, headers: res.headers };
  };
  const conv = (i: number) => h.emulator.org.personalConversationId(i);

  it("POST /v1/notifications answers 202 {id, status} once the notification and its rows are stored", async () => {
    const r = await call("POST", "/v1/notifications", {
      audience: { conversations: [conv(0), conv(1), conv(2)] },
      message: { text: "Hi ${givenName}" },
    });
    expect(r.status).toBe(202);
    expect(Object.keys(r.json).sort()).toEqual(["id", "status"]);
    expect(r.json.status).toBe("queued");
    expect(r.headers.get("location")).toBe(`/v1/notifications/${r.json.id}`);
    await h.waitFor(r.json.id, finished);
    const g = await call("GET", `/v1/notifications/${r.json.id}`);
    expect(g.status).toBe(200);
    expect(g.json).toMatchObject({
      id: r.json.id,
      status: "completed",
      total: 3,
      counts: { pending: 0, sent: 3, failed: 0, blocked: 0, notFound: 0, optedOut: 0, canceled: 0, unknown: 0 },
    });
    expect(typeof g.json.createdAt).toBe("string");
    expect(typeof g.json.startedAt).toBe("string");
    expect(typeof g.json.completedAt).toBe("string");
  });

  it("deliveries: paged by cursor, filtered by status, and as CSV", async () => {
    const r = await call("POST", "/v1/notifications", {
      audience: { conversations: [conv(3), conv(4), conv(5), "a:unknown"] },
      message: { text: "x" },
    });
    await h.waitFor(r.json.id, finished);
    const p1 = await call("GET", `/v1/notifications/${r.json.id}/deliveries?limit=2`);
    expect(p1.status).toBe(200);
    expect(p1.json.items).toHaveLength(2);
    expect(p1.json.nextCursor).toEqual(expect.any(String));
    expect(p1.json.items[0]).toMatchObject({ status: "sent", attempts: 1, activityId: expect.any(String), conversationId: conv(3) });
    const p2 = await call("GET", `/v1/notifications/${r.json.id}/deliveries?limit=2&cursor=${p1.json.nextCursor}`);
    expect(p2.json.items).toHaveLength(2);
    expect(p2.json.nextCursor).toBeNull();
    const failed = await call("GET", `/v1/notifications/${r.json.id}/deliveries?status=failed`);
    expect(failed.json.items).toHaveLength(1);
    expect(failed.json.items[0].lastErrorCode).toBe("HERALD_E_UNKNOWN_CONVERSATION");
    const csv = await call("GET", `/v1/notifications/${r.json.id}/deliveries?format=csv`);
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split("\r\n");
    expect(lines[0]).toBe(
      "seq,recipient,kind,tenantId,conversationId,targetId,userName,status,attempts,lastErrorCode,lastErrorMessage,activityId,recall,sentAt,notBefore,timezone,updatedAt,readAt,heldUntil,heldReason",
    );
    expect(lines).toHaveLength(5);
    const bad = await call("GET", `/v1/notifications/${r.json.id}/deliveries?cursor=nonsense`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("HERALD_E_BAD_CURSOR");
  });

  it("PATCH edits, DELETE recalls; both answer 202 with progress", async () => {
    const r = await call("POST", "/v1/notifications", { audience: { conversations: [conv(6), conv(7)] }, message: { text: "v1" } });
    await h.waitFor(r.json.id, finished);
    const p = await call("PATCH", `/v1/notifications/${r.json.id}`, { message: { text: "v2" } });
    expect(p.status).toBe(202);
    expect(p.json).toMatchObject({ messageVersion: 2, edit: { pending: 2, done: 0, failed: 0 } });
    await h.waitFor(r.json.id, (n) => n.edit.done === 2);
    const d = await call("DELETE", `/v1/notifications/${r.json.id}`);
    expect(d.status).toBe(202);
    expect(d.json).toMatchObject({ status: "canceled", recall: { pending: 2 } });
    await h.waitFor(r.json.id, (n) => n.recall.done === 2);
    const again = await call("PATCH", `/v1/notifications/${r.json.id}`, { message: { text: "v3" } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("HERALD_E_RECALLED");
  });

  it("the same idempotencyKey answers the same id; another body with it is a 409", async () => {
    const body = { audience: { conversations: [conv(8)] }, message: { text: "once" }, idempotencyKey: "k-1" };
    const a = await call("POST", "/v1/notifications", body);
    const b = await call("POST", "/v1/notifications", body);
    expect(b.status).toBe(202);
    expect(b.json.id).toBe(a.json.id);
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    const c = await call("POST", "/v1/notifications", { ...body, message: { text: "other" } });
    expect(c.status).toBe(409);
    expect(c.json.error.code).toBe("HERALD_E_IDEMPOTENCY_CONFLICT");
  });

  it("refuses bad requests up front, naming the field", async () => {
    const two = await call("POST", "/v1/notifications", { audience: { conversations: [conv(0)], all: true }, message: { text: "x" } });
    expect(two.status).toBe(400);
    expect(two.json.error.message).toMatch(/exactly one of/);
    const noDeliver = await call("POST", "/v1/notifications", { audience: { teams: ["19:x"] }, message: { text: "x" } });
    expect(noDeliver.json.error.message).toMatch(/deliverTo/);
    const template = await call("POST", "/v1/notifications", {
      audience: { conversations: [conv(0)] },
      message: { text: "Hi ${unknownFn(name)}" },
    });
    expect(template.status).toBe(400);
    expect(template.json.error.code).toBe("HERALD_E_TEMPLATE");
    expect(template.json.error.message).toMatch(/message\.text/);
    const big = await call("POST", "/v1/notifications", { audience: { conversations: [conv(0)] }, message: { text: "x".repeat(40_000) } });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe("HERALD_E_MESSAGE_TOO_LARGE");
    const card = await call("POST", "/v1/notifications", {
      audience: { conversations: [conv(0)] },
      message: { card: { type: "AdaptiveCard", body: [] } },
    });
    expect(card.status).toBe(400);
    expect(card.json.error.message).toMatch(/message\.card/);
    // A poll's or ack's template error names what the caller wrote, not the card built from it.
    for (const [message, field] of [
      [{ poll: { question: "Lunch ${nope(1)}?", options: ["Yes", "No"] } }, "message.poll.question"],
      [{ poll: { question: "Lunch?", options: ["Yes", "${user.name"] } }, "message.poll.options.1"],
      [{ text: "Read this", ack: { label: "OK ${nope(}" } }, "message.ack.label"],
      [
        {
          card: {
            type: "AdaptiveCard",
            version: "1.5",
            body: [{ type: "TextBlock", text: "x" }],
            actions: [{ type: "Action.OpenUrl", title: "Open", url: "https://example.com" }],
          },
          ack: { label: "Seen ${bad(}" },
        },
        "message.ack.label",
      ],
    ] as const) {
      const r = await call("POST", "/v1/notifications", { audience: { conversations: [conv(0)] }, message });
      expect(r.status).toBe(400);
      expect(r.json.error.code, JSON.stringify(r.json)).toBe("HERALD_E_TEMPLATE");
      expect(r.json.error.message.startsWith(`${field}: `)).toBe(true);
    }
    // The card built for an ack holds the caller's text: too large once rendered, the message is named.
    const bigAck = await call("POST", "/v1/notifications", {
      audience: { conversations: [conv(0)] },
      message: { text: "${big}", ack: {} },
      data: { big: "x".repeat(30_000) },
    });
    expect(bigAck.status).toBe(413);
    expect(bigAck.json.error.message).toMatch(/^message: \d/);
    const json = await call("POST", "/v1/notifications", "{not json");
    expect(json.status).toBe(400);
    expect(json.json.error.code).toBe("HERALD_E_MALFORMED_JSON");
    const unauth = await call("POST", "/v1/notifications", { audience: { all: true }, message: { text: "x" } }, "wrong-key");
    expect(unauth.status).toBe(401);
    const missing = await call("GET", "/v1/notifications/n_nope");
    expect(missing.status).toBe(404);
  });

  it("a body nested thousands of levels deep is a 400 naming where, not a 500 (a stack overflow before)", async () => {
    const deep = (levels: number): unknown => {
      let v: unknown = "x";
      for (let i = 0; i < levels; i++) v = [v];
      return v;
    };
    const card = (extra: unknown) => ({
      audience: { conversations: [conv(0)] },
      message: { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "x", extra }] } },
    });
    for (const body of [card(deep(2_500)), { audience: { conversations: [conv(0)] }, message: { text: "x" }, data: { a: deep(2_500) } }]) {
      const r = await call("POST", "/v1/notifications", body);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe("HERALD_E_INVALID_BODY");
      expect(r.json.error.message).toMatch(/^body\.(message\.card\.body\[0\]\.extra|data\.a)\[0\].*nested more than 64 levels/);
    }
    // Deep, but within the bound: accepted.
    const fine = await call("POST", "/v1/notifications", card(deep(40)));
    expect(fine.status).toBe(202);
    await h.waitFor(fine.json.id, finished);
  });

  it("a CSV download with a cursor this server did not issue is a 400 before the download starts, not a cut 200", async () => {
    const r = await call("POST", "/v1/notifications", { audience: { conversations: [conv(0)] }, message: { text: "csv" } });
    await h.waitFor(r.json.id, finished);
    for (const path of [`/v1/notifications/${r.json.id}/deliveries?format=csv&cursor=xyz`, "/v1/reports/blocked?format=csv&cursor=xyz"]) {
      const csv = await call("GET", path);
      expect(csv.status).toBe(400);
      expect(csv.json.error.code).toBe("HERALD_E_BAD_CURSOR");
    }
  });

  it("a tenant-scoped key sends and reads only its tenants", async () => {
    // Another tenant's conversation answers like an unknown id: accepted, failed, never sent, the tenant never named.
    const received = h.received(30).received;
    const other = await call("POST", "/v1/notifications", { audience: { conversations: [conv(30)] }, message: { text: "x" } }, scopedKey);
    expect(h.emulator.org.user(30).tenantId).toBe(tenant1);
    expect(other.status).toBe(202);
    expect(JSON.stringify(other.json)).not.toContain(tenant1);
    const otherDone = await h.waitFor(other.json.id, finished);
    expect(otherDone.counts).toMatchObject({ sent: 0, failed: 1 });
    const otherRows = await call("GET", `/v1/notifications/${other.json.id}/deliveries`, undefined, scopedKey);
    expect(otherRows.json.items[0].lastErrorCode).toBe("HERALD_E_UNKNOWN_CONVERSATION");
    expect(JSON.stringify(otherRows.json)).not.toContain(tenant1);
    expect(h.received(30).received).toBe(received);
    const all = await call("POST", "/v1/notifications", { audience: { all: true }, message: { text: "x" } }, scopedKey);
    expect(all.status).toBe(400);
    expect(all.json.error.code).toBe("HERALD_E_TENANT_REQUIRED");
    const mine = await call("POST", "/v1/notifications", { audience: { all: true, tenantId: tenant0 }, message: { text: "x" } }, scopedKey);
    expect(mine.status).toBe(202);
    const byAdmin = await call("POST", "/v1/notifications", { audience: { conversations: [conv(31)] }, message: { text: "x" } });
    expect((await call("GET", `/v1/notifications/${byAdmin.json.id}`, undefined, scopedKey)).status).toBe(404);
    expect((await call("GET", `/v1/notifications/${mine.json.id}`, undefined, scopedKey)).status).toBe(200);
    const list = await call("GET", "/v1/notifications?limit=100", undefined, scopedKey);
    expect(list.json.items.map((n: { id: string }) => n.id)).not.toContain(byAdmin.json.id);
    await h.waitFor(mine.json.id, finished);
  });

  it("GET /v1/reports/blocked lists who blocked or uninstalled the bot, with the Teams code; CSV too", async () => {
    for (const [i, flag] of [
      [12, { blocked: true }],
      [13, { uninstalled: true }],
    ] as const) {
      await fetch(`${h.emulator.url}/_emulator/users/${encodeURIComponent(h.emulator.org.user(i).id)}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(flag),
      });
    }
    const r = await call("POST", "/v1/notifications", { audience: { conversations: [conv(12), conv(13)] }, message: { text: "x" } });
    await h.waitFor(r.json.id, finished);
    const report = await call("GET", "/v1/reports/blocked");
    expect(report.status).toBe(200);
    const byId = new Map(report.json.items.map((b: { conversationId: string }) => [b.conversationId, b]));
    expect(byId.get(conv(12))).toMatchObject({
      status: "blocked",
      code: "MessageWritesBlocked",
      at: expect.any(String),
      userId: h.emulator.org.user(12).id,
    });
    expect(byId.get(conv(13))).toMatchObject({ status: "uninstalled", code: "BotNotInConversationRoster" });
    const csv = await call("GET", "/v1/reports/blocked?format=csv");
    expect(csv.text.split("\r\n")[0]).toBe("conversationId,tenantId,kind,status,code,at,userId,userName,userAadObjectId,teamName");
    expect(csv.text).toContain("MessageWritesBlocked");
    const scoped = await call("GET", `/v1/reports/blocked?tenantId=${tenant1}`, undefined, scopedKey);
    expect(scoped.status).toBe(403);
  });
});
