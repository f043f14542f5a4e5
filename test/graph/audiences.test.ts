import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { graphCounters, type Json, messagesOf, notifyAndWait, startGraphStack } from "./stack.js";

/** Audiences read through Graph: Entra groups page by page, UPNs and emails, the directory. */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      // Team 0 holds all 60 users; team 1 a subset. Graph pages of 20: a group of 60 is 3 pages.
      emulator: { org: { tenants: 1, users: 60, teams: 2, teamSize: 40, blockedShare: 0, uninstalledShare: 0 }, limits: false },
      env: { HERALD_TENANT_RPS: "0" },
      herald: { graphPageSize: 20 },
    });
    // Everyone installed the app: Herald knows every chat (the groups test sends without installs).
    await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
    await eventually("60 chats stored", async () => {
      const r = await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal&limit=100`, undefined, STACK_API_KEY);
      return (r.json["items"] as Json[]).length === 60 ? true : undefined;
    });
    await stack.herald.handler.drain();
  });
  afterAll(() => stack?.close());

  const org = () => stack.emulator.org;
  const tenantId = () => org().tenants[0]!.id;
  const said = (m: Json[], text: string) => m.filter((x) => JSON.stringify(x).includes(text)).length;

  it("{groups}: transitive members streamed page by page, a person in two groups messaged once; an unknown group fails by name", async () => {
    const [all, some] = [org().teams[0]!, org().teams[1]!];
    const requests = (await graphCounters(stack))["requests"]!;
    const unknown = randomUUID();
    const { view, rows } = await notifyAndWait(stack, {
      audience: { groups: [all.aadGroupId, some.aadGroupId, unknown], tenantId: tenantId() },
      message: { text: "Group notice" },
    });
    // 60 distinct people (team 1's members are all in team 0), plus the unknown group's failed row.
    expect(view["total"]).toBe(61);
    expect(view["counts"]).toMatchObject({ sent: 60, failed: 1 });
    // At least 3 pages for the 60 and 2 for team 1's members: the listing was paged.
    expect((await graphCounters(stack))["requests"]! - requests).toBeGreaterThanOrEqual(3 + Math.ceil(some.memberCount / 20));
    const failed = rows.find((r) => r["status"] === "failed")!;
    expect(failed).toMatchObject({ targetId: unknown, lastErrorCode: "graph/404/Request_ResourceNotFound" });
    for (const i of [0, 17, 59]) expect(said(await messagesOf(stack, org().personalConversationId(i)), "Group notice")).toBe(1);
  });

  it("users named by UPN or email resolve through Graph; a name twice is one recipient; an unknown one ends notFound naming it", async () => {
    const u5 = org().user(5);
    const u6 = org().user(6);
    const nobody = `nobody.${Date.now()}@${u5.userPrincipalName.split("@")[1]}`;
    const { view, rows } = await notifyAndWait(stack, {
      audience: { users: [u5.userPrincipalName, u6.email, u5.aadObjectId, nobody], tenantId: tenantId() },
      message: { text: "By name" },
    });
    expect(view["counts"]).toMatchObject({ sent: 2, notFound: 1 });
    expect(view["total"]).toBe(3);
    const lost = rows.find((r) => r["status"] === "notFound")!;
    expect(lost["lastErrorCode"]).toBe("HERALD_E_USER_NOT_FOUND");
    expect(String(lost["lastErrorMessage"])).toContain(nobody);
    expect(said(await messagesOf(stack, org().personalConversationId(5)), "By name")).toBe(1);
    expect(said(await messagesOf(stack, org().personalConversationId(6)), "By name")).toBe(1);
  });

  it("the OpenAPI document names groups and includeUninstalled", async () => {
    const doc = JSON.stringify((await call("GET", `${stack.heraldUrl}/openapi.json`)).json);
    expect(doc).toContain("includeUninstalled");
    expect(doc).toContain("groups");
  });
});
