import { describe, expect, it } from "vitest";
import { openApiDocument } from "../../src/api/openapi.js";
import { sendBody } from "../../src/cli/client.js";
import { systemClock } from "../../src/clock.js";
import { Installer } from "../../src/delivery/install/installer.js";
import { TeamReach, type TeamReachDeps } from "../../src/delivery/install/team-reach.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/index.js";
import { notificationRequestSchema } from "../../src/delivery/request.js";
import type { TeamsAppGraph } from "../../src/graph/apps.js";
import { GraphError } from "../../src/graph/errors.js";
import { silentLogger } from "../../src/log.js";

/**
 * Review of issue 15 (team audiences by Entra group id): cases the branch's own tests leave out.
 */
const GROUP = "0b2c7a4e-1111-4222-8333-944455556666";

function deps(internalId: () => Promise<string | undefined>, timeoutMs: number): TeamReachDeps {
  return {
    // The app is in the team already (409): no install event will ever come, Graph is the only way.
    installer: { installOne: async () => ({ status: "alreadyInstalled" as const }) },
    apps: { teamInternalId: internalId },
    directory: { teamsByGroup: async () => new Map(), serviceUrlOf: async () => "https://smba.example/teams/" },
    clock: systemClock,
    logger: silentLogger,
    defaultServiceUrl: "https://default.example/",
    timeoutMs,
    eventWaitMs: 50,
  };
}

describe("TeamReach review", () => {
  it("GET /teams/{id} refused for want of Team.ReadBasic.All (403) ends at once as a permission refusal, not a 120 s timeout", async () => {
    let asked = 0;
    const reach = new TeamReach(
      deps(async () => {
        asked++;
        throw new GraphError({
          heraldCode: "HERALD_E_GRAPH_HTTP",
          operation: "GET /teams/{id}",
          status: 403,
          graphCode: "Authorization_RequestDenied",
          serverMessage: "Missing role permissions on the request. API requires one of 'Team.ReadBasic.All'.",
        });
      }, 3_000),
    );
    const started = Date.now();
    const r = await reach.reach("tenant-1", GROUP);
    // A 409 sends no install event: waiting can never help, and "send again in a few minutes" is wrong advice.
    expect(r).toMatchObject({ kind: "refused", status: "failed", error: { code: "HERALD_E_INSTALL_GRAPH_PERMISSION" } });
    expect(r.kind === "refused" && r.error.message).toContain("Team.ReadBasic.All");
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(asked).toBe(1);
  });
});

describe("Installing in a team refused for want of Graph permission", () => {
  it("names the team permission (TeamsAppInstallation.ReadWriteSelfForTeam.All), not the one for users", async () => {
    const apps = {
      catalogId: async () => "catalog-1",
      graph: { throttledUntil: () => 0 },
      installIn: async () => {
        throw new GraphError({
          heraldCode: "HERALD_E_GRAPH_HTTP",
          operation: "POST /teams/{id}/installedApps",
          status: 403,
          graphCode: "Forbidden",
          serverMessage: "Missing role permissions on the request. API requires one of 'TeamsAppInstallation.ReadWriteSelfForTeam.All'.",
        });
      },
    } as unknown as TeamsAppGraph;
    const installer = new Installer({
      apps,
      conversations: { findPersonal: async () => undefined, get: async () => undefined },
      limiter: new InProcessRateLimiter(),
      clock: systemClock,
      logger: silentLogger,
    });
    const r = await new TeamReach({ ...deps(async () => undefined, 3_000), installer }).reach("tenant-1", GROUP);
    expect(r).toMatchObject({ kind: "refused", status: "failed", error: { code: "HERALD_E_INSTALL_GRAPH_PERMISSION" } });
    const message = r.kind === "refused" ? r.error.message : "";
    // The advice must name what the admin has to grant for a team install.
    expect(message.replace(/API requires one of '[^']*'/, "")).toContain("ReadWriteSelfForTeam.All");
    expect(message).not.toContain("ReadWriteSelfForUser.All");
  });
});

describe("OpenAPI examples", () => {
  it("every POST /v1/notifications example is a request the schema accepts", () => {
    const doc = openApiDocument() as {
      paths: Record<string, { post: { requestBody: { content: Record<string, { examples: Record<string, { value: unknown }> }> } } }>;
    };
    const examples = doc.paths["/v1/notifications"]!.post.requestBody.content["application/json"]!.examples;
    expect(Object.keys(examples)).toContain("teamByGroupId");
    for (const [name, ex] of Object.entries(examples)) {
      const parsed = notificationRequestSchema.safeParse(ex.value);
      expect({ name, ok: parsed.success, issues: parsed.success ? [] : parsed.error.issues.map((i) => i.message) }).toEqual({
        name,
        ok: true,
        issues: [],
      });
    }
  });
});

describe("herald send --teams", () => {
  it("19: team ids with --tenant keep working as before the change (the tenant was ignored, now it makes a 400)", () => {
    const body = sendBody({ teams: ["19:abc@thread.tacv2"], tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47", text: "Hi" });
    const parsed = notificationRequestSchema.safeParse(body);
    expect(parsed.success ? "ok" : parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toBe("ok");
  });
});
