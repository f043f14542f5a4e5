import { afterAll, beforeAll, expect, it } from "vitest";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

type Json = Record<string, unknown>;

forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 20, teams: 2, blockedShare: 0, uninstalledShare: 0 } },
    });
  });
  afterAll(() => stack?.close());

  const control = (method: string, path: string, body?: unknown) => call(method, `${stack.emulator.url}/_emulator${path}`, body);
  const messagesOf = async (conversationId: string) =>
    ((await control("GET", `/conversations/${encodeURIComponent(conversationId)}/messages`)).json["messages"] ?? []) as Json[];

  it("installs for every user through signed activities; Herald stores each reference and welcomes each user once", async () => {
    const job = await control("POST", "/install", { all: true, wait: true });
    expect(job.status).toBeLessThan(300);
    const list = await eventually("20 personal conversations stored", async () => {
      const r = await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal&limit=100`, undefined, STACK_API_KEY);
      const items = r.json["items"] as Json[];
      return items.length === 20 ? items : undefined;
    });
    const first = list[0] as { id: string; user: { name: string } };
    const welcome = await eventually("the welcome arrived", async () => {
      const m = await messagesOf(first.id);
      return m.length > 0 ? m : undefined;
    });
    expect(JSON.stringify(welcome)).toContain("Welcome");

    // Teams resends install events: nothing changes and nobody is welcomed twice.
    await control("POST", "/install", { all: true, wait: true });
    await stack.herald.handler.drain();
    expect((await messagesOf(first.id)).length).toBe(1);
  });

  it("answers a user's stop command in the emulator's chat and records the opt-out", async () => {
    const users = (await control("GET", "/users?limit=1")).json["users"] as { id: string }[] | undefined;
    const user = users?.[0];
    expect(user).toBeDefined();
    await control("POST", "/messages", { from: user?.id, text: "stop" });
    await eventually("opt-out recorded", async () => {
      const c = (await call("GET", `${stack.heraldUrl}/v1/conversations?kind=personal&limit=100`, undefined, STACK_API_KEY)).json[
        "items"
      ] as {
        id: string;
        tenantId: string;
        user: { id: string };
      }[];
      const mine = c.find((x) => x.user.id === user?.id);
      if (!mine) return undefined;
      const pref = await stack.herald.store.preferences.get(mine.tenantId, mine.user.id);
      return pref?.optedOut ? mine : undefined;
    }).then(async (mine) => {
      const said = await eventually("confirmation shown", async () => {
        const m = await messagesOf(mine.id);
        return m.some((x) => JSON.stringify(x).includes("won't receive notifications")) ? m : undefined;
      });
      expect(said.length).toBeGreaterThanOrEqual(2);
    });
  });

  it("installs in a team: the reference is the team's channel and the welcome names it and the installer", async () => {
    const teams = (await control("GET", "/teams")).json["teams"] as { id: string; name: string }[] | undefined;
    const team = teams?.[0];
    expect(team).toBeDefined();
    await control("POST", "/install", { teamId: team?.id, wait: true });
    const stored = await eventually("team conversation stored", async () => {
      const r = await call("GET", `${stack.heraldUrl}/v1/conversations?kind=channel&limit=100`, undefined, STACK_API_KEY);
      const items = r.json["items"] as { id: string; team: { id: string; name: string } }[];
      return items.find((i) => i.team.id === team?.id);
    });
    const posts = await eventually("team welcome posted", async () => {
      const m = await messagesOf(stored.id);
      return m.length > 0 ? m : undefined;
    });
    expect(JSON.stringify(posts)).toContain(team?.name ?? "?");
  });
});
