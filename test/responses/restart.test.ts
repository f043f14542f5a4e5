import { afterAll, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import type { Store } from "../../src/store/ports.js";
import { eventually, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { cardText, control, sendAndWait } from "./helpers.js";

/**
 * The last totals land even when the process that took the votes stops before updating the
 * channel card: the store knows which cards show fewer answers than are stored, and the next
 * Herald sends those updates when it starts.
 */
forEachStore((stores) => {
  let store: Store;
  let stack: Stack;
  let next: Herald | undefined;

  beforeAll(async () => {
    store = await stores.open();
    stack = await startStack(store, { emulator: { org: { users: 60, teams: 2, blockedShare: 0, uninstalledShare: 0 } } });
    await control(stack, "/_emulator/install", { teamId: stack.emulator.org.teams[0]!.id, wait: true });
  }, 60_000);
  afterAll(async () => {
    await next?.close();
    await stack?.close();
  });

  it("votes taken, card never updated, process replaced: the next Herald puts the totals on the card", async () => {
    const team = stack.emulator.org.teams[0]!;
    const { deliveries } = await sendAndWait(stack, {
      audience: { teams: [team.id], deliverTo: "channel" },
      message: { poll: { question: "Restart?", options: ["Yes", "No"] } },
    });
    const post = deliveries[0]!;
    // As if the process died before its coalesced update: the updater takes no more work.
    await stack.herald.responses?.channelCards.stop();
    const voters = Array.from({ length: 30 }, (_, i) => i);
    const r = await control(stack, "/_emulator/invokes", {
      users: voters,
      conversationId: post.conversationId,
      replyToId: post.activityId,
      verb: "herald.response.poll",
      data: { heraldChoice: "1" },
    });
    expect(r["statuses"]).toEqual({ "200": 30 });
    const shown = async () => {
      const res = await fetch(`${stack.emulator.url}/_emulator/conversations/${encodeURIComponent(post.conversationId)}/messages`);
      const body = (await res.json()) as { messages: { id: string; activity: unknown }[] };
      return cardText(body.messages.find((m) => m.id === post.activityId)?.activity);
    };
    expect(await shown()).not.toContain("30 people answered");

    next = await createHerald(stack.herald.config, { logger: silentLogger, store });
    const text = await eventually(
      "the new process updates the card",
      async () => ((await shown()).includes("30 people answered") ? await shown() : undefined),
      15_000,
    );
    expect(text).toMatch(/No[\s\S]*30 \(100%\)/);
  }, 90_000);
});
