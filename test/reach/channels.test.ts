import { afterAll, beforeAll, expect, it } from "vitest";
import { messagesOf, notifyAndWait } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * A channel nobody wrote in is an audience once the bot is in its team: at the team's install
 * Herald lists the team's channels (`GET /v3/teams/{id}/conversations`) and keeps each with the
 * team's reference, so a notification can name it by id.
 */
forEachStore((stores) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(await stores.open(), {
      emulator: { org: { tenants: 1, users: 10, teams: 1, channelsPerTeam: 4, teamSize: 5, blockedShare: 0, uninstalledShare: 0 } },
    });
    // Installed in the General channel: the install event names no other channel.
    await call("POST", `${stack.emulator.url}/_emulator/install`, { teamId: stack.emulator.org.teams[0]!.id, wait: true });
  });
  afterAll(() => stack?.close());

  it("a channel Herald never saw, named by id, gets the post", async () => {
    const team = stack.emulator.org.teams[0]!;
    const quiet = team.channels[3]!;
    await eventually("the team's channels stored", async () => {
      const r = await call("GET", `${stack.heraldUrl}/v1/conversations?kind=channel&limit=100`, undefined, STACK_API_KEY);
      return (r.json["items"] as { id: string }[]).some((c) => c.id === quiet.id) ? true : undefined;
    });
    const { view, rows } = await notifyAndWait(stack, { audience: { channels: [quiet.id] }, message: { text: "In a quiet channel" } });
    expect(view["counts"]).toMatchObject({ sent: 1, failed: 0 });
    expect(rows[0]).toMatchObject({ status: "sent" });
    const posted = await messagesOf(stack, rows[0]!["conversationId"] as string);
    expect(JSON.stringify(posted)).toContain("In a quiet channel");
  });
});
