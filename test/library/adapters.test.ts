import { describe, expect, it } from "vitest";
import { agentsTokens, useHerald as useAgents } from "../../src/adapters/agents.js";
import { botbuilderTokens, heraldMiddleware } from "../../src/adapters/botbuilder.js";
import { cardActionVerb, type HeraldForAdapters } from "../../src/adapters/forward.js";
import { teamsTokens, useHerald as useTeams } from "../../src/adapters/teams.js";
import { HeraldError } from "../../src/library/errors.js";

/** The adapters' decisions over structural stand-ins of each SDK's turn (no SDK loaded). */
const invoke = (verb: string) => ({ type: "invoke", name: "adaptiveCard/action", value: { action: { type: "Action.Execute", verb } } });

function fakeHerald(answersAllCardActions = false, fail?: unknown): HeraldForAdapters & { seen: unknown[] } {
  const seen: unknown[] = [];
  return {
    seen,
    answersAllCardActions,
    async handleAuthenticatedActivity(activity) {
      seen.push(activity);
      if (fail) throw fail;
      return { statusCode: 200, type: "application/vnd.microsoft.card.adaptive", value: { type: "AdaptiveCard" } };
    },
  };
}

function turn(activity: object) {
  const sent: unknown[] = [];
  return { sent, context: { activity, sendActivity: async (a: unknown) => void sent.push(a) } };
}

describe("SDK adapters", () => {
  it("botbuilder: Herald answers its own verbs (herald.*) as the invoke response and the bot's handlers do not run", async () => {
    const herald = fakeHerald();
    const own = turn(invoke("herald.poll.vote"));
    let nextCalls = 0;
    await heraldMiddleware(herald).onTurn(own.context, async () => void nextCalls++);
    expect(nextCalls).toBe(0);
    expect(own.sent).toEqual([{ type: "invokeResponse", value: { status: 200, body: expect.objectContaining({ statusCode: 200 }) } }]);

    const foreign = turn(invoke("myapp.vote"));
    await heraldMiddleware(herald).onTurn(foreign.context, async () => void nextCalls++);
    expect(nextCalls).toBe(1);
    expect(foreign.sent).toEqual([]);
    expect(herald.seen).toHaveLength(2);
    // With onCardAction configured, every verb is Herald's.
    const all = turn(invoke("myapp.vote"));
    await heraldMiddleware(fakeHerald(true)).onTurn(all.context, async () => void nextCalls++);
    expect(nextCalls).toBe(1);
    expect(all.sent).toHaveLength(1);
  });

  it("an activity Herald refuses (HeraldError) leaves the bot's turn alone; any other failure reaches the SDK", async () => {
    let nextCalls = 0;
    const refused = turn({ type: "message", channelId: "webchat" });
    await heraldMiddleware(fakeHerald(false, new HeraldError("HERALD_E_INVALID_ACTIVITY", "no", 400))).onTurn(
      refused.context,
      async () => void nextCalls++,
    );
    expect(nextCalls).toBe(1);
    const broken = turn({ type: "message" });
    await expect(
      heraldMiddleware(fakeHerald(false, new Error("store down"))).onTurn(broken.context, async () => undefined),
    ).rejects.toThrow("store down");
  });

  it("Agents SDK: the middleware goes on the AgentApplication's adapter and reads the Activity's wire form (toJsonString)", async () => {
    const herald = fakeHerald();
    const used: { onTurn: (c: never, n: () => Promise<void>) => Promise<void> }[] = [];
    const app = { adapter: { use: (m: (typeof used)[number]) => used.push(m) } };
    expect(useAgents(app, herald)).toBe(app);
    expect(used).toHaveLength(1);
    // The SDK's Activity hides channelId behind a getter (`_channelId` in JSON.stringify).
    const activity = {
      type: "message",
      _channelId: "msteams",
      toJsonString: () => JSON.stringify({ type: "message", channelId: "msteams" }),
    };
    await used[0]!.onTurn(turn(activity).context as never, async () => undefined);
    expect(herald.seen).toEqual([{ type: "message", channelId: "msteams" }]);
  });

  it("Teams SDK: Herald's middleware returns the InvokeResponse for its verbs and calls next() otherwise", async () => {
    const herald = fakeHerald();
    let handler: ((c: { activity: object; next(): unknown }) => Promise<unknown>) | undefined;
    useTeams(
      {
        use: (h) => {
          handler = h;
        },
      },
      herald,
    );
    expect(await handler!({ activity: invoke("herald.ack"), next: () => "next" })).toEqual({
      status: 200,
      body: expect.objectContaining({ statusCode: 200 }),
    });
    expect(await handler!({ activity: { type: "message", text: "hi" }, next: () => "next" })).toBe("next");
  });

  it("token providers take the bot's own credentials; an empty token means none", async () => {
    expect(await botbuilderTokens({ getToken: async () => "bb-token" }).getToken()).toBe("bb-token");
    expect(await botbuilderTokens({ getToken: async () => "" }).getToken()).toBeUndefined();
    const scopes: string[] = [];
    const agents = agentsTokens({
      getAccessToken: async (scope) => {
        scopes.push(scope);
        return "agents-token";
      },
    });
    expect(await agents.getToken()).toBe("agents-token");
    expect(scopes).toEqual(["https://api.botframework.com"]);
    const app = { getBotToken: async () => ({ toString: () => "teams-token" }) };
    expect(await teamsTokens(app).getToken()).toBe("teams-token");
    expect(() => teamsTokens({})).toThrow(/Teams SDK v2 App/);
    expect(cardActionVerb({ type: "message" })).toBeUndefined();
  });
});
