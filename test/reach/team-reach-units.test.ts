import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { TeamReach, type TeamReachDeps } from "../../src/delivery/install/team-reach.js";
import type { TeamHome } from "../../src/delivery/store/port.js";
import { GraphError } from "../../src/graph/errors.js";
import { silentLogger } from "../../src/log.js";

/**
 * The team install step's decisions (issue 15) with Graph and the store stood in for: the
 * timeout that ends a team whose conversation never comes, one install for callers waiting on
 * the same team, a 409 taking the team's id from Graph, and a refusal naming the team.
 * The end-to-end paths run against the emulator in team-audience.test.ts.
 */
const GROUP = "0b2c7a4e-1111-4222-8333-944455556666";

function deps(over: {
  install?: () => Promise<{ status: "installed" | "alreadyInstalled" | "refused" | "failed"; code?: string; message?: string }>;
  internalId?: () => Promise<string | undefined>;
  known?: () => TeamHome | undefined;
  timeoutMs?: number;
}): TeamReachDeps & { installs: () => number } {
  let installs = 0;
  return {
    installs: () => installs,
    installer: {
      installOne: async () => {
        installs++;
        return (await over.install?.()) ?? { status: "installed" };
      },
    },
    apps: { teamInternalId: async () => over.internalId?.() },
    directory: {
      teamsByGroup: async () => {
        const h = over.known?.();
        return new Map(h ? [[GROUP, { ...h, active: true }]] : []);
      },
      serviceUrlOf: async () => "https://smba.example/teams/",
    },
    clock: systemClock,
    logger: silentLogger,
    defaultServiceUrl: "https://default.example/",
    timeoutMs: over.timeoutMs ?? 2_000,
    eventWaitMs: 50,
  };
}

describe("TeamReach", () => {
  it("ends with HERALD_E_INSTALL_TEAM_TIMEOUT when neither the install event nor Graph gives the team", async () => {
    const d = deps({ timeoutMs: 300 });
    const started = Date.now();
    const r = await new TeamReach(d).reach("tenant-1", GROUP);
    expect(r).toMatchObject({ kind: "refused", status: "failed", error: { code: "HERALD_E_INSTALL_TEAM_TIMEOUT" } });
    expect(r.kind === "refused" && r.error.message).toContain(GROUP);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("two callers for one team share one install; the install event's conversation is used", async () => {
    let installed = false;
    const d = deps({
      install: async () => {
        await new Promise((r) => setTimeout(r, 50));
        installed = true;
        return { status: "installed" };
      },
      known: () => (installed ? { teamId: "19:t@thread.tacv2", tenantId: "tenant-1", serviceUrl: "https://event/" } : undefined),
    });
    const reach = new TeamReach(d);
    const [a, b] = await Promise.all([reach.reach("tenant-1", GROUP), reach.reach("TENANT-1", GROUP.toUpperCase())]);
    expect(d.installs()).toBe(1);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ kind: "home", installed: true, home: { teamId: "19:t@thread.tacv2", serviceUrl: "https://event/" } });
  });

  it("a 409 (no install event comes) takes the team's id from Graph and the tenant's serviceUrl", async () => {
    const d = deps({ install: async () => ({ status: "alreadyInstalled" }), internalId: async () => "19:g@thread.tacv2" });
    const r = await new TeamReach(d).reach("tenant-1", GROUP);
    expect(r).toMatchObject({
      kind: "home",
      installed: false,
      home: { teamId: "19:g@thread.tacv2", tenantId: "tenant-1", serviceUrl: "https://smba.example/teams/" },
    });
  });

  it("a Graph 404 for the team's id is not fatal: the install event still ends the wait", async () => {
    let asked = 0;
    const d = deps({
      install: async () => ({ status: "alreadyInstalled" }),
      internalId: async () => {
        asked++;
        throw new GraphError({ heraldCode: "HERALD_E_GRAPH_HTTP", operation: "GET /teams/{id}", status: 404, graphCode: "NotFound" });
      },
      known: () => (asked > 0 ? { teamId: "19:e@thread.tacv2", tenantId: "tenant-1", serviceUrl: "https://event/" } : undefined),
    });
    const r = await new TeamReach(d).reach("tenant-1", GROUP);
    expect(r).toMatchObject({ kind: "home", home: { teamId: "19:e@thread.tacv2" } });
  });

  it("a refusal names the team and keeps Graph's code; an unknown team is notFound", async () => {
    const policy = await new TeamReach(
      deps({ install: async () => ({ status: "refused", code: "HERALD_E_INSTALL_APP_POLICY", message: "policy says no" }) }),
    ).reach("tenant-1", GROUP);
    expect(policy).toMatchObject({ kind: "refused", status: "failed", error: { code: "HERALD_E_INSTALL_APP_POLICY" } });
    expect(policy.kind === "refused" && policy.error.message).toContain(GROUP);
    const missing = await new TeamReach(
      deps({ install: async () => ({ status: "refused", code: "HERALD_E_INSTALL_TARGET_NOT_FOUND", message: "no such team" }) }),
    ).reach("tenant-1", GROUP);
    expect(missing).toMatchObject({ kind: "refused", status: "notFound" });
  });

  it("Graph's 403 to GET /teams/{id}: after a 409 the step ends at once; after a new install it waits for the event, then names the permission", async () => {
    const forbidden = async (): Promise<string | undefined> => {
      throw new GraphError({
        heraldCode: "HERALD_E_GRAPH_HTTP",
        operation: "GET /teams/{id}",
        status: 403,
        graphCode: "Forbidden",
        serverMessage: "Missing role permissions on the request. API requires one of 'Team.ReadBasic.All'.",
      });
    };
    const conflict = await new TeamReach(
      deps({ install: async () => ({ status: "alreadyInstalled" }), internalId: forbidden, timeoutMs: 60_000 }),
    ).reach("tenant-1", GROUP);
    expect(conflict).toMatchObject({ kind: "refused", status: "failed", error: { code: "HERALD_E_INSTALL_TEAM_READ_PERMISSION" } });
    expect(conflict.kind === "refused" && conflict.error.message).toContain("Team.ReadBasic.All");
    const fresh = await new TeamReach(
      deps({ install: async () => ({ status: "installed" }), internalId: forbidden, timeoutMs: 300 }),
    ).reach("tenant-1", GROUP);
    expect(fresh).toMatchObject({ kind: "refused", error: { code: "HERALD_E_INSTALL_TEAM_READ_PERMISSION" } });
  });
});
