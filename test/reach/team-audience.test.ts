import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { graphCounters, type Json, messagesOf, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Issue 15 ("Reach everyone"): a notification's team audience names a team by its Entra group id
 * (with audience.tenantId) where the bot is missing. With HERALD_AUTO_INSTALL=on Herald installs
 * the app in the team through Graph (once, however many notifications wait for it), learns the
 * team's conversation from the install events, then delivers: a post in General, or a 1:1 chat to
 * every member. A Graph refusal ends the team's row with the Graph code; a key limited to some
 * groups is refused a team outside them.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 24, teams: 5, teamSize: 5, blockedShare: 0, uninstalledShare: 0 }, limits: false },
    });
    // Teams 0 to 3 without the app (Teams tells Herald, as it would); team 4 has it, unheard of by Herald.
    for (const t of stack.emulator.org.teams.slice(0, 4))
      await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: t.id, wait: true });
  });
  afterAll(() => stack?.close());

  const api = (method: string, path: string, body?: unknown, key = STACK_API_KEY) => call(method, `${stack.heraldUrl}${path}`, body, key);
  const tenantId = () => stack.emulator.org.tenants[0]!.id;
  /** Submit, then poll (10 a second, within the key's request limit) until completed; the view and its rows. */
  const send = async (body: Json): Promise<string> => {
    const created = await api("POST", "/v1/notifications", body);
    if (created.status !== 202) throw new Error(`POST /v1/notifications answered ${created.status}: ${JSON.stringify(created.json)}`);
    return created.json["id"] as string;
  };
  const settled = async (id: string): Promise<{ view: Json; rows: Json[] }> => {
    const view = await eventually(
      `notification ${id} completed`,
      async () => {
        const v = (await api("GET", `/v1/notifications/${id}`)).json;
        if (v["status"] === "completed") return v;
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      },
      25_000,
    );
    await stack.herald.handler.drain();
    const rows = ((await api("GET", `/v1/notifications/${id}/deliveries?limit=1000`)).json["items"] ?? []) as Json[];
    return { view, rows };
  };
  const posts = async (teamId: string, text: string) => (await messagesOf(stack, teamId)).filter((m) => JSON.stringify(m).includes(text));

  it("a team named by its group id, the bot missing: installed once, then the post in General", async () => {
    const team = stack.emulator.org.teams[0]!;
    const before = (await graphCounters(stack))["installs"] ?? 0;
    const id = await send({
      audience: { teams: [team.aadGroupId], tenantId: tenantId(), deliverTo: "channel" },
      message: { text: "Hello team zero" },
    });
    const { view, rows } = await settled(id);
    expect(view["counts"]).toMatchObject({ sent: 1, failed: 0, notFound: 0 });
    expect(rows[0]).toMatchObject({ status: "sent", targetId: team.id });
    expect((await graphCounters(stack))["installs"]).toBe(before + 1);
    expect((await posts(team.id, "Hello team zero")).length).toBe(1);
  });

  it("deliverTo members: installed once, then a 1:1 chat to every member", async () => {
    const team = stack.emulator.org.teams[1]!;
    const before = (await graphCounters(stack))["installs"] ?? 0;
    const id = await send({
      audience: { teams: [team.aadGroupId], tenantId: tenantId(), deliverTo: "members" },
      message: { text: "Hello members" },
    });
    const { view } = await settled(id);
    expect(view["counts"]).toMatchObject({ sent: team.memberCount, failed: 0, notFound: 0 });
    expect(view["total"]).toBe(team.memberCount);
    // One team install; the members had the app already (409s are not installs).
    expect((await graphCounters(stack))["installs"]).toBe(before + 1);
  });

  it("two notifications to the same missing team at once: one install, both delivered", async () => {
    const team = stack.emulator.org.teams[2]!;
    const before = await graphCounters(stack);
    const audience = { teams: [team.aadGroupId], tenantId: tenantId(), deliverTo: "channel" };
    const ids = await Promise.all([send({ audience, message: { text: "Twin one" } }), send({ audience, message: { text: "Twin two" } })]);
    for (const id of ids) expect((await settled(id)).view["counts"]).toMatchObject({ sent: 1 });
    const after = await graphCounters(stack);
    expect(after["installs"]).toBe((before["installs"] ?? 0) + 1);
    expect(after["conflicts"]).toBe(before["conflicts"] ?? 0);
    expect((await posts(team.id, "Twin one")).length).toBe(1);
    expect((await posts(team.id, "Twin two")).length).toBe(1);
  });

  it("a team with the app that Herald never heard of: Graph's 409, the team's id from GET /teams/{id}, then the post", async () => {
    const team = stack.emulator.org.teams[4]!;
    const before = await graphCounters(stack);
    const id = await send({
      audience: { teams: [team.aadGroupId.toUpperCase()], tenantId: tenantId(), deliverTo: "channel" },
      message: { text: "Found through Graph" },
    });
    const { view, rows } = await settled(id);
    expect(view["counts"]).toMatchObject({ sent: 1 });
    expect(rows[0]).toMatchObject({ status: "sent", targetId: team.id });
    const after = await graphCounters(stack);
    expect(after["installs"]).toBe(before["installs"] ?? 0);
    expect(after["conflicts"]).toBe((before["conflicts"] ?? 0) + 1);
    expect((await posts(team.id, "Found through Graph")).length).toBe(1);
  });

  it("Graph refuses (app policy, team not found): the team's row ends with the Graph code, naming the team", async () => {
    const team = stack.emulator.org.teams[3]!;
    const unknown = randomUUID();
    await call("PUT", `${stack.emulator.url}/_emulator/graph/refusals`, { tenantId: tenantId(), policy: true });
    try {
      const id = await send({
        audience: { teams: [team.aadGroupId, unknown], tenantId: tenantId(), deliverTo: "channel" },
        message: { text: "Refused" },
      });
      const { rows } = await settled(id);
      const policy = rows.find((r) => JSON.stringify(r).includes(team.aadGroupId));
      expect(policy).toMatchObject({ status: "failed", lastErrorCode: "HERALD_E_INSTALL_APP_POLICY" });
      expect(String(policy?.["lastErrorMessage"])).toContain(team.aadGroupId);
      const missing = rows.find((r) => r["targetId"] === unknown);
      expect(missing).toMatchObject({ status: "notFound", lastErrorCode: "HERALD_E_INSTALL_TARGET_NOT_FOUND" });
      expect((await posts(team.id, "Refused")).length).toBe(0);
    } finally {
      await call("DELETE", `${stack.emulator.url}/_emulator/graph/refusals`);
    }
  });

  it("a group id without tenantId is a 400 naming audience.tenantId", async () => {
    const r = await api("POST", "/v1/notifications", {
      audience: { teams: [stack.emulator.org.teams[0]!.aadGroupId], deliverTo: "channel" },
      message: { text: "x" },
    });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toContain("tenantId");
    expect(JSON.stringify(r.json)).toContain("Entra group id");
    // 19: ids keep their old form: a tenantId beside only 19: ids is still refused.
    const only19 = await api("POST", "/v1/notifications", {
      audience: { teams: [stack.emulator.org.teams[0]!.id], tenantId: tenantId(), deliverTo: "channel" },
      message: { text: "x" },
    });
    expect(only19.status).toBe(400);
    expect(JSON.stringify(only19.json)).toContain("tenantId");
  });

  it("a key limited to one group is refused a team (by group id) outside it, and may send to its own", async () => {
    const [t0, t1] = [stack.emulator.org.teams[0]!, stack.emulator.org.teams[1]!];
    const made = await api("POST", "/v1/keys", { name: "group0", scopes: ["admin"], groups: [t0.aadGroupId] });
    expect(made.status).toBe(201);
    const key = (made.json["key"] ?? made.json["secret"]) as string;
    const other = await api(
      "POST",
      "/v1/notifications",
      { audience: { teams: [t1.aadGroupId], tenantId: tenantId(), deliverTo: "channel" }, message: { text: "Outside" } },
      key,
    );
    expect(other.status).toBe(403);
    expect(JSON.stringify(other.json)).toContain(t1.aadGroupId);
    const own = await api(
      "POST",
      "/v1/notifications",
      { audience: { teams: [t0.aadGroupId], tenantId: tenantId(), deliverTo: "channel" }, message: { text: "Inside" } },
      key,
    );
    expect(own.status).toBe(202);
  });
});
