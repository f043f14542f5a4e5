import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

type Json = Record<string, unknown>;

const closure = {
  name: "Office closure",
  description: "When an office closes for a day",
  message: { text: "Hello ${givenName}, the **${city}** office is closed.", summary: "Office closed", alert: true },
  category: "facilities",
  options: { data: { city: "Lisbon" }, footer: false },
};

forEachStore((stores) => {
  let stack: Stack;
  let url: string;
  let reader: string;
  let author: string;
  let authorId: string;
  let other: string;
  let tenant: string;
  let people: { id: string; conversationId: string }[];
  const key = async (name: string, scopes: string[], tenants?: string[]) => {
    const r = await call("POST", `${url}/v1/keys`, { name, scopes, ...(tenants ? { tenants } : {}) }, STACK_API_KEY);
    expect(r.status).toBe(201);
    return { key: String(r.json["key"]), id: String(r.json["id"]) };
  };

  beforeAll(async () => {
    stack = await startStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 3, teams: 1, blockedShare: 0, uninstalledShare: 0 } },
    });
    url = stack.heraldUrl;
    reader = (await key("reader", ["read"])).key;
    ({ key: author, id: authorId } = await key("author", ["draft"]));
    other = (await key("sender", ["send"])).key;
    await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
    const items = await eventually("3 personal chats", async () => {
      const list = (await call("GET", `${url}/v1/conversations?kind=personal`, undefined, STACK_API_KEY)).json["items"] as {
        id: string;
        tenantId: string;
        user: { id: string };
      }[];
      return list.length === 3 ? list : undefined;
    });
    tenant = items[0]!.tenantId;
    people = items.map((i) => ({ id: i.user.id, conversationId: i.id }));
  }, 60_000);
  afterAll(() => stack?.close());

  describe("/v1/templates", () => {
    let id: string;

    it("saves a template with who created it, lists it, reads it, and audit-logs the write", async () => {
      const created = await call("POST", `${url}/v1/templates`, closure, author);
      expect(created.status).toBe(201);
      id = String(created.json["id"]);
      expect(created.json).toMatchObject({ ...closure, createdBy: authorId, updatedBy: authorId });
      expect((await call("GET", `${url}/v1/templates/${id}`, undefined, reader)).json).toEqual(created.json);
      const list = await call("GET", `${url}/v1/templates`, undefined, reader);
      expect((list.json["items"] as Json[]).map((t) => t["id"])).toEqual([id]);
      const audit = await call("GET", `${url}/v1/audit`, undefined, STACK_API_KEY);
      const entry = (audit.json["items"] as Json[]).find((e) => e["target"] === id);
      expect(entry).toMatchObject({ actor: created.json["createdBy"], action: "POST /v1/templates", details: { status: 201 } });
    });

    it("refuses writes by a read-only key (403), and reads by no key (401)", async () => {
      const posted = await call("POST", `${url}/v1/templates`, closure, reader);
      expect(posted.status).toBe(403);
      expect(posted.json["error"]).toMatchObject({ code: "HERALD_E_FORBIDDEN" });
      expect((await call("PUT", `${url}/v1/templates/${id}`, closure, reader)).status).toBe(403);
      expect((await call("DELETE", `${url}/v1/templates/${id}`, undefined, reader)).status).toBe(403);
      expect((await call("GET", `${url}/v1/templates`)).status).toBe(401);
      expect((await call("GET", `${url}/v1/templates`, undefined, reader)).json["items"]).toHaveLength(1);
    });

    it("names the bad field in every validation error", async () => {
      const cases: [Json, string][] = [
        [{ ...closure, name: undefined }, "name:"],
        [{ ...closure, name: "   " }, "name: must not be empty"],
        [
          { ...closure, message: { text: "hi", poll: { question: "Q?", options: ["only one"] } } },
          "message.poll.options: needs at least 2 options",
        ],
        [{ ...closure, message: { card: { type: "AdaptiveCard", body: [{ type: "TextBlock", text: "x" }] } } }, "message.card.version"],
        [{ ...closure, category: "" }, "category: must not be empty"],
        [{ ...closure, options: { priority: "high" } }, 'options.priority: must be "normal" or "urgent"'],
        [{ ...closure, colour: "red" }, 'unknown field "colour"'],
      ];
      for (const [body, field] of cases) {
        const r = await call("POST", `${url}/v1/templates`, body, author);
        expect(r.status, field).toBe(400);
        expect(String((r.json["error"] as Json)["message"]), field).toContain(field);
      }
      // A `${...}` that cannot be parsed is refused at save time, naming its field.
      const bad = await call("POST", `${url}/v1/templates`, { ...closure, message: { text: "Hi ${givenName" } }, author);
      expect(bad.status).toBe(400);
      expect(bad.json["error"]).toMatchObject({ code: "HERALD_E_TEMPLATE", message: expect.stringContaining("message.text") });
      expect((await call("GET", `${url}/v1/templates`, undefined, reader)).json["items"]).toHaveLength(1);
    });

    it("lets only its creator (or an admin) change or delete it", async () => {
      const changed = { ...closure, name: "Office closure (short)", message: { text: "Closed today." } };
      const refused = await call("PUT", `${url}/v1/templates/${id}`, changed, other);
      expect(refused.status).toBe(403);
      expect(String((refused.json["error"] as Json)["message"])).toContain("creator");
      const put = await call("PUT", `${url}/v1/templates/${id}`, changed, author);
      expect(put.status).toBe(200);
      expect(put.json).toMatchObject({ name: "Office closure (short)", message: { text: "Closed today." } });
      expect((await call("GET", `${url}/v1/templates/${id}`, undefined, reader)).json["name"]).toBe("Office closure (short)");
      expect((await call("DELETE", `${url}/v1/templates/${id}`, undefined, other)).status).toBe(403);
      expect((await call("DELETE", `${url}/v1/templates/${id}`, undefined, STACK_API_KEY)).status).toBe(204);
      expect((await call("GET", `${url}/v1/templates/${id}`, undefined, reader)).status).toBe(404);
      expect((await call("PUT", `${url}/v1/templates/${id}`, changed, author)).status).toBe(404);
    });

    it("shows a tenant-limited key only the templates saved within its tenants", async () => {
      const limited = (await key("limited author", ["draft"], [tenant])).key;
      const everyTenant = await call("POST", `${url}/v1/templates`, { ...closure, name: "Org-wide" }, author);
      const own = await call("POST", `${url}/v1/templates`, { ...closure, name: "Ours" }, limited);
      expect(own.status).toBe(201);
      expect(own.json["tenants"]).toEqual([tenant]);
      expect(everyTenant.json["tenants"]).toBeNull();
      const seen = (await call("GET", `${url}/v1/templates`, undefined, limited)).json["items"] as Json[];
      expect(seen.map((t) => t["name"])).toEqual(["Ours"]);
      expect((await call("GET", `${url}/v1/templates/${everyTenant.json["id"]}`, undefined, limited)).status).toBe(404);
      expect((await call("DELETE", `${url}/v1/templates/${everyTenant.json["id"]}`, undefined, limited)).status).toBe(404);
      const all = (await call("GET", `${url}/v1/templates`, undefined, reader)).json["items"] as Json[];
      expect(all.map((t) => t["name"])).toEqual(["Org-wide", "Ours"]);
    });

    it("answers malformed bodies with a 4xx naming the problem, never a 500", async () => {
      const raw = async (method: string, path: string, body: string) => {
        const res = await fetch(`${url}${path}`, {
          method,
          headers: { authorization: `Bearer ${author}`, "content-type": "application/json" },
          body,
        });
        return { status: res.status, json: (await res.json()) as { error?: { code: string; message: string } } };
      };
      const own = String((await call("POST", `${url}/v1/templates`, { ...closure, name: "Mine" }, author)).json["id"]);
      for (const body of [
        "",
        "{",
        "null",
        "[]",
        '"text"',
        "42",
        JSON.stringify({ name: {}, message: [] }),
        JSON.stringify({ ...closure, options: [] }),
        JSON.stringify({ ...closure, message: { survey: { questions: [] } } }),
      ])
        for (const [method, path] of [
          ["POST", "/v1/templates"],
          ["PUT", `/v1/templates/${own}`],
          ["POST", "/v1/notifications/test"],
        ] as const) {
          const r = await raw(method, path, body);
          expect(r.status, `${method} ${path} ${body}`).toBeGreaterThanOrEqual(400);
          expect(r.status, `${method} ${path} ${body}`).toBeLessThan(500);
          expect(r.json.error?.message, `${method} ${path} ${body}`).toBeTruthy();
        }
      expect((await call("DELETE", `${url}/v1/templates/${own}`, undefined, author)).status).toBe(204);
    });

    it("pages the list: a limited key finds its own templates after more than 500 org-wide ones", async () => {
      // Straight into the store: 520 org-wide templates, two of a limited key's among them.
      const store: Store = await stores.open();
      const at = "2026-12-01T09:00:00.000Z";
      const row = (id: string, name: string, tenants?: string[]) => ({
        id,
        name,
        message: { text: "Hi" },
        options: {},
        createdBy: "k_bulk",
        updatedBy: "k_bulk",
        createdAt: at,
        updatedAt: at,
        tenants,
      });
      for (let i = 0; i < 520; i++) await store.templates?.create(row(`t_bulk${i}`, `Bulk ${String(i).padStart(3, "0")}`));
      await store.templates?.create(row("t_mine1", "Bulk 100 mine", [tenant]));
      await store.templates?.create(row("t_mine2", "Bulk 510 mine", [tenant]));
      const limited = (await key("limited reader", ["read"], [tenant])).key;
      const pages = async (k: string, limit: number) => {
        const names: string[] = [];
        const sizes: number[] = [];
        let cursor: string | undefined;
        for (let n = 0; n < 100; n++) {
          const r = await call(
            "GET",
            `${url}/v1/templates?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
            undefined,
            k,
          );
          expect(r.status).toBe(200);
          const items = r.json["items"] as Json[];
          names.push(...items.map((t) => String(t["name"])));
          sizes.push(items.length);
          if (r.json["nextCursor"] === null) return { names, sizes };
          cursor = String(r.json["nextCursor"]);
        }
        throw new Error("more than 100 pages");
      };
      const mine = await pages(limited, 1);
      expect(mine.names.filter((n) => n.startsWith("Bulk"))).toEqual(["Bulk 100 mine", "Bulk 510 mine"]);
      expect(mine.names).toContain("Ours");
      // The first page holds all (by default 100 a page).
      const first = await call("GET", `${url}/v1/templates`, undefined, limited);
      expect((first.json["items"] as Json[]).map((t) => t["name"])).toEqual(["Bulk 100 mine", "Bulk 510 mine", "Ours"]);
      expect(first.json["nextCursor"]).toBeNull();
      const everything = await pages(reader, 200);
      expect(everything.names.filter((n) => n.startsWith("Bulk"))).toHaveLength(522);
      expect(new Set(everything.names).size).toBe(everything.names.length);
      expect(everything.sizes.slice(0, 2)).toEqual([200, 200]);
      expect(everything.names.indexOf("Bulk 100 mine")).toBe(everything.names.indexOf("Bulk 100") + 1);
      // Bad parameters name themselves.
      for (const [query, name] of [
        ["limit=0", "limit"],
        ["limit=501", "limit"],
        ["limit=ten", "limit"],
        ["cursor=", "cursor"],
        ["cursor=not-ours", "cursor"],
        [`cursor=${Buffer.from("tp1:[1]").toString("base64url")}`, "cursor"],
        [`cursor=${Buffer.from('tp1:["a\\u0000","t_1"]').toString("base64url")}`, "cursor"],
        ["colour=red", "colour"],
      ]) {
        const r = await call("GET", `${url}/v1/templates?${query}`, undefined, reader);
        expect(r.status, query).toBe(400);
        expect(String((r.json["error"] as Json)["message"]), query).toContain(name);
      }
      for (let i = 0; i < 520; i++) await store.templates?.delete(`t_bulk${i}`);
      await store.templates?.delete("t_mine1");
      await store.templates?.delete("t_mine2");
    }, 60_000);

    it("is in the OpenAPI document", async () => {
      const doc = (await call("GET", `${url}/openapi.json`)).json as { paths: Record<string, Json> };
      expect(Object.keys(doc.paths["/v1/templates"] ?? {}).sort()).toEqual(["get", "post"]);
      const list = doc.paths["/v1/templates"]?.["get"] as { parameters?: { name: string }[] };
      expect(list.parameters?.map((p) => p.name).sort()).toEqual(["cursor", "limit"]);
      expect(Object.keys(doc.paths["/v1/templates/{id}"] ?? {}).sort()).toEqual(["delete", "get", "put"]);
      expect(doc.paths["/v1/notifications/test"]).toBeDefined();
    });
  });

  describe("POST /v1/notifications/test", () => {
    it("sends to the one person named, as a notification of its own, and refuses anything but one user", async () => {
      const me = people[1]!;
      const r = await call(
        "POST",
        `${url}/v1/notifications/test`,
        { userId: me.id, tenantId: tenant, message: { text: "Test for ${givenName}" } },
        other,
      );
      expect(r.status).toBe(202);
      expect(r.json["test"]).toBe(true);
      const n = await eventually("the test is sent", async () => {
        const v = (await call("GET", `${url}/v1/notifications/${r.json["id"]}`, undefined, STACK_API_KEY)).json;
        return v["status"] === "completed" ? v : undefined;
      });
      expect(n).toMatchObject({ total: 1, counts: expect.objectContaining({ sent: 1 }), priority: "urgent" });
      // Only that person's chat holds the test.
      const holding: string[] = [];
      for (const p of people) {
        const res = await fetch(`${stack.emulator.url}/_emulator/conversations/${encodeURIComponent(p.conversationId)}/messages`);
        const text = JSON.stringify(await res.json());
        if (text.includes("Test for ")) holding.push(p.conversationId);
      }
      expect(holding).toEqual([me.conversationId]);
      for (const body of [
        { users: [me.id], message: { text: "x" } },
        { userId: [me.id], message: { text: "x" } },
        { userId: me.id, message: { text: "x" }, schedule: { at: "2030-01-01T00:00:00Z" } },
        { userId: me.id },
      ]) {
        const bad = await call("POST", `${url}/v1/notifications/test`, body, other);
        expect(bad.status, JSON.stringify(body)).toBe(400);
      }
      expect((await call("POST", `${url}/v1/notifications/test`, { userId: me.id, message: { text: "x" } }, reader)).status).toBe(403);
    });
  });
});
