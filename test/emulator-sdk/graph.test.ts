import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock.js";
import { type EmulatorHandle, graphRoutes, graphState } from "../../src/emulator/index.js";
import { type Answer, connector, control, enc, eventually, http, start } from "../emulator/helpers.js";
import { type RecordingBot, startRecordingBot, tokenFor } from "./bot.js";

const GRAPH = "https://graph.microsoft.com/.default";
const MANIFEST = "6f0c7a5e-1b1a-4c3e-9d57-0f3b1a2c4d5e";

let emu: EmulatorHandle;
let bot: RecordingBot;
let now = Date.now();
const clock: Clock = { now: () => now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };
let graphToken: string;
let otherTenantToken: string;

function graph(token: string | undefined) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const url = (path: string) => `${emu.url}/v1.0${path}`;
  return {
    get: (path: string) => http("GET", path.startsWith("http") ? path : url(path), undefined, headers),
    post: (path: string, body: unknown) => http("POST", url(path), body, headers),
    del: (path: string) => http("DELETE", url(path), undefined, headers),
  };
}

beforeAll(async () => {
  bot = await startRecordingBot();
  emu = await start({
    clock,
    botEndpoint: bot.url,
    org: { tenants: 2, users: 400, teams: 4, chats: 2 },
    routes: [graphRoutes({ manifestId: MANIFEST })],
  });
  const [t0, t1] = emu.org.tenants;
  graphToken = await tokenFor(emu, GRAPH, t0!.id);
  otherTenantToken = await tokenFor(emu, GRAPH, t1!.domain);
});
afterAll(async () => {
  await emu.close();
  await bot.close();
});

async function catalogId(): Promise<string> {
  const res = await graph(graphToken).get(`/appCatalogs/teamsApps?$filter=${enc(`externalId eq '${MANIFEST}'`)}`);
  expect(res.status).toBe(200);
  expect(res.json.value).toHaveLength(1);
  return res.json.value[0].id as string;
}

function bind(id: string): { "teamsApp@odata.bind": string } {
  return { "teamsApp@odata.bind": `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${id}` };
}

describe("Graph tokens", () => {
  it("refuses calls without a token, with a Connector token, and with a token of a tenant outside the organisation", async () => {
    const path = `/appCatalogs/teamsApps?$filter=${enc(`externalId eq '${MANIFEST}'`)}`;
    const none = await graph(undefined).get(path);
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe("InvalidAuthenticationToken");
    const connectorToken = await tokenFor(emu, "https://api.botframework.com/.default", emu.org.tenants[0]!.id);
    const wrongAudience = await graph(connectorToken).get(path);
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.json.error.message).toContain("Invalid audience");
    const foreign = await graph(await tokenFor(emu, GRAPH, "botframework.com")).get(path);
    expect(foreign.status).toBe(401);
    // and a Graph token is no Connector token
    const user = emu.org.user(1);
    const send = await connector(emu, graphToken).post(`v3/conversations/${enc(emu.org.personalConversationId(user.index))}/activities`, {
      type: "message",
      text: "hi",
    });
    expect(send.status).toBe(401);
  });

  it("hides another tenant's users (404), as Graph does across directories", async () => {
    const user = emu.org.user(emu.org.tenants[0]!.userStart);
    const mine = await graph(graphToken).get(`/users/${user.aadObjectId}`);
    expect(mine.status).toBe(200);
    const theirs = await graph(otherTenantToken).get(`/users/${user.aadObjectId}`);
    expect(theirs.status).toBe(404);
    expect(theirs.json.error.code).toBe("Request_ResourceNotFound");
  });
});

describe("app catalog and user installs", () => {
  it("finds the app by manifest id; an unknown manifest id gives an empty list; a bad filter 400", async () => {
    const id = await catalogId();
    expect(id).toBe(graphState(emu.context)!.app.catalogId);
    const none = await graph(graphToken).get(`/appCatalogs/teamsApps?$filter=${enc("externalId eq 'nope'")}`);
    expect(none.json.value).toEqual([]);
    const bad = await graph(graphToken).get(`/appCatalogs/teamsApps?$filter=${enc("startswith(externalId,'x')")}`);
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("BadRequest");
    const expanded = await graph(graphToken).get(`/appCatalogs/teamsApps/${id}?$expand=appDefinitions($expand=bot)`);
    expect(expanded.json.appDefinitions[0].bot.id).toBe(emu.appId);
  });

  it("installs for a user named by UPN: 201, the bot gets installationUpdate + conversationUpdate, then 409", async () => {
    const id = await catalogId();
    const user = emu.org.user(emu.org.tenants[0]!.userStart + 7);
    await control(emu).patch(`/users/${enc(user.id)}`, { uninstalled: true });
    const before = await graph(graphToken).get(
      `/users/${user.aadObjectId}/teamwork/installedApps?$filter=${enc(`teamsApp/id eq '${id}'`)}`,
    );
    expect(before.json.value).toEqual([]);

    const first = await graph(graphToken).post(`/users/${enc(user.userPrincipalName)}/teamwork/installedApps`, bind(id));
    expect(first.status).toBe(201);
    expect(first.text).toBe("");
    const pair = await eventually(() => {
      const mine = bot.activities.filter((a) => a.from?.aadObjectId === user.aadObjectId);
      return mine.length >= 2 ? mine : undefined;
    });
    expect(pair.map((a) => a.type)).toEqual(["installationUpdate", "conversationUpdate"]);
    expect(pair[0].action).toBe("add");
    expect(pair[1].conversation.id).toBe(emu.org.personalConversationId(user.index));

    const again = await graph(graphToken).post(`/users/${user.aadObjectId}/teamwork/installedApps`, bind(id));
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("Conflict");
  });

  it("lists the installation with $expand and $filter, and its chat is the Connector's 1:1 conversation", async () => {
    const id = await catalogId();
    const user = emu.org.user(emu.org.tenants[0]!.userStart + 8);
    const list = await graph(graphToken).get(
      `/users/${user.aadObjectId}/teamwork/installedApps?$expand=teamsAppDefinition&$filter=${enc(`teamsApp/id eq '${id}'`)}`,
    );
    expect(list.status).toBe(200);
    expect(list.json.value).toHaveLength(1);
    const installation = list.json.value[0];
    expect(installation.teamsAppDefinition.teamsAppId).toBe(id);
    const chat = await graph(graphToken).get(`/users/${user.aadObjectId}/teamwork/installedApps/${enc(installation.id)}/chat`);
    expect(chat.status).toBe(200);
    expect(chat.json.id).toBe(emu.org.personalConversationId(user.index));
    expect(chat.json.id.startsWith("a:")).toBe(true);
    // The same id works on the Connector.
    const connectorToken = await tokenFor(emu, "https://api.botframework.com/.default");
    const sent = await connector(emu, connectorToken).post(`v3/conversations/${enc(chat.json.id)}/activities`, {
      type: "message",
      text: "hello",
    });
    expect(sent.status).toBe(201);
    // Another user's installation id is not this user's.
    const other = emu.org.user(emu.org.tenants[0]!.userStart + 9);
    const wrong = await graph(graphToken).get(`/users/${other.aadObjectId}/teamwork/installedApps/${enc(installation.id)}/chat`);
    expect(wrong.status).toBe(404);
  });

  it("refuses a missing bind (400), an unknown app (404), an unknown user (404) and a Teams id as user id (404)", async () => {
    const user = emu.org.user(3);
    const noBind = await graph(graphToken).post(`/users/${user.aadObjectId}/teamwork/installedApps`, {});
    expect(noBind.status).toBe(400);
    const unknownApp = await graph(graphToken).post(
      `/users/${user.aadObjectId}/teamwork/installedApps`,
      bind("00000000-0000-4000-8000-000000000000"),
    );
    expect(unknownApp.status).toBe(404);
    const nobody = await graph(graphToken).post("/users/nobody@nowhere.example/teamwork/installedApps", bind(await catalogId()));
    expect(nobody.status).toBe(404);
    const teamsId = await graph(graphToken).get(`/users/${enc(user.id)}`);
    expect(teamsId.status).toBe(404);
  });

  it("uninstalls with DELETE: 204, the bot gets the remove pair, and the Connector answers 403 afterwards", async () => {
    const id = await catalogId();
    const user = emu.org.user(emu.org.tenants[0]!.userStart + 11);
    const list = await graph(graphToken).get(`/users/${user.aadObjectId}/teamwork/installedApps?$filter=${enc(`teamsApp/id eq '${id}'`)}`);
    const installationId = list.json.value[0].id as string;
    const removed = await graph(graphToken).del(`/users/${user.aadObjectId}/teamwork/installedApps/${enc(installationId)}`);
    expect(removed.status).toBe(204);
    await eventually(() =>
      bot.activities.find((a) => a.type === "installationUpdate" && a.action === "remove" && a.from?.aadObjectId === user.aadObjectId),
    );
    const token = await tokenFor(emu, "https://api.botframework.com/.default");
    const send = await connector(emu, token).post(`v3/conversations/${enc(emu.org.personalConversationId(user.index))}/activities`, {
      type: "message",
      text: "still there?",
    });
    expect(send.status).toBe(403);
  });
});

describe("team installs", () => {
  it("409 for a team that has the app; after DELETE, POST installs it again and the bot gets the team pair", async () => {
    const id = await catalogId();
    const team = emu.org.teams.find((t) => t.tenantIndex === 0)!;
    const conflict = await graph(graphToken).post(`/teams/${team.aadGroupId}/installedApps`, bind(id));
    expect(conflict.status).toBe(409);
    const byThreadId = await graph(graphToken).post(`/teams/${enc(team.id)}/installedApps`, bind(id));
    expect(byThreadId.status).toBe(404);
    const list = await graph(graphToken).get(`/teams/${team.aadGroupId}/installedApps?$expand=teamsApp`);
    expect(list.json.value[0].teamsApp.externalId).toBe(MANIFEST);
    const removed = await graph(graphToken).del(`/teams/${team.aadGroupId}/installedApps/${enc(list.json.value[0].id)}`);
    expect(removed.status).toBe(204);
    const installed = await graph(graphToken).post(`/teams/${team.aadGroupId}/installedApps`, bind(id));
    expect(installed.status).toBe(201);
    const pair = await eventually(() => {
      const events = bot.activities.filter((a) => a.channelData?.team?.id === team.id && a.action === "add");
      const updates = bot.activities.filter((a) => a.type === "conversationUpdate" && a.channelData?.team?.id === team.id);
      return events.length >= 1 && updates.length >= 2 ? { events, updates } : undefined;
    });
    expect(pair.events[0].type).toBe("installationUpdate");
  });
});

describe("group transitive members", () => {
  it("pages with @odata.nextLink until every member was listed once; a foreign $skiptoken is refused", async () => {
    const team = emu.org.teams[0]!;
    expect(team.memberCount).toBeGreaterThan(120);
    const seen = new Set<string>();
    let next: string | undefined = `/groups/${team.aadGroupId}/transitiveMembers?$top=50&$select=id,displayName,userPrincipalName`;
    let pages = 0;
    while (next) {
      const page: Answer = await graph(graphToken).get(next);
      expect(page.status).toBe(200);
      expect(page.json.value.length).toBeLessThanOrEqual(50);
      for (const m of page.json.value) {
        expect(m["@odata.type"]).toBe("#microsoft.graph.user");
        expect(Object.keys(m).sort()).toEqual(["@odata.type", "displayName", "id", "userPrincipalName"]);
        seen.add(m.id);
      }
      next = page.json["@odata.nextLink"];
      pages++;
    }
    expect(seen.size).toBe(team.memberCount);
    expect(pages).toBe(Math.ceil(team.memberCount / 50));
    const first = await graph(graphToken).get(`/groups/${team.aadGroupId}/transitiveMembers`);
    expect(first.json.value).toHaveLength(100);
    const token = new URL(first.json["@odata.nextLink"]).searchParams.get("$skiptoken")!;
    const other = emu.org.teams[2]!;
    const foreign = await graph(graphToken).get(`/groups/${other.aadGroupId}/transitiveMembers?$skiptoken=${token}`);
    expect(foreign.status).toBe(400);
    const tooBig = await graph(graphToken).get(`/groups/${team.aadGroupId}/transitiveMembers?$top=1000`);
    expect(tooBig.status).toBe(400);
  });
});

describe("install throttling", () => {
  it("answers 429 with Retry-After past 30 installs per second per tenant, counts violations, and recovers after the wait", async () => {
    const id = await catalogId();
    const tenant = emu.org.tenants[1]!;
    const token = await tokenFor(emu, GRAPH, tenant.id);
    const users = Array.from({ length: 31 }, (_, k) => emu.org.user(tenant.userStart + 20 + k));
    now += 5_000;
    const answers = await Promise.all(users.map((u) => graph(token).post(`/users/${u.aadObjectId}/teamwork/installedApps`, bind(id))));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(30);
    const refused = answers.find((a) => a.status === 429)!;
    expect(refused.json.error.code).toBe("TooManyRequests");
    expect(refused.headers.get("retry-after")).toBe("1");
    const counters = graphState(emu.context)!.counters;
    const violations = counters.violations;
    const early = await graph(token).post(`/users/${users[0]!.aadObjectId}/teamwork/installedApps`, bind(id));
    expect(early.status).toBe(429);
    expect(counters.violations).toBe(violations + 1);
    now += 1_000;
    const later = await graph(token).post(`/users/${users[0]!.aadObjectId}/teamwork/installedApps`, bind(id));
    expect(later.status).toBe(409);
    // The other tenant's budget is its own.
    const mine = await graph(graphToken).get(`/appCatalogs/teamsApps?$filter=${enc(`externalId eq '${MANIFEST}'`)}`);
    expect(mine.status).toBe(200);
    const stats = await http("GET", `${emu.url}/_emulator/graph`);
    expect(stats.json.counters.throttled).toBeGreaterThanOrEqual(2);
  });

  it("scales the install window with timeScale: Retry-After becomes fractional and 10× shorter", async () => {
    const id = await catalogId();
    const tenant = emu.org.tenants[1]!;
    const token = await tokenFor(emu, GRAPH, tenant.id);
    expect((await control(emu).patch("/limits", { timeScale: 10 })).status).toBe(200);
    try {
      now += 10_000;
      const user = emu.org.user(tenant.userStart + 60);
      const answers = await Promise.all(
        Array.from({ length: 31 }, () => graph(token).post(`/users/${user.aadObjectId}/teamwork/installedApps`, bind(id))),
      );
      const refused = answers.filter((a) => a.status === 429);
      expect(refused).toHaveLength(1);
      const retryAfter = Number(refused[0]!.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(0.1);
      now += 100;
      expect((await graph(token).post(`/users/${user.aadObjectId}/teamwork/installedApps`, bind(id))).status).toBe(409);
    } finally {
      await control(emu).patch("/limits", { timeScale: 1 });
    }
  });
});

describe("the default Graph module", () => {
  it("is registered by startEmulator, with the bot's app id as manifest id, and works with auth off", async () => {
    const plain = await start({ auth: false, appId: "7d1e6a57-4444-4aaa-8bbb-000000000004" });
    try {
      const info = await http("GET", `${plain.url}/_emulator/graph`);
      expect(info.json.app.manifestId).toBe(plain.appId);
      const found = await http("GET", `${plain.url}/v1.0/appCatalogs/teamsApps?$filter=${enc(`externalId eq '${plain.appId}'`)}`);
      expect(found.status).toBe(200);
      expect(found.json.value[0].id).toBe(info.json.app.catalogId);
    } finally {
      await plain.close();
    }
  });
});
