import { describe, expect, it } from "vitest";
import { channelThread, personalConversation } from "../../src/connector/conversation-params.js";
import { readConversationResource, readMembersPage, readTeamChannels } from "../../src/connector/responses.js";
import { activityPath, memberPath, pagedMembersPath, parseServiceUrl, teamChannelsPath, teamPath } from "../../src/connector/urls.js";

describe("parseServiceUrl", () => {
  it.each([
    ["https://smba.trafficmanager.net/teams/", "https://smba.trafficmanager.net", "/teams"],
    ["https://smba.trafficmanager.net/amer/", "https://smba.trafficmanager.net", "/amer"],
    ["http://localhost:56150/_connector", "http://localhost:56150", "/_connector"],
    ["http://h:1/_connector//", "http://h:1", "/_connector"],
    ["https://smba.trafficmanager.net", "https://smba.trafficmanager.net", ""],
    ["https://smba.trafficmanager.net/teams/?x=1#f", "https://smba.trafficmanager.net", "/teams"],
  ])("keeps the path prefix of %s", (serviceUrl, origin, prefix) => {
    expect(parseServiceUrl(serviceUrl)).toEqual({ origin, prefix });
  });

  it.each(["", "not a url", "ftp://smba.trafficmanager.net/", "/relative"])("refuses %j", (s) => {
    expect(parseServiceUrl(s)).toBeUndefined();
  });
});

describe("paths", () => {
  it("encodes every id as one segment", () => {
    expect(activityPath("19:abc@thread.tacv2;messageid=17", "17:x/y")).toBe(
      "/v3/conversations/19%3Aabc%40thread.tacv2%3Bmessageid%3D17/activities/17%3Ax%2Fy",
    );
    expect(memberPath("a:1", "29:u;1@x")).toBe("/v3/conversations/a%3A1/members/29%3Au%3B1%40x");
    expect(teamPath("19:t@thread.tacv2")).toBe("/v3/teams/19%3At%40thread.tacv2");
    expect(teamChannelsPath("19:t@thread.tacv2")).toBe("/v3/teams/19%3At%40thread.tacv2/conversations");
  });

  it("adds only the query parameters given", () => {
    expect(pagedMembersPath("a:1")).toBe("/v3/conversations/a%3A1/pagedmembers");
    expect(pagedMembersPath("a:1", 100)).toBe("/v3/conversations/a%3A1/pagedmembers?pageSize=100");
    expect(pagedMembersPath("a:1", undefined, "t+/=&")).toBe("/v3/conversations/a%3A1/pagedmembers?continuationToken=t%2B%2F%3D%26");
    expect(pagedMembersPath("a:1", 50, "t")).toBe("/v3/conversations/a%3A1/pagedmembers?pageSize=50&continuationToken=t");
  });
});

describe("conversation parameters", () => {
  it("builds a 1:1 chat with tenantId, members and channelData.tenant", () => {
    expect(personalConversation({ tenantId: "t1", user: "29:u", bot: { id: "28:b" } })).toEqual({
      isGroup: false,
      bot: { id: "28:b" },
      members: [{ id: "29:u" }],
      tenantId: "t1",
      channelData: { tenant: { id: "t1" } },
    });
  });

  it("builds a channel thread with channelData.channel and the first activity", () => {
    const activity = { type: "message", text: "hi" };
    expect(channelThread({ channelId: "19:c@thread.tacv2", activity })).toEqual({
      isGroup: true,
      channelData: { channel: { id: "19:c@thread.tacv2" } },
      activity,
    });
    expect(channelThread({ channelId: "19:c@thread.tacv2", activity, tenantId: "t1" }).channelData).toEqual({
      channel: { id: "19:c@thread.tacv2" },
      tenant: { id: "t1" },
    });
  });
});

describe("responses", () => {
  it("requires a conversation id and keeps activityId and serviceUrl", () => {
    expect(readConversationResource({ id: "19:c;messageid=1", activityId: "1", serviceUrl: null })).toEqual({
      id: "19:c;messageid=1",
      activityId: "1",
    });
    expect(readConversationResource({ activityId: "1" })).toBeUndefined();
    expect(readConversationResource("x")).toBeUndefined();
  });

  it("reads pages, the last one without a token", () => {
    expect(readMembersPage({ members: [{ id: "29:a", name: null, email: "a@x" }], continuationToken: null })).toEqual({
      members: [{ id: "29:a", email: "a@x" }],
      continuationToken: undefined,
    });
    expect(readMembersPage({})).toEqual({ members: [], continuationToken: undefined });
    expect(readMembersPage({ members: [{ name: "no id" }] })).toBeUndefined();
  });

  it("reads the General channel's null name as undefined", () => {
    expect(
      readTeamChannels({
        conversations: [
          { id: "19:t", name: null },
          { id: "19:c", name: "Ops" },
        ],
      }),
    ).toEqual([
      { id: "19:t", name: undefined },
      { id: "19:c", name: "Ops" },
    ]);
    expect(readTeamChannels({})).toBeUndefined();
  });
});
