import { describe, expect, it } from "vitest";
import { parseActivity } from "../../src/inbound/activity.js";
import { commandText, interpret } from "../../src/inbound/events.js";
import { personalWelcome } from "../../src/inbound/messages.js";
import { observe } from "../../src/inbound/reference.js";
import {
  ANNOUNCEMENTS,
  alice,
  BOT,
  bob,
  channelMessage,
  personalInstall,
  personalMessage,
  TEAM,
  TENANT,
  teamEvent,
  teamInstall,
  teamUninstall,
} from "../helpers/activities.js";

const parse = (body: unknown) => {
  const r = parseActivity(body);
  if (!r.ok) throw new Error(r.reason);
  return r.activity;
};

describe("interpret", () => {
  it("reads both halves of a personal install as installed by the user", () => {
    const [install, update] = personalInstall(alice);
    expect(interpret(parse(install))).toMatchObject({ type: "installed", by: { id: alice.id }, source: "installationUpdate:add" });
    expect(interpret(parse(update))).toMatchObject({ type: "installed", source: "conversationUpdate:botAdded" });
  });

  it.each([
    ["add-upgrade", "installed"],
    ["remove", "uninstalled"],
    ["remove-upgrade", "uninstalled"],
    ["something-new", "ignored"],
  ])("installationUpdate %s → %s", (action, type) => {
    const [install] = personalInstall(alice, { action });
    expect(interpret(parse(install)).type).toBe(type);
  });

  it("reads the bot leaving a team as uninstalled", () => {
    expect(interpret(parse(teamUninstall(alice)))).toMatchObject({ type: "uninstalled", source: "conversationUpdate:botRemoved" });
  });

  it.each(["channelCreated", "channelRenamed", "channelDeleted", "channelRestored"])("reads %s with its channel", (eventType) => {
    const e = interpret(parse(teamEvent(alice, eventType, { channel: { id: "19:new@thread.tacv2", name: "New" } })));
    expect(e).toEqual({ type: eventType, channel: { id: "19:new@thread.tacv2", name: "New" } });
  });

  it.each(["teamDeleted", "teamRestored", "teamArchived", "teamUnarchived"])("reads %s", (eventType) => {
    expect(interpret(parse(teamEvent(alice, eventType))).type).toBe(eventType);
  });

  it("reads teamRenamed with the new name", () => {
    const a = parse(teamEvent(alice, "teamRenamed"));
    a.channelData!.team!.name = "Renamed";
    expect(interpret(a)).toEqual({ type: "teamRenamed", name: "Renamed" });
  });

  it("reads people joining and leaving a team (issue 15), not the bot's own install, and nothing without a team", () => {
    const joined = parse(teamEvent(alice, "teamMemberAdded"));
    joined.membersAdded = [{ id: bob.id, aadObjectId: bob.aadObjectId }];
    expect(interpret(joined)).toEqual({ type: "teamMemberAdded", members: [{ id: bob.id, aadObjectId: bob.aadObjectId }] });
    const left = parse(teamEvent(bob, "teamMemberRemoved"));
    left.membersRemoved = [{ id: bob.id, aadObjectId: bob.aadObjectId }, { id: "28:another-bot" }];
    expect(interpret(left)).toEqual({ type: "teamMemberRemoved", members: [{ id: bob.id, aadObjectId: bob.aadObjectId }] });
    // The bot added to the team is the install, whatever the eventType says.
    const [, install] = teamInstall(alice);
    expect(interpret(parse(install))).toMatchObject({ type: "installed" });
    expect(interpret(parse(teamUninstall(alice)))).toMatchObject({ type: "uninstalled" });
    // No person named, or no team: nothing to record.
    expect(interpret(parse(teamEvent(alice, "teamMemberAdded"))).type).toBe("ignored");
    const teamless = parse(teamEvent(alice, "teamMemberAdded"));
    teamless.membersAdded = [{ id: bob.id }];
    delete teamless.channelData!.team;
    expect(interpret(teamless).type).toBe("ignored");
  });

  it("reads card actions and read receipts, ignores the rest", () => {
    const invoke = parse({
      ...personalMessage(alice, ""),
      type: "invoke",
      name: "adaptiveCard/action",
      value: { action: { verb: "vote", data: { choice: "a" } } },
    });
    expect(interpret(invoke)).toEqual({ type: "cardAction", verb: "vote", data: { choice: "a" }, automatic: false });
    expect(interpret({ ...invoke, value: { ...(invoke.value as object), trigger: "automatic" } })).toMatchObject({ automatic: true });
    // Action.Submit arrives as a message whose `value` holds the inputs and whose text is empty.
    expect(interpret(parse({ ...personalMessage(alice, ""), value: { choice: "b" } }))).toEqual({
      type: "cardSubmit",
      data: { choice: "b" },
    });
    expect(interpret(parse({ ...personalMessage(alice, "help"), value: { choice: "b" } }))).toEqual({ type: "message", text: "help" });
    const receipt = parse({
      ...personalMessage(alice, ""),
      type: "event",
      name: "application/vnd.microsoft.readReceipt",
      value: { lastReadMessageId: "42" },
    });
    expect(interpret(receipt)).toEqual({ type: "readReceipt", lastReadMessageId: "42" });
    expect(interpret(parse({ ...personalMessage(alice, ""), type: "typing" })).type).toBe("ignored");
    expect(interpret(parse({ ...personalMessage(alice, ""), type: "messageReaction" })).type).toBe("ignored");
  });
});

describe("commandText", () => {
  it("strips the bot mention in channels and normalises", () => {
    expect(commandText(parse(channelMessage(alice, "  STOP&nbsp; ")))).toBe("stop");
  });
  it("keeps personal text as typed, lower-cased", () => {
    expect(commandText(parse(personalMessage(alice, "Help")))).toBe("help");
  });
});

describe("observe", () => {
  it("builds a personal reference with the user, tenant, locale and time zone from clientInfo", () => {
    const [install] = personalInstall(alice);
    const o = observe(parse(install), "2026-01-01T00:00:00.000Z");
    expect(o).toMatchObject({
      id: "a:chat-alice",
      kind: "personal",
      tenantId: TENANT,
      bot: { id: BOT.id, name: BOT.name },
      user: { id: alice.id, name: alice.name, aadObjectId: alice.aadObjectId },
      locale: "en-US",
      timezone: "Europe/Paris",
      team: undefined,
    });
  });

  it("prefers localTimezone over clientInfo", () => {
    const [install] = personalInstall(alice, { localTimezone: "America/New_York" });
    expect(observe(parse(install), "2026-01-01T00:00:00.000Z").timezone).toBe("America/New_York");
  });

  it("keeps the channel, not the thread, for channel messages, and takes the tenant from channelData", () => {
    const a = parse(channelMessage(alice, "help"));
    delete a.conversation.tenantId;
    const o = observe(a, "2026-01-01T00:00:00.000Z");
    expect(o).toMatchObject({
      id: ANNOUNCEMENTS.id,
      kind: "channel",
      tenantId: TENANT,
      team: { id: TEAM.id, name: TEAM.name, aadGroupId: TEAM.aadGroupId },
    });
    expect(o.user).toBeUndefined();
  });

  it("records a team install on the selected channel", () => {
    const [install] = teamInstall(alice);
    expect(observe(parse(install), "2026-01-01T00:00:00.000Z")).toMatchObject({
      id: ANNOUNCEMENTS.id,
      kind: "channel",
      channel: { id: ANNOUNCEMENTS.id },
    });
  });
});

describe("parseActivity", () => {
  it("names the missing field", () => {
    const { serviceUrl: _drop, ...rest } = personalMessage(alice, "hi");
    expect(parseActivity(rest)).toEqual({ ok: false, reason: expect.stringContaining("serviceUrl") });
    expect(parseActivity({ ...personalMessage(alice, "hi"), conversation: {} })).toEqual({
      ok: false,
      reason: expect.stringContaining("conversation.id"),
    });
    expect(parseActivity("nope")).toMatchObject({ ok: false });
  });
});

describe("welcome templates", () => {
  it("fills the documented placeholders and leaves any other `${...}` as written", () => {
    const message = personalWelcome(
      { botName: "Herald", userName: "Ada Lovelace" },
      { personal: { text: "Hi ${givenName} from ${botName} ${constructor} ${toString} ${unknown}" } },
    );
    expect(message.text).toBe("Hi Ada from Herald ${constructor} ${toString} ${unknown}");
  });
});
