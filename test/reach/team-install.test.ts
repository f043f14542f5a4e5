import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { graphCounters, type Json, messagesOf, notifyAndWait, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * `POST /v1/installations` with `teams`: the app installed in each team through Graph
 * (`POST /teams/{groupId}/installedApps`), 409 counted as already installed, an unknown team
 * refused by name; the team's install event makes it a known audience, with one welcome.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 20, teams: 2, teamSize: 10, blockedShare: 0, uninstalledShare: 0 } },
    });
    // Team 0 without the app; team 1 has it, but Herald never heard of either.
    await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: stack.emulator.org.teams[0]!.id, wait: true });
  });
  afterAll(() => stack?.close());

  const api = (method: string, path: string, body?: unknown) => call(method, `${stack.heraldUrl}${path}`, body, STACK_API_KEY);
  const finished = async (id: string): Promise<Json> =>
    eventually(
      `job ${id} finished`,
      async () => {
        const r = await api("GET", `/v1/installations/${id}`);
        return r.json["status"] !== "running" ? r.json : undefined;
      },
      20_000,
    );

  it("installs in a team, counts a 409 as already installed, refuses an unknown team; the team is then an audience", async () => {
    const [t0, t1] = [stack.emulator.org.teams[0]!, stack.emulator.org.teams[1]!];
    const tenantId = stack.emulator.org.tenants[0]!.id;
    const unknown = randomUUID();
    const started = await api("POST", "/v1/installations", { teams: [t0.aadGroupId, t1.aadGroupId, unknown], tenantId });
    expect(started.status).toBe(202);
    const done = await finished(started.json["id"] as string);
    expect(done).toMatchObject({ status: "completed", total: 3, counts: { installed: 1, alreadyInstalled: 1, refused: 1, failed: 0 } });
    const counters = await graphCounters(stack);
    expect(counters["installs"]).toBe(1);
    expect(counters["conflicts"]).toBe(1);
    const items = (await api("GET", `/v1/installations/${started.json["id"]}/items`)).json["items"] as Json[];
    expect(items.find((i) => i["userId"] === unknown)).toMatchObject({ status: "refused", code: "HERALD_E_INSTALL_TARGET_NOT_FOUND" });
    // The install event stored the team: its General channel is an audience now.
    await eventually("team 0 stored", async () => {
      const r = await api("GET", "/v1/conversations?kind=channel&limit=100");
      return (r.json["items"] as Json[]).some((c) => c["id"] === t0.id) ? true : undefined;
    });
    const { view } = await notifyAndWait(stack, { audience: { teams: [t0.id], deliverTo: "channel" }, message: { text: "To the team" } });
    expect(view["counts"]).toMatchObject({ sent: 1 });
    await stack.herald.handler.drain();
    const welcomes = (await messagesOf(stack, t0.id)).filter((m) => JSON.stringify(m).includes("Welcome"));
    expect(welcomes.length).toBeLessThanOrEqual(1);
  });

  it("a team named by its 19: Teams id is refused with a 400 that says to use its Entra group id", async () => {
    const r = await api("POST", "/v1/installations", { teams: ["19:abc@thread.tacv2"], tenantId: "t" });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toContain("Entra group id");
  });

  it("a teams request is validated with the others", async () => {
    const r = await api("POST", "/v1/installations", { teams: ["x"], users: ["y"], tenantId: "t" });
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.json)).toContain("teams");
  });
});
