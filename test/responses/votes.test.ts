import { afterAll, beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import { eventually, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { api, cardText, control, sendAndWait } from "./helpers.js";

/**
 * Issue 10's proof: 1,000 votes arriving concurrently through the emulator end in exactly 1,000
 * stored answers, the right totals in the API, and the right totals on the channel's shared card
 * (updated by PUT, coalesced), on SQLite and PostgreSQL.
 */
forEachStore((stores) => {
  let store: Store;
  let stack: Stack;

  beforeAll(async () => {
    store = await stores.open();
    stack = await startStack(store, {
      emulator: { org: { users: 1_050, teams: 2, blockedShare: 0, uninstalledShare: 0 }, botConcurrency: 64 },
    });
    const team = stack.emulator.org.teams[0]!;
    await control(stack, "/_emulator/install", { teamId: team.id, wait: true });
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it("1,000 concurrent votes on a channel poll: 1,000 answers stored, totals right in the API and on the shared card", async () => {
    const team = stack.emulator.org.teams[0]!;
    const { id, deliveries } = await sendAndWait(stack, {
      audience: { teams: [team.id], deliverTo: "channel" },
      message: { text: "Team lunch", poll: { question: "Where shall we eat?", options: ["Pizza", "Sushi", "Tacos"] } },
    });
    expect(deliveries).toHaveLength(1);
    const post = deliveries[0]!;
    expect(post.status).toBe("sent");
    const users = Array.from({ length: 1_000 }, (_, i) => i);
    const groups = [users.slice(0, 500), users.slice(500, 800), users.slice(800)];
    const answers = await Promise.all(
      groups.map((g, option) =>
        control(stack, "/_emulator/invokes", {
          users: g,
          conversationId: post.conversationId,
          replyToId: post.activityId,
          verb: "herald.response.poll",
          data: { heraldChoice: String(option) },
        }),
      ),
    );
    for (const a of answers) expect(Object.keys(a["statuses"] as object)).toEqual(["200"]);

    const view = await api(stack, "GET", `/v1/notifications/${id}`);
    expect(view.json["responses"]).toMatchObject({
      kind: "poll",
      total: 1_000,
      options: [
        { index: 0, text: "Pizza", count: 500 },
        { index: 1, text: "Sushi", count: 300 },
        { index: 2, text: "Tacos", count: 200 },
      ],
    });
    let listed = 0;
    let cursor: string | null = null;
    const voters = new Set<string>();
    do {
      const page = await api(stack, "GET", `/v1/notifications/${id}/responses?limit=300${cursor ? `&cursor=${cursor}` : ""}`);
      const items = page.json["items"] as { userId: string; options: number[] }[];
      listed += items.length;
      for (const item of items) voters.add(item.userId);
      cursor = page.json["nextCursor"] as string | null;
    } while (cursor);
    expect(listed).toBe(1_000);
    expect(voters.size).toBe(1_000);

    // The shared card ends showing the final totals, by PUT (an "update" in the emulator's history).
    const final = await eventually(
      "the channel card shows 1000 answers",
      async () => {
        const res = await fetch(`${stack.emulator.url}/_emulator/conversations/${encodeURIComponent(post.conversationId)}/messages`);
        const body = (await res.json()) as { messages: { id: string; activity: unknown; history?: { kind: string }[] }[] };
        const m = body.messages.find((x) => x.id === post.activityId);
        const text = m ? cardText(m.activity) : "";
        return text.includes("1000 people answered") ? { text, m } : undefined;
      },
      20_000,
    );
    expect(final.text).toMatch(/Pizza[\s\S]*500 \(50%\)[\s\S]*Sushi[\s\S]*300 \(30%\)[\s\S]*Tacos[\s\S]*200 \(20%\)/);
    // Coalesced: far fewer PUTs than votes.
    const updates = (final.m?.history ?? []).filter((h) => h.kind === "update").length;
    expect(updates).toBeGreaterThanOrEqual(1);
    expect(updates).toBeLessThan(30);
  }, 180_000);
});
