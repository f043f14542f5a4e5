import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Every /v1 route driven with an admin key limited to tenant A, against data in tenants A and B:
 * nothing of B may be read, changed, revoked or granted (issue 9).
 */

const ADMIN = "admin-key-for-tests-0123456789";
const A = "tenant-a";
const B = "tenant-b";

const HIDDEN = {
  chat: "a:hidden-chat",
  user: "29:hidden-user",
  aad: "0b0b0b0b-1111-4222-8333-444455556666",
  team: "19:hidden-team@thread.tacv2",
  channel: "19:hidden-channel@thread.tacv2",
};

type Body = Record<string, unknown>;
type Item = Record<string, unknown>;

forEachStore((stores) => {
  let herald: Herald;
  const ids: { nA: string; nB: string; keyA: string; secretA: string; keyB: string; secretB: string; keyAll: string } = {
    nA: "",
    nB: "",
    keyA: "",
    secretA: "",
    keyB: "",
    secretB: "",
    keyAll: "",
  };

  async function call(method: string, path: string, key: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await herald.fetch(
      new Request(`http://herald.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    const text = await res.text();
    const json = res.headers.get("content-type")?.includes("json") && text ? (JSON.parse(text) as Body) : {};
    return { status: res.status, body: json, text };
  }
  const items = (b: Body) => b["items"] as Item[];

  beforeAll(async () => {
    const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: ADMIN });
    // No engine: the routes and the store are what is tested, nothing is sent.
    herald = await createHerald(config, { logger: silentLogger, store: await stores.open(), engine: false });
    const at = new Date().toISOString();
    for (const [tenant, n] of [
      [A, 1],
      [A, 2],
      [B, 1],
      [B, 2],
    ] as const) {
      await herald.store.conversations.upsert({
        id: `a:${tenant}-${n}`,
        kind: "personal",
        tenantId: tenant,
        serviceUrl: "http://127.0.0.1:9/teams/",
        channelId: "msteams",
        bot: { id: "28:bot" },
        user: { id: `29:${tenant}-${n}`, name: `User ${tenant} ${n}` },
        at,
        status: "active",
      });
    }
    // Ids of tenant B that do not spell B's id, so an answer can be searched for it.
    await herald.store.conversations.upsert({
      id: HIDDEN.chat,
      kind: "personal",
      tenantId: B,
      serviceUrl: "http://127.0.0.1:9/teams/",
      channelId: "msteams",
      bot: { id: "28:bot" },
      user: { id: HIDDEN.user, name: "Hidden", aadObjectId: HIDDEN.aad },
      at,
      status: "active",
    });
    await herald.store.conversations.upsert({
      id: HIDDEN.channel,
      kind: "channel",
      tenantId: B,
      serviceUrl: "http://127.0.0.1:9/teams/",
      channelId: "msteams",
      bot: { id: "28:bot" },
      team: { id: HIDDEN.team, name: "Hidden team" },
      channel: { id: HIDDEN.channel, name: "Hidden channel" },
      at,
      status: "active",
    });
    await herald.store.conversations.setStatus(`a:${A}-2`, "blocked", "403/MessageWritesBlocked", at);
    await herald.store.conversations.setStatus(`a:${B}-2`, "blocked", "403/MessageWritesBlocked", at);

    const send = async (tenantId: string) => {
      const r = await call("POST", "/v1/notifications", ADMIN, { audience: { all: true, tenantId }, message: { text: `to ${tenantId}` } });
      expect(r.status).toBe(202);
      return r.body["id"] as string;
    };
    ids.nA = await send(A);
    ids.nB = await send(B);
    const key = async (body: Body) => {
      const r = await call("POST", "/v1/keys", ADMIN, body);
      expect(r.status).toBe(201);
      return r.body;
    };
    const kA = await key({ name: "admin-a", scopes: ["admin"], tenants: [A] });
    ids.keyA = kA["id"] as string;
    ids.secretA = kA["key"] as string;
    const kB = await key({ name: "admin-b", scopes: ["admin"], tenants: [B] });
    ids.keyB = kB["id"] as string;
    ids.secretB = kB["key"] as string;
    ids.keyAll = (await key({ name: "reader-everywhere", scopes: ["read"] }))["id"] as string;
  });
  afterAll(() => herald?.close());

  describe("keys", () => {
    it("a key created by a tenant-A admin without tenants inherits A, never 'every tenant'", async () => {
      const created = await call("POST", "/v1/keys", ids.secretA, { name: "child", scopes: ["admin"] });
      expect(created.status).toBe(201);
      expect(created.body["tenants"]).toEqual([A]);
      const child = created.body["key"] as string;
      expect((await call("GET", `/v1/conversations?tenantId=${B}`, child)).status).toBe(403);
      expect((await call("GET", `/v1/notifications/${ids.nB}`, child)).status).toBe(404);
      // The child cannot widen itself either.
      expect((await call("POST", "/v1/keys", child, { name: "grandchild", scopes: ["read"], tenants: [B] })).status).toBe(403);
    });

    it("refuses to grant a tenant outside the creator's, and stores nothing", async () => {
      const before = items((await call("GET", "/v1/keys", ADMIN)).body).length;
      for (const tenants of [[B], [A, B]]) {
        const r = await call("POST", "/v1/keys", ids.secretA, { name: "wider", scopes: ["read"], tenants });
        expect(r.status).toBe(403);
        expect(r.body["error"]).toMatchObject({ code: "HERALD_E_FORBIDDEN", message: expect.stringMatching(/^tenants: .*"tenant-b"/) });
      }
      expect(items((await call("GET", "/v1/keys", ADMIN)).body).length).toBe(before);
    });

    it("lists only keys limited to A", async () => {
      const listed = items((await call("GET", "/v1/keys", ids.secretA)).body);
      const listedIds = listed.map((k) => k["id"]);
      expect(listedIds).toContain(ids.keyA);
      expect(listedIds).not.toContain(ids.keyB);
      expect(listedIds).not.toContain(ids.keyAll);
      for (const k of listed) expect(k["tenants"]).toEqual([A]);
    });

    it("shows the creator of a key only when the reader can see that key (null for wider keys)", async () => {
      const child = await call("POST", "/v1/keys", ids.secretA, { name: "child-of-a", scopes: ["read"] });
      expect(child.body["createdBy"]).toBe(ids.keyA);
      const listed = items((await call("GET", "/v1/keys", ids.secretA)).body);
      // Created by the bootstrap key, which A may not see.
      expect(listed.find((k) => k["id"] === ids.keyA)?.["createdBy"]).toBeNull();
      expect(listed.find((k) => k["id"] === child.body["id"])?.["createdBy"]).toBe(ids.keyA);
      const text = JSON.stringify(listed);
      expect(text).not.toContain("env:HERALD_API_KEY");
      // The unlimited reader sees every creator.
      const all = items((await call("GET", "/v1/keys", ADMIN)).body);
      expect(all.find((k) => k["id"] === ids.keyA)?.["createdBy"]).toBe("env:HERALD_API_KEY");
    });

    it("cannot revoke a key of B or an unlimited key (404), and they keep working", async () => {
      for (const id of [ids.keyB, ids.keyAll]) {
        const r = await call("DELETE", `/v1/keys/${id}`, ids.secretA);
        expect(r.status).toBe(404);
        expect(r.body["error"]).toMatchObject({ code: "HERALD_E_KEY_NOT_FOUND" });
      }
      const all = items((await call("GET", "/v1/keys", ADMIN)).body);
      for (const id of [ids.keyB, ids.keyAll]) expect(all.find((k) => k["id"] === id)?.["revokedAt"]).toBeNull();
      expect((await call("GET", `/v1/conversations?tenantId=${B}`, ids.secretB)).status).toBe(200);
      // Its own tenant's keys it may revoke.
      const own = await call("POST", "/v1/keys", ids.secretA, { name: "short-lived", scopes: ["read"] });
      expect((await call("DELETE", `/v1/keys/${own.body["id"] as string}`, ids.secretA)).status).toBe(204);
    });
  });

  describe("audit", () => {
    it("shows only entries that concern A", async () => {
      // Writes in B by the unlimited admin and by B's admin, after every other test's writes.
      expect((await call("POST", "/v1/keys", ids.secretB, { name: "b-child", scopes: ["read"] })).status).toBe(201);
      expect((await call("PATCH", `/v1/notifications/${ids.nB}`, ADMIN, { message: { text: "to B, edited" } })).status).toBe(202);
      expect((await call("PATCH", `/v1/notifications/${ids.nA}`, ADMIN, { message: { text: "to A, edited" } })).status).toBe(202);

      const everything = items((await call("GET", "/v1/audit?limit=1000", ADMIN)).body);
      expect(everything.some((e) => e["target"] === ids.nB)).toBe(true);
      expect(everything.some((e) => e["target"] === ids.keyB)).toBe(true);

      const seen: Item[] = [];
      let cursor: string | null = null;
      do {
        const page = await call("GET", `/v1/audit?limit=2${cursor ? `&cursor=${cursor}` : ""}`, ids.secretA);
        expect(page.status).toBe(200);
        seen.push(...items(page.body));
        cursor = page.body["nextCursor"] as string | null;
      } while (cursor);
      expect(seen.length).toBeGreaterThan(0);
      for (const e of seen) expect(e["tenants"]).toEqual([A]);
      const targets = seen.map((e) => e["target"]);
      expect(targets).not.toContain(ids.nB);
      expect(targets).not.toContain(ids.keyB);
      expect(targets).not.toContain(ids.keyAll);
      // What concerns A is there: the creation of A's key and the edit of A's notification, by the unlimited admin.
      expect(targets).toContain(ids.keyA);
      expect(seen.some((e) => e["target"] === ids.nA && String(e["action"]).startsWith("PATCH"))).toBe(true);
      expect(JSON.stringify(seen)).not.toContain(B);
      // Who acted is shown only for keys A can see: the unlimited admin's entries have actor null.
      expect(JSON.stringify(seen)).not.toContain("env:HERALD_API_KEY");
      expect(seen.find((e) => e["target"] === ids.keyA)?.["actor"]).toBeNull();
      expect(seen.some((e) => e["actor"] === ids.keyA)).toBe(true);
      expect(everything.find((e) => e["target"] === ids.keyA)?.["actor"]).toBe("env:HERALD_API_KEY");
    });
  });

  describe("conversations and reports", () => {
    it("reads conversations of A only", async () => {
      expect((await call("GET", `/v1/conversations?tenantId=${B}`, ids.secretA)).status).toBe(403);
      expect((await call("GET", "/v1/conversations", ids.secretA)).status).toBe(400);
      const own = await call("GET", `/v1/conversations?tenantId=${A}`, ids.secretA);
      expect(own.status).toBe(200);
      expect(items(own.body).map((c) => c["tenantId"])).toEqual([A, A]);
    });

    it("reports blocked conversations of A only (JSON and CSV)", async () => {
      const json = await call("GET", "/v1/reports/blocked", ids.secretA);
      expect(json.status).toBe(200);
      expect(items(json.body).map((b) => b["conversationId"])).toEqual([`a:${A}-2`]);
      expect((await call("GET", `/v1/reports/blocked?tenantId=${B}`, ids.secretA)).status).toBe(403);
      const csv = await call("GET", "/v1/reports/blocked?format=csv", ids.secretA);
      expect(csv.status).toBe(200);
      expect(csv.text).toContain(`a:${A}-2`);
      expect(csv.text).not.toContain(B);
    });
  });

  describe("notifications", () => {
    it("cannot send to B by name or to everyone, and says why", async () => {
      const before = items((await call("GET", "/v1/notifications?limit=1000", ADMIN)).body).length;
      for (const [audience, status, code] of [
        [{ all: true, tenantId: B }, 403, "HERALD_E_FORBIDDEN"],
        [{ users: [HIDDEN.user], tenantId: B }, 403, "HERALD_E_FORBIDDEN"],
        [{ all: true }, 400, "HERALD_E_TENANT_REQUIRED"],
        [{ users: [HIDDEN.user] }, 400, "HERALD_E_TENANT_REQUIRED"],
        [{ users: ["29:nobody-at-all"] }, 400, "HERALD_E_TENANT_REQUIRED"],
      ] as const) {
        const r = await call("POST", "/v1/notifications", ids.secretA, { audience, message: { text: "x" } });
        expect(r.status, JSON.stringify(audience)).toBe(status);
        expect(r.body["error"]).toMatchObject({ code, message: expect.stringContaining("tenant") });
      }
      expect(items((await call("GET", "/v1/notifications?limit=1000", ADMIN)).body).length).toBe(before);
      expect(
        (await call("POST", "/v1/notifications", ids.secretA, { audience: { all: true, tenantId: A }, message: { text: "x" } })).status,
      ).toBe(202);
    });

    it("answers an id of B exactly as an id Herald never saw, and never names B", async () => {
      /** What a caller learns from sending: the answer and the rows, without the ids that differ by construction. */
      const answer = async (audience: unknown, id: string) => {
        const r = await call("POST", "/v1/notifications", ids.secretA, { audience, message: { text: "probe" } });
        const texts = [r.text];
        let rows: unknown[] = [];
        if (r.status === 202) {
          const d = await call("GET", `/v1/notifications/${r.body["id"] as string}/deliveries`, ids.secretA);
          const n = await call("GET", `/v1/notifications/${r.body["id"] as string}`, ids.secretA);
          texts.push(d.text, n.text);
          rows = items(d.body)
            .map((x) => JSON.parse(JSON.stringify(x).replaceAll(id, "ID")) as Item)
            // Every field but the time of the row.
            .map(({ updatedAt: _updatedAt, notBefore: _notBefore, ...row }) => row);
        }
        for (const t of texts) expect(t, JSON.stringify(audience)).not.toContain(B);
        const body = r.status === 202 ? { status: r.body["status"], total: r.body["total"], counts: r.body["counts"] } : r.body;
        return { status: r.status, body, rows };
      };
      const unknown = {
        chat: "a:never-seen-chat",
        user: "29:never-seen-user",
        aad: "0c0c0c0c-1111-4222-8333-444455556666",
        team: "19:never-seen-team@thread.tacv2",
        channel: "19:never-seen-channel@thread.tacv2",
      };
      const cases: [string, (ids: typeof HIDDEN) => [unknown, string]][] = [
        ["conversation", (x) => [{ conversations: [x.chat] }, x.chat]],
        ["user (29:)", (x) => [{ users: [x.user], tenantId: A }, x.user]],
        ["user (Entra object id)", (x) => [{ users: [x.aad], tenantId: A }, x.aad]],
        ["channel", (x) => [{ channels: [x.channel] }, x.channel]],
        ["channel by its team's id", (x) => [{ channels: [x.team] }, x.team]],
        ["team, to its General channel", (x) => [{ teams: [x.team], deliverTo: "channel" }, x.team]],
        ["team, to its members", (x) => [{ teams: [x.team], deliverTo: "members" }, x.team]],
      ];
      for (const [name, make] of cases) {
        const [hiddenAudience, hiddenId] = make(HIDDEN);
        const [unknownAudience, unknownId] = make(unknown);
        const hidden = await answer(hiddenAudience, hiddenId);
        const never = await answer(unknownAudience, unknownId);
        expect(hidden, name).toEqual(never);
        expect(hidden.status, name).toBe(202);
        expect(hidden.rows.length, name).toBe(1);
      }
    });

    it("cannot read, list, edit or recall B's notification, which stays as it was", async () => {
      const before = await call("GET", `/v1/notifications/${ids.nB}`, ADMIN);
      const deliveriesBefore = await call("GET", `/v1/notifications/${ids.nB}/deliveries`, ADMIN);
      expect(before.status).toBe(200);

      const listed = items((await call("GET", "/v1/notifications?limit=1000", ids.secretA)).body).map((n) => n["id"]);
      expect(listed).toContain(ids.nA);
      expect(listed).not.toContain(ids.nB);
      for (const [method, path, body] of [
        ["GET", `/v1/notifications/${ids.nB}`, undefined],
        ["GET", `/v1/notifications/${ids.nB}/deliveries`, undefined],
        ["GET", `/v1/notifications/${ids.nB}/deliveries?format=csv`, undefined],
        ["PATCH", `/v1/notifications/${ids.nB}`, { message: { text: "hijacked" } }],
        ["DELETE", `/v1/notifications/${ids.nB}`, undefined],
      ] as const) {
        const r = await call(method, path, ids.secretA, body);
        expect(r.status, `${method} ${path}`).toBe(404);
        expect(r.text).not.toContain(B);
      }
      expect(await call("GET", `/v1/notifications/${ids.nB}`, ADMIN)).toEqual(before);
      expect(await call("GET", `/v1/notifications/${ids.nB}/deliveries`, ADMIN)).toEqual(deliveriesBefore);

      // A's own notification it may read.
      expect((await call("GET", `/v1/notifications/${ids.nA}`, ids.secretA)).status).toBe(200);
      expect((await call("GET", `/v1/notifications/${ids.nA}/deliveries`, ids.secretA)).status).toBe(200);
    });
  });
});
