import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { grantFor } from "../../src/config/oidc-roles.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { forEachStore } from "../helpers/stores.js";

/** rev3 review: guardrail gaps. Each test states the expected (safe) behaviour and fails today. */

const ADMIN = "admin-key-for-rev3-review-tests-0123456789";
const A = "tenant-a";
const T1 = "19:team-one@thread.tacv2";
type Body = Record<string, unknown>;

it("OIDC roles: one entry's scope is not granted with another entry's wider reach", () => {
  const m = {
    "roles:Herald.Reader": { scopes: ["read"] },
    "groups:g-team": { scopes: ["send"], tenants: ["t1"], teams: [T1] },
  } as unknown as Parameters<typeof grantFor>[1];
  const g = grantFor({ roles: ["Herald.Reader"], groups: ["g-team"] }, m);
  // "send" is only granted within team T1 of tenant t1: the union must not lift that limit.
  expect(g?.scopes).toContain("send");
  const send = (g as unknown as { byScope?: Record<string, { teams?: string[]; tenants?: string[] }> }).byScope?.["send"];
  expect(send?.teams).toEqual([T1]);
  expect(send?.tenants).toEqual(["t1"]);
});

forEachStore((stores) => {
  let herald: Herald;
  let teamKey = "";
  let teamAdmin = "";
  async function call(method: string, path: string, key: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await herald.fetch(
      new Request(`http://herald.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    const text = await res.text();
    const json = res.headers.get("content-type")?.includes("json") && text ? (JSON.parse(text) as Body) : {};
    return { status: res.status, body: json };
  }
  beforeAll(async () => {
    const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: ADMIN });
    herald = await createHerald(config, { logger: silentLogger, store: await stores.open(), engine: false });
    teamKey = (await call("POST", "/v1/keys", ADMIN, { name: "team", scopes: ["send", "read"], tenants: [A], teams: [T1] })).body[
      "key"
    ] as string;
    teamAdmin = (await call("POST", "/v1/keys", ADMIN, { name: "team-admin", scopes: ["admin"], teams: [T1] })).body["key"] as string;
  });
  afterAll(async () => {
    await herald?.close();
  });

  it("test-send: a team-limited key may not message an arbitrary person (urgent, no category)", async () => {
    const r = await call("POST", "/v1/notifications/test", teamKey, { userId: "29:ceo", tenantId: A, message: { text: "phish" } });
    expect(r.status).toBe(403);
  });

  it("a team-limited key may not edit or recall an org-wide broadcast of another key", async () => {
    const all = await call("POST", "/v1/notifications", ADMIN, { audience: { all: true, tenantId: A }, message: { text: "All hands" } });
    expect(all.status).toBe(202);
    const id = all.body["id"] as string;
    const edit = await call("PATCH", `/v1/notifications/${id}`, teamKey, { message: { text: "rewritten by a team key" } });
    expect([403, 404]).toContain(edit.status);
    const recall = await call("DELETE", `/v1/notifications/${id}`, teamKey);
    expect([403, 404]).toContain(recall.status);
  });

  it("a team-limited admin may not revoke an unlimited key key", async () => {
    const wide = (await call("POST", "/v1/keys", ADMIN, { name: "wide", scopes: ["send"] })).body["id"] as string;
    expect([403, 404]).toContain((await call("DELETE", `/v1/keys/${wide}`, teamAdmin)).status);
  });
});
