import { afterAll, beforeAll, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { loadConfig } from "../../src/config/config.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { forEachStore } from "../helpers/stores.js";

const ADMIN = "admin-key-for-tests-0123456789";

const yearMs = 365 * 24 * 3600 * 1000;

forEachStore((stores) => {
  let herald: Herald;
  beforeAll(async () => {
    const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: ADMIN });
    // A clock a year ahead: what the API records (key times, the audit log) must come from Herald's Clock.
    const clock = { now: () => Date.now() + yearMs, sleep: systemClock.sleep };
    herald = await createHerald(config, { logger: silentLogger, store: await stores.open(), clock });
  });
  afterAll(() => herald?.close());

  async function call(method: string, path: string, key: string | undefined, body?: unknown) {
    const headers: Record<string, string> = {};
    if (key) headers["authorization"] = `Bearer ${key}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await herald.fetch(
      new Request(`http://herald.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown>, headers: res.headers };
  }

  it("creates, lists, uses and revokes keys, and audits every write", async () => {
    const created = await call("POST", "/v1/keys", ADMIN, { name: "reader", scopes: ["read"] });
    expect(created.status).toBe(201);
    const secret = created.body["key"] as string;
    expect(secret).toMatch(/^hk_/);
    const id = created.body["id"] as string;

    const listed = await call("GET", "/v1/keys", ADMIN);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect((listed.body["items"] as { id: string }[]).map((k) => k.id)).toContain(id);

    expect((await call("GET", "/v1/conversations", secret)).status).toBe(200);
    // a read key cannot administer
    expect((await call("GET", "/v1/keys", secret)).status).toBe(403);

    expect((await call("DELETE", `/v1/keys/${id}`, ADMIN)).status).toBe(204);
    const after = await call("GET", "/v1/conversations", secret);
    expect(after.status).toBe(401);
    expect((await call("DELETE", "/v1/keys/key_nope", ADMIN)).status).toBe(404);

    const audit = await call("GET", "/v1/audit", ADMIN);
    const actions = (audit.body["items"] as { action: string; target: string; actor: string }[]).map(
      (e) => `${e.action}:${e.target}:${e.actor}`,
    );
    expect(actions).toContain(`key.create:${id}:env:HERALD_API_KEY`);
    expect(actions).toContain(`key.revoke:${id}:env:HERALD_API_KEY`);
    const times = (audit.body["items"] as { at: string }[]).map((e) => Date.parse(e.at));
    for (const at of times) expect(at).toBeGreaterThan(Date.now() + yearMs / 2);
    expect(Date.parse(created.body["createdAt"] as string)).toBeGreaterThan(Date.now() + yearMs / 2);
  });

  it("limits a key to its tenants", async () => {
    const created = await call("POST", "/v1/keys", ADMIN, { name: "tenant-a", scopes: ["read"], tenants: ["tenant-a"] });
    const secret = created.body["key"] as string;
    expect((await call("GET", "/v1/conversations?tenantId=tenant-a", secret)).status).toBe(200);
    expect((await call("GET", "/v1/conversations?tenantId=tenant-b", secret)).status).toBe(403);
    expect((await call("GET", "/v1/conversations", secret)).status).toBe(400);
  });

  it("refuses missing, wrong and malformed keys and bodies with a named field", async () => {
    expect((await call("GET", "/v1/keys", undefined)).status).toBe(401);
    expect((await call("GET", "/v1/keys", "not-a-real-key-at-all")).status).toBe(401);
    const unknown = await call("POST", "/v1/keys", ADMIN, { name: "x", scopes: ["read"], colour: "blue" });
    expect(unknown.status).toBe(400);
    expect((unknown.body["error"] as { message: string }).message).toMatch(/unknown field "colour"/);
    const badScope = await call("POST", "/v1/keys", ADMIN, { name: "x", scopes: ["root"] });
    expect(badScope.status).toBe(400);
    expect((badScope.body["error"] as { message: string }).message).toMatch(/^scopes\.0/);
    const badQuery = await call("GET", "/v1/audit?limit=0", ADMIN);
    expect(badQuery.status).toBe(400);
    expect(badQuery.body["error"]).toMatchObject({ code: "HERALD_E_INVALID_QUERY", message: expect.stringMatching(/^limit: /) });
  });

  it("answers a page cursor it never issued with 400 on every paged listing (found by the query fuzz: /v1/audit answered 500)", async () => {
    for (const path of ["/v1/audit", "/v1/keys", "/v1/conversations", "/v1/notifications", "/v1/reports/blocked", "/v1/tenants"]) {
      for (const cursor of ["E$?", "bm90LWEtY3Vyc29y"]) {
        const res = await call("GET", `${path}?cursor=${encodeURIComponent(cursor)}`, ADMIN);
        expect(res.status, `${path}?cursor=${cursor}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
      }
    }
    const audit = await call("GET", "/v1/audit?cursor=E%24%3F", ADMIN);
    expect(audit.status).toBe(400);
    expect(audit.body).toMatchObject({ error: { code: "HERALD_E_BAD_CURSOR" } });
  });

  it("answers 429 with Retry-After when a key sends too many requests", async () => {
    const created = await call("POST", "/v1/keys", ADMIN, { name: "busy", scopes: ["read"] });
    const secret = created.body["key"] as string;
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 150 && !limited; i++) {
      const r = await call("GET", "/healthz", undefined);
      expect(r.status).toBe(200);
      const res = await call("GET", "/v1/audit?limit=1", secret);
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(403);
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});
