import { afterAll, beforeAll, expect, it } from "vitest";
import { graphCounters, type Json, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Issue 15: with HERALD_AUTO_INSTALL=off a team named by its Entra group id where Herald knows no
 * conversation is not installed: its row ends notFound with a message naming the team and what
 * to do. A team Herald knows (its install event carried the group id) is used directly.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 10, teams: 2, teamSize: 5, blockedShare: 0, uninstalledShare: 0 }, limits: false },
      env: { HERALD_AUTO_INSTALL: "off" },
    });
    // Team 0 without the app; team 1 installed again, so Herald learns it from the install event.
    await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: stack.emulator.org.teams[0]!.id, wait: true });
    await call("POST", `${stack.emulator.url}/_emulator/install`, { teamId: stack.emulator.org.teams[1]!.id, wait: true });
  });
  afterAll(() => stack?.close());

  const api = (method: string, path: string, body?: unknown) => call(method, `${stack.heraldUrl}${path}`, body, STACK_API_KEY);
  const settled = async (id: string): Promise<Json[]> => {
    await eventually(
      `notification ${id} completed`,
      async () => {
        const v = (await api("GET", `/v1/notifications/${id}`)).json;
        if (v["status"] === "completed") return v;
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      },
      20_000,
    );
    return ((await api("GET", `/v1/notifications/${id}/deliveries?limit=100`)).json["items"] ?? []) as Json[];
  };

  it("a missing team ends notFound, nothing installed; a known team by group id is sent to", async () => {
    const [t0, t1] = [stack.emulator.org.teams[0]!, stack.emulator.org.teams[1]!];
    const tenantId = stack.emulator.org.tenants[0]!.id;
    await eventually("team 1 known", async () => {
      const r = await api("GET", "/v1/conversations?kind=channel&limit=100");
      return (r.json["items"] as Json[]).some((c) => c["id"] === t1.id && c["status"] === "active") ? true : undefined;
    });
    const before = (await graphCounters(stack))["installs"] ?? 0;
    const created = await api("POST", "/v1/notifications", {
      audience: { teams: [t0.aadGroupId, t1.aadGroupId], tenantId, deliverTo: "channel" },
      message: { text: "Off" },
    });
    expect(created.status).toBe(202);
    const rows = await settled(created.json["id"] as string);
    const missing = rows.find((r) => r["targetId"] === t0.aadGroupId);
    expect(missing).toMatchObject({ status: "notFound" });
    expect(String(missing?.["lastErrorMessage"])).toContain(t0.aadGroupId);
    expect(String(missing?.["lastErrorMessage"])).toContain("HERALD_AUTO_INSTALL");
    expect(rows.find((r) => r["targetId"] === t1.id)).toMatchObject({ status: "sent" });
    expect((await graphCounters(stack))["installs"] ?? 0).toBe(before);
  });
});
