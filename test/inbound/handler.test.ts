import { beforeAll, describe, expect, it } from "vitest";
import { ActivityHandler, type BotReplies } from "../../src/inbound/handler.js";
import type { OutgoingMessage } from "../../src/inbound/messages.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import {
  ANNOUNCEMENTS,
  alice,
  bob,
  channelMessage,
  parsedActivity,
  personalConversation,
  personalInstall,
  personalMessage,
  personalUninstall,
  TEAM,
  TENANT,
  teamEvent,
  teamInstall,
  teamUninstall,
} from "../helpers/activities.js";
import { forEachStore } from "../helpers/stores.js";

interface Sent {
  serviceUrl: string;
  conversationId: string;
  message: OutgoingMessage;
}

/** Records what the bot says, standing in for the Connector (the e2e suite uses the real emulator). */
class RecordingReplies implements BotReplies {
  sent: Sent[] = [];
  async send(serviceUrl: string, conversationId: string, message: OutgoingMessage) {
    this.sent.push({ serviceUrl, conversationId, message });
  }
  async member(_s: string, _c: string, userId: string) {
    return { id: userId, name: "Known From Teams" };
  }
  async channelName(_s: string, _t: string, channelId: string) {
    return channelId === ANNOUNCEMENTS.id ? ANNOUNCEMENTS.name : undefined;
  }
}

const activity = parsedActivity;

forEachStore((stores) => {
  let store: Store;
  beforeAll(async () => {
    store = await stores.open();
  });

  function setup() {
    const replies = new RecordingReplies();
    let t = Date.parse("2026-01-01T00:00:00Z");
    const handler = new ActivityHandler({
      store,
      replies,
      logger: silentLogger,
      now: () => {
        t += 1000;
        return new Date(t).toISOString();
      },
    });
    const run = async (body: unknown) => {
      const r = await handler.handle(activity(body));
      await handler.drain();
      return r;
    };
    return { replies, handler, run };
  }

  describe("personal install", () => {
    it("stores the reference, welcomes once, and ignores the repeated pair", async () => {
      const { replies, run } = setup();
      const [install, update] = personalInstall(alice);
      await run(install);
      await run(update);
      await run(install);
      const conv = await store.conversations.get(personalConversation(alice).id as string);
      expect(conv).toMatchObject({
        kind: "personal",
        status: "active",
        tenantId: TENANT,
        user: { id: alice.id, aadObjectId: alice.aadObjectId },
        timezone: "Europe/Paris",
      });
      expect(conv?.installedBy?.id).toBe(alice.id);
      expect(replies.sent).toHaveLength(1);
      const text = replies.sent[0]?.message.text ?? "";
      expect(text).toContain("Welcome, Alice!");
      expect(text).toContain("because you installed");
      expect(text).toMatch(/\*\*stop\*\*/);
      expect(replies.sent[0]?.conversationId).toBe(personalConversation(alice).id);
    });

    it("marks uninstall, keeps history, and welcomes again on reinstall", async () => {
      const { replies, run } = setup();
      const [install] = personalInstall(bob);
      await run(install);
      await run(personalUninstall(bob));
      const removed = await store.conversations.get(personalConversation(bob).id as string);
      expect(removed).toMatchObject({ status: "uninstalled", statusCode: "installationUpdate:remove", user: { id: bob.id } });
      await run(install);
      expect((await store.conversations.get(personalConversation(bob).id as string))?.status).toBe("active");
      expect(replies.sent.filter((s) => s.message.text?.includes("Welcome"))).toHaveLength(2);
    });

    it("refreshes the serviceUrl on every activity", async () => {
      const { run } = setup();
      const [install] = personalInstall(alice);
      await run(install);
      await run({ ...personalMessage(alice, "help"), serviceUrl: "http://127.0.0.1:9/emea/" });
      expect((await store.conversations.get(personalConversation(alice).id as string))?.serviceUrl).toBe("http://127.0.0.1:9/emea/");
    });
  });

  it("asks Teams for the user's name when the install carries none, and keeps it", async () => {
    const { replies, run } = setup();
    const nameless = { id: "29:nameless", name: "", aadObjectId: "aad-nameless" };
    const [install] = personalInstall(nameless);
    (install["from"] as { name?: string }).name = undefined;
    await run(install);
    expect(replies.sent.at(-1)?.message.text).toContain("Welcome, Known!");
    expect((await store.conversations.get("a:chat-nameless"))?.user?.name).toBe("Known From Teams");
  });

  describe("commands", () => {
    it("opts out and back in, confirming each, and help shows the state", async () => {
      const { replies, run } = setup();
      await run(personalMessage(alice, "stop"));
      expect((await store.preferences.get(TENANT, alice.id))?.optedOut).toBe(true);
      expect(replies.sent.at(-1)?.message.text).toMatch(/won't receive notifications/);
      await run(personalMessage(alice, "help"));
      expect(replies.sent.at(-1)?.message.text).toMatch(/opted out/);
      await run(personalMessage(alice, "Subscribe"));
      expect((await store.preferences.get(TENANT, alice.id))?.optedOut).toBe(false);
      expect(replies.sent.at(-1)?.message.text).toMatch(/receive notifications from Herald again/);
      await run(personalMessage(alice, "unsubscribe"));
      expect((await store.preferences.get(TENANT, alice.id))?.optedOut).toBe(true);
      await run(personalMessage(alice, "start"));
      expect((await store.preferences.get(TENANT, alice.id))?.optedOut).toBe(false);
    });

    it("answers unknown text with short help, never silence", async () => {
      const { replies, run } = setup();
      await run(personalMessage(alice, "what's the weather"));
      expect(replies.sent.at(-1)?.message.text).toMatch(/don't understand "what's the weather".*help/);
    });

    it("strips the mention in a channel and replies in the thread", async () => {
      const { replies, run } = setup();
      const general = { id: TEAM.id, name: "General" };
      await run(channelMessage(bob, "stop", general));
      expect((await store.preferences.get(TENANT, bob.id))?.optedOut).toBe(true);
      expect(replies.sent.at(-1)?.conversationId).toBe(`${TEAM.id};messageid=1700000000000`);
      await run(channelMessage(bob, "start", general));
    });
  });

  describe("teams and channels", () => {
    it("welcomes in the selected channel, naming it and the installer, once", async () => {
      const { replies, run } = setup();
      const [install, update] = teamInstall(alice);
      await run(install);
      await run(update);
      expect(replies.sent).toHaveLength(1);
      expect(replies.sent[0]?.conversationId).toBe(ANNOUNCEMENTS.id);
      expect(replies.sent[0]?.message.text).toContain("the Contoso Sales team by Alice Archer");
      expect(replies.sent[0]?.message.text).toContain("**Announcements**");
      expect(await store.conversations.get(ANNOUNCEMENTS.id)).toMatchObject({
        kind: "channel",
        team: { id: TEAM.id, aadGroupId: TEAM.aadGroupId },
        installedBy: { id: alice.id },
      });
    });

    it("follows channel and team events without deleting anything", async () => {
      const { run } = setup();
      const [install] = teamInstall(alice);
      await run(install);
      const fresh = { id: "19:fresh@thread.tacv2", name: "Fresh" };
      await run(teamEvent(alice, "channelCreated", { channel: fresh }));
      expect(await store.conversations.get(fresh.id)).toMatchObject({
        kind: "channel",
        status: "active",
        channel: fresh,
        team: { id: TEAM.id },
      });
      await run(teamEvent(alice, "channelRenamed", { channel: { ...fresh, name: "Renamed" } }));
      expect((await store.conversations.get(fresh.id))?.channel?.name).toBe("Renamed");
      await run(teamEvent(alice, "channelDeleted", { channel: fresh }));
      expect((await store.conversations.get(fresh.id))?.status).toBe("deleted");
      await run(teamEvent(alice, "channelRestored", { channel: fresh }));
      expect((await store.conversations.get(fresh.id))?.status).toBe("active");

      const renamed = teamEvent(alice, "teamRenamed");
      (renamed["channelData"] as { team: { name: string } }).team.name = "Contoso Global Sales";
      await run(renamed);
      expect((await store.conversations.get(ANNOUNCEMENTS.id))?.team?.name).toBe("Contoso Global Sales");
      expect((await store.conversations.get(fresh.id))?.team?.name).toBe("Contoso Global Sales");

      await run(teamEvent(alice, "teamArchived"));
      expect((await store.conversations.get(fresh.id))?.archived).toBe(true);
      await run(teamEvent(alice, "teamUnarchived"));
      expect((await store.conversations.get(fresh.id))?.archived).toBe(false);
      await run(teamEvent(alice, "teamDeleted"));
      expect((await store.conversations.get(ANNOUNCEMENTS.id))?.status).toBe("deleted");
      await run(teamEvent(alice, "teamRestored"));
      expect((await store.conversations.get(ANNOUNCEMENTS.id))?.status).toBe("active");

      await run(teamUninstall(alice));
      expect((await store.conversations.get(ANNOUNCEMENTS.id))?.status).toBe("uninstalled");
      expect((await store.conversations.get(fresh.id))?.status).toBe("uninstalled");
      const page = await store.conversations.list({ teamId: TEAM.id }, { limit: 50 });
      expect(page.items.length).toBeGreaterThanOrEqual(2);
    });
  });

  it("welcomes a group chat as a chat, not a team", async () => {
    const { replies, run } = setup();
    const conv = { id: "19:group@thread.v2", conversationType: "groupChat", isGroup: true, tenantId: TENANT };
    const [install] = personalInstall(alice, { conversation: conv });
    await run(install);
    expect(await store.conversations.get(conv.id)).toMatchObject({ kind: "groupChat", status: "active" });
    expect(replies.sent.at(-1)?.message.text).toContain("added to this chat by Alice Archer");
  });

  it("answers a card action synchronously and honestly: nothing is recorded, so it never says so", async () => {
    const { run, replies } = setup();
    const r = await run({
      ...personalMessage(alice, ""),
      type: "invoke",
      name: "adaptiveCard/action",
      value: { action: { type: "Action.Execute", verb: "ack" } },
    });
    // A Universal Actions message response: Teams shows `value` to the user under the card.
    expect(r.body).toEqual({
      statusCode: 200,
      type: "application/vnd.microsoft.activity.message",
      value: "This card does not collect responses yet, so nothing was recorded.",
    });
    expect(JSON.stringify(r.body)).not.toMatch(/response was recorded/i);
    expect(replies.sent).toEqual([]);
  });

  it("answers a card's automatic refresh with an empty 200 (the card stays as it is), never 'does not collect responses'", async () => {
    const { run, replies } = setup();
    const r = await run({
      ...personalMessage(alice, ""),
      type: "invoke",
      name: "adaptiveCard/action",
      value: { action: { type: "Action.Execute", verb: "refreshCard" }, trigger: "automatic" },
    });
    expect(r.event).toBe("cardAction");
    expect(r.body).toBeUndefined();
    expect(replies.sent).toEqual([]);
    // A button press (trigger "manual") still gets the honest message.
    const pressed = await run({
      ...personalMessage(alice, ""),
      type: "invoke",
      name: "adaptiveCard/action",
      value: { action: { type: "Action.Execute", verb: "ack" }, trigger: "manual" },
    });
    expect(JSON.stringify(pressed.body)).toContain("does not collect responses");
  });

  it("answers a card submit (a message with values and no text) honestly, not as an unknown command", async () => {
    const { run, replies } = setup();
    const r = await run({ ...personalMessage(alice, ""), text: undefined, value: { choice: "yes" } });
    expect(r.event).toBe("cardSubmit");
    const said = replies.sent.at(-1)?.message.text ?? "";
    expect(said).toMatch(/^This card does not collect responses yet, so nothing was recorded\./);
    expect(said).not.toMatch(/don't understand|response was recorded/i);
    expect(replies.sent.at(-1)?.conversationId).toBe(personalConversation(alice).id);
  });
});
