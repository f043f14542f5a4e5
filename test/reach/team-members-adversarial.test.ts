import { beforeAll, expect, it } from "vitest";
import { resolveAudience } from "../../src/delivery/audience/resolve.js";
import { ActivityHandler, type BotReplies } from "../../src/inbound/handler.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { BOT, parsedActivity, SERVICE_URL, TENANT, type UserLike } from "../helpers/activities.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review of issue 15 (team members recorded from teamMemberAdded / teamMemberRemoved): what a
 * membership row becomes when the activities that change it disagree with each other, through
 * the real ActivityHandler and store (both back ends).
 */
const replies: BotReplies = {
  async send() {},
  async member(_s, _c, userId) {
    return { id: userId };
  },
  async channelName() {
    return undefined;
  },
};

const installer: UserLike = { id: "29:installer", name: "Installer", aadObjectId: "aad-installer" };
const newcomer = { id: "29:newcomer", aadObjectId: "aad-newcomer" };

const activity = parsedActivity;

/** A team conversationUpdate as Teams sends it (protocol reference, section 2). */
function teamUpdate(opts: {
  teamId: string;
  conversationId?: string;
  tenantId?: string;
  eventType: string;
  timestamp?: string;
  membersAdded?: unknown[];
  membersRemoved?: unknown[];
}) {
  const tenantId = opts.tenantId ?? TENANT;
  return activity({
    type: "conversationUpdate",
    id: `act-${Math.random().toString(36).slice(2)}`,
    ...(opts.timestamp ? { timestamp: opts.timestamp } : {}),
    serviceUrl: SERVICE_URL,
    channelId: "msteams",
    from: installer,
    recipient: BOT,
    conversation: { id: opts.conversationId ?? opts.teamId, conversationType: "channel", isGroup: true, tenantId },
    channelData: { tenant: { id: tenantId }, team: { id: opts.teamId, name: "Team" }, eventType: opts.eventType },
    ...(opts.membersAdded ? { membersAdded: opts.membersAdded } : {}),
    ...(opts.membersRemoved ? { membersRemoved: opts.membersRemoved } : {}),
  });
}

forEachStore((stores) => {
  let store: Store;
  let handler: ActivityHandler;
  const now = Date.now();
  beforeAll(async () => {
    store = await stores.open();
    let t = now;
    handler = new ActivityHandler({
      store,
      replies,
      logger: silentLogger,
      quiet: true,
      now: () => {
        t += 1000;
        return new Date(t).toISOString();
      },
    });
  });

  const install = async (teamId: string) => {
    await handler.handle(teamUpdate({ teamId, eventType: "teamMemberAdded", membersAdded: [BOT], timestamp: new Date(now).toISOString() }));
    await handler.drain();
    expect((await store.conversations.get(teamId))?.status).toBe("active");
  };
  const statusOf = async (teamId: string) => (await store.teamMembers?.list(teamId))?.map((r) => [r.user.id, r.tenantId, r.status]);
  const resolve = (tenantId: string) =>
    resolveAudience({ users: [newcomer.aadObjectId], tenantId }, store.recipients, undefined, "http://default/");

  it("an activity timestamp in the future (a wrong clock, or a forged field) does not freeze the membership: the later removal still counts", async () => {
    const teamId = "19:future@thread.tacv2";
    await install(teamId);
    // Teams' add, stamped a year ahead.
    const ahead = new Date(now + 365 * 24 * 3600 * 1000).toISOString();
    await handler.handle(teamUpdate({ teamId, eventType: "teamMemberAdded", membersAdded: [newcomer], timestamp: ahead }));
    expect(await statusOf(teamId)).toEqual([[newcomer.id, TENANT, "member"]]);
    // They leave a minute later (real time); Herald gets the removal after the add.
    const later = new Date(now + 60_000).toISOString();
    await handler.handle(teamUpdate({ teamId, eventType: "teamMemberRemoved", membersRemoved: [newcomer], timestamp: later }));
    expect(await statusOf(teamId)).toEqual([[newcomer.id, TENANT, "removed"]]);
    // ...so a users audience no longer creates their chat through the team they left.
    const rows = (await resolve(TENANT)).rows;
    expect(rows[0]).not.toMatchObject({ targetId: newcomer.id });
  });

  it("an activity of another tenant naming the same team id cannot take over or remove a member of the team's tenant", async () => {
    const teamId = "19:owned@thread.tacv2";
    await install(teamId);
    await handler.handle(
      teamUpdate({ teamId, eventType: "teamMemberAdded", membersAdded: [newcomer], timestamp: new Date(now + 1000).toISOString() }),
    );
    const before = (await resolve(TENANT)).rows;
    expect(before[0]).toMatchObject({ targetId: newcomer.id, tenantId: TENANT });
    // Another tenant's activity (its own conversation id) whose channelData.team names this team.
    await handler.handle(
      teamUpdate({
        teamId,
        conversationId: "19:elsewhere@thread.tacv2",
        tenantId: "tenant-evil",
        eventType: "teamMemberRemoved",
        membersRemoved: [newcomer],
        timestamp: new Date(now + 2000).toISOString(),
      }),
    );
    // The team lives in TENANT: its member row keeps its tenant and status.
    expect(await statusOf(teamId)).toEqual([[newcomer.id, TENANT, "member"]]);
    expect((await resolve(TENANT)).rows[0]).toMatchObject({ targetId: newcomer.id, tenantId: TENANT });
  });
  it("a known member's opt-out kept under their Entra object id (an admin's PUT before they had a chat) is honoured, however the audience names them", async () => {
    const teamId = "19:prefs@thread.tacv2";
    await install(teamId);
    const aad = "4a3b2c1d-0e0f-4a1b-8c2d-3e4f5a6b7c8d";
    const member = { id: "29:opted-out-member", aadObjectId: aad };
    await handler.handle(
      teamUpdate({ teamId, eventType: "teamMemberAdded", membersAdded: [member], timestamp: new Date(now + 1000).toISOString() }),
    );
    // PUT /v1/users/{aad}/preferences stores under the id given when Herald has no chat with them.
    await store.preferences.setOptedOut(TENANT, aad, true, new Date(now).toISOString());
    for (const named of [aad, aad.toUpperCase(), member.id]) {
      const { rows } = await resolveAudience({ users: [named], tenantId: TENANT }, store.recipients, undefined, "http://default/");
      expect(rows, named).toEqual([expect.objectContaining({ targetId: member.id, status: "optedOut" })]);
    }
  });
});
