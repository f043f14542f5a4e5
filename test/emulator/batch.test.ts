import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { connector, control, enc, eventually, start, token } from "./helpers.js";

let emu: EmulatorHandle;
let api: ReturnType<typeof connector>;
let tenantId: string;
const activity = { type: "message", text: "all hands at 3" };

beforeAll(async () => {
  emu = await start({ limits: false, org: { users: 3000, tenants: 2, teams: 4, blockedShare: 0.02, uninstalledShare: 0.01 } });
  api = connector(emu, await token(emu));
  tenantId = emu.org.tenants[0]!.id;
});
afterAll(() => emu.close());

async function finished(operationId: string) {
  return eventually(async () => {
    const r = await api.get(`v3/batch/conversation/${operationId}`);
    return r.json.state === "InProgress" ? undefined : r.json;
  });
}

describe("batch messaging", () => {
  it("sends to a list of users and reports state, status counts and failed entries", async () => {
    const ids = [emu.org.user(0).id, emu.org.user(1).id, "29:1unknown-user", emu.org.user(2000).id];
    const r = await api.post("v3/batch/conversation/users", { activity, tenantId, members: ids.map((id) => ({ id })) });
    expect(r.status).toBe(201);
    expect(typeof r.json.operationId).toBe("string");
    const state = await finished(r.json.operationId);
    expect(state.totalEntriesCount).toBe(4);
    expect(state.state).toBe("Completed");
    expect(state.statusMap).toEqual(state.stateMap);
    const failed = await api.get(`v3/batch/conversation/failedentries/${r.json.operationId}`);
    const failedIds = failed.json.failedEntryResponses.map((e: { id: string }) => e.id);
    expect(failedIds).toContain("29:1unknown-user");
    expect(failedIds).toContain(emu.org.user(2000).id); // another tenant
    expect(state.statusMap["404"]).toBeGreaterThanOrEqual(2);
    const kept = await control(emu).get(`/conversations/${enc(emu.org.personalConversationId(0))}/messages`);
    if (!emu.context.state.userFlags[0]) expect(kept.json.messages[0].activity.text).toBe("all hands at 3");
  });

  it("sends to a whole tenant: blocked and uninstalled users become failed entries, paged", async () => {
    const r = await api.post("v3/batch/conversation/tenant", { activity, tenantId });
    const state = await finished(r.json.operationId);
    const tenant = emu.org.tenants[0]!;
    const flags = emu.context.state.countFlags(tenant.userStart, tenant.userCount);
    expect(state.totalEntriesCount).toBe(tenant.userCount);
    expect(state.statusMap["201"]).toBe(tenant.userCount - flags.blocked - flags.uninstalled);
    expect(state.statusMap["403"]).toBe(flags.blocked + flags.uninstalled);
    let token = "";
    const all: { id: string; error: string }[] = [];
    for (;;) {
      const page = await api.get(`v3/batch/conversation/failedentries/${r.json.operationId}${token}`);
      all.push(...page.json.failedEntryResponses);
      if (!page.json.continuationToken) break;
      token = `?continuationToken=${enc(page.json.continuationToken)}`;
    }
    expect(all).toHaveLength(flags.blocked + flags.uninstalled);
    expect(new Set(all.map((e) => e.error))).toEqual(new Set(["MessageWritesBlocked", "BotNotInConversationRoster"]));
  });

  it("sends to a team's members and to channels", async () => {
    const team = emu.org.teams[2]!;
    const r = await api.post("v3/batch/conversation/team", { activity, tenantId, teamId: team.id });
    expect(r.status).toBe(201);
    expect((await finished(r.json.operationId)).totalEntriesCount).toBe(team.memberCount);
    const channels = await api.post("v3/batch/conversation/channels", {
      activity,
      tenantId,
      members: team.channels.map((c) => ({ id: c.id })),
    });
    const state = await finished(channels.json.operationId);
    expect(state.statusMap).toEqual({ "201": team.channels.length });
    const posts = await control(emu).get(`/conversations/${enc(team.channels[1]!.id)}/messages`);
    expect(posts.json.messages.at(-1).activity.text).toBe("all hands at 3");
  });

  it("cancels an operation and validates requests", async () => {
    const r = await api.post("v3/batch/conversation/tenant", { activity, tenantId });
    const del = await api.del(`v3/batch/conversation/${r.json.operationId}`);
    expect(del.status).toBe(200);
    const state = await finished(r.json.operationId);
    expect(["Canceled", "Completed"]).toContain(state.state);
    expect((await api.post("v3/batch/conversation/users", { activity, tenantId, members: [] })).status).toBe(400);
    expect((await api.post("v3/batch/conversation/tenant", { tenantId })).status).toBe(400);
    expect((await api.post("v3/batch/conversation/tenant", { activity })).status).toBe(400);
    expect((await api.get("v3/batch/conversation/nope")).status).toBe(404);
  });
});
