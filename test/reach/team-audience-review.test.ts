import { afterAll, beforeAll, expect, it } from "vitest";
import { graphCounters, type Json, messagesOf, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review of issue 15 (team audiences by Entra group id), end to end against the emulator with
 * two tenants: the welcome goes before the post, a group id of another tenant reaches nothing
 * there, and a team named both by its 19: id and its group id gets the post once.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startGraphStack(await stores.open(), {
      emulator: { org: { tenants: 2, users: 20, teams: 6, teamSize: 3, blockedShare: 0, uninstalledShare: 0 }, limits: false },
    });
  });
  afterAll(() => stack?.close());

  const teamsOf = (tenant: number) => stack.emulator.org.teams.filter((t) => t.tenantIndex === tenant);
  const tenantId = (i: number) => stack.emulator.org.tenants[i]!.id;
  const settled = async (body: Json): Promise<{ view: Json; rows: Json[] }> => {
    const created = await call("POST", `${stack.heraldUrl}/v1/notifications`, body, STACK_API_KEY);
    if (created.status !== 202) throw new Error(`POST /v1/notifications answered ${created.status}: ${JSON.stringify(created.json)}`);
    const id = created.json["id"] as string;
    const view = await eventually(
      `notification ${id} completed`,
      async () => {
        const v = (await call("GET", `${stack.heraldUrl}/v1/notifications/${id}`, undefined, STACK_API_KEY)).json;
        if (v["status"] === "completed") return v;
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      },
      25_000,
    );
    await stack.herald.handler.drain();
    const rows = ((await call("GET", `${stack.heraldUrl}/v1/notifications/${id}/deliveries?limit=100`, undefined, STACK_API_KEY)).json[
      "items"
    ] ?? []) as Json[];
    return { view, rows };
  };

  it("a newly installed team: its General channel shows the welcome, then the post, once each", async () => {
    const team = teamsOf(0)[0]!;
    await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: team.id, wait: true });
    const { view } = await settled({
      audience: { teams: [team.aadGroupId], tenantId: tenantId(0), deliverTo: "channel" },
      message: { text: "After the welcome" },
    });
    expect(view["counts"]).toMatchObject({ sent: 1 });
    const texts = (await messagesOf(stack, team.id)).map((m) => (JSON.stringify(m).includes("After the welcome") ? "P" : "W"));
    expect(texts).toEqual(["W", "P"]);
  });

  it("a group id of a team of tenant A named with tenant B: nothing installed or posted in A, the row notFound", async () => {
    const team = teamsOf(0)[1]!;
    await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: team.id, wait: true });
    const before = await graphCounters(stack);
    const { rows } = await settled({
      audience: { teams: [team.aadGroupId], tenantId: tenantId(1), deliverTo: "channel" },
      message: { text: "Wrong tenant" },
    });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ status: "notFound", lastErrorCode: "HERALD_E_INSTALL_TARGET_NOT_FOUND" });
    const after = await graphCounters(stack);
    expect(after["installs"] ?? 0).toBe(before["installs"] ?? 0);
    expect((await messagesOf(stack, team.id)).filter((m) => JSON.stringify(m).includes("Wrong tenant"))).toHaveLength(0);
  });

  it("estimate: a team by group id Herald knows counts 1; a missing one is counted once installed (recipients null); 19: ids as before", async () => {
    const known = teamsOf(0)[0]!; // installed by the first test
    const missing = teamsOf(1)[0]!;
    await call("POST", `${stack.emulator.url}/_emulator/uninstall`, { teamId: missing.id, wait: true });
    const est = async (audience: Json) =>
      (await call("POST", `${stack.heraldUrl}/v1/audiences/estimate`, { audience }, STACK_API_KEY)).json;
    expect(await est({ teams: [known.aadGroupId], tenantId: tenantId(0), deliverTo: "channel" })).toMatchObject({
      recipients: 1,
      skipped: 0,
      exact: true,
    });
    expect(await est({ teams: [missing.aadGroupId], tenantId: tenantId(1), deliverTo: "channel" })).toMatchObject({
      recipients: null,
      exact: false,
    });
    expect(await est({ teams: [known.id], deliverTo: "channel" })).toMatchObject({ recipients: 1, exact: true });
  });
  it("a known team named with its tenant id in upper case: used as known (no Graph install call), its row in the stored tenant", async () => {
    const known = teamsOf(0)[0]!; // installed by the first test
    const before = await graphCounters(stack);
    const { view, rows } = await settled({
      audience: { teams: [known.aadGroupId], tenantId: tenantId(0).toUpperCase(), deliverTo: "channel" },
      message: { text: "Upper-case tenant" },
    });
    expect(view["counts"]).toMatchObject({ sent: 1 });
    const after = await graphCounters(stack);
    // A GUID names the same tenant in any letter case: today the known team is missed, Graph gives the team, and
    // serviceUrlOf(upper-case tenant) finds nothing: the row goes to the public default serviceUrl and never ends.
    // A second spelling must not split the tenant's lane and budget either.
    expect({ conflicts: after["conflicts"] ?? 0, tenant: rows[0]?.["tenantId"] }).toEqual({
      conflicts: before["conflicts"] ?? 0,
      tenant: tenantId(0),
    });
  });
});
