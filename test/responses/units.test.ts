import { describe, expect, it } from "vitest";
import { systemClock } from "../../src/clock.js";
import { prepareMessage } from "../../src/delivery/message/prepare.js";
import { renderActivity } from "../../src/delivery/message/render.js";
import { parseMessage } from "../../src/delivery/message/schema.js";
import { silentLogger } from "../../src/log.js";
import { ChannelCards } from "../../src/responses/channel-cards.js";
import { chosenOptions } from "../../src/responses/decide.js";
import type { DeliveryRef } from "../../src/store/responses.js";

describe("message.poll and message.ack: validated with errors naming the field", () => {
  const error = (message: unknown) => {
    const r = parseMessage(message);
    return r.ok ? undefined : r.error.message;
  };
  it("accepts a poll and an ack; each renders an Adaptive Card with Action.Execute verbs herald.response.*", () => {
    const poll = parseMessage({ poll: { question: "Q?", options: ["A", "B"], multiple: true, closesAt: "2030-01-01T00:00:00Z" } });
    expect(poll.ok).toBe(true);
    if (!poll.ok) return;
    const card = renderActivity(prepareMessage(poll.message), {}).attachments?.[0]?.content as Record<string, unknown>;
    expect(JSON.stringify(card)).toContain('"verb":"herald.response.poll"');
    expect(JSON.stringify(card)).toContain('"isMultiSelect":true');
    const ack = parseMessage({ text: "Read this", ack: { label: "Got it" } });
    expect(ack.ok).toBe(true);
    if (!ack.ok) return;
    const ackCard = renderActivity(prepareMessage(ack.message), {}).attachments?.[0]?.content as Record<string, unknown>;
    expect(JSON.stringify(ackCard)).toMatch(/"title":"Got it","verb":"herald.response.ack"/);
    expect(JSON.stringify(ackCard)).toContain("Read this");
  });
  it("refuses bad polls and combinations, naming the field", () => {
    expect(error({ poll: { question: "Q?", options: ["A"] } })).toMatch(/^message\.poll\.options: needs at least 2 options/);
    expect(error({ poll: { question: " ", options: ["A", "B"] } })).toMatch(/^message\.poll\.question: must not be empty/);
    expect(error({ poll: { question: "Q", options: ["A", "a"] } })).toMatch(/message\.poll\.options\.1: repeats the option/);
    expect(error({ poll: { question: "Q", options: ["A", "B"], closesAt: "tomorrow" } })).toMatch(
      /message\.poll\.closesAt: must be an ISO 8601 time/,
    );
    expect(error({ poll: { question: "Q", options: ["A", "B"], colour: 1 } })).toMatch(/message\.poll: unknown field/);
    expect(error({ ack: {}, poll: { question: "Q", options: ["A", "B"] } })).toMatch(/message\.ack: cannot be combined with a poll/);
    expect(
      error({
        card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock" }] },
        poll: { question: "Q", options: ["A", "B"] },
      }),
    ).toMatch(/message\.card: cannot be combined with a poll/);
    expect(error({ ack: { label: "" } })).toMatch(/message\.ack\.label: must not be empty/);
  });
});

describe("chosenOptions: the option indexes an answer names", () => {
  const single = { kind: "poll" as const, poll: { question: "Q", options: ["A", "B", "C"] } };
  const multiple = { kind: "poll" as const, poll: { question: "Q", options: ["A", "B", "C"], multiple: true } };
  it("reads the ChoiceSet's value and arrays; refuses forged, out-of-range, several-on-single and none", () => {
    expect(chosenOptions(single, { heraldChoice: "2" })).toEqual({ ok: true, options: [2] });
    expect(chosenOptions(multiple, { heraldChoice: "2,0,2" })).toEqual({ ok: true, options: [0, 2] });
    expect(chosenOptions(multiple, { options: [1] })).toEqual({ ok: true, options: [1] });
    for (const bad of [
      { heraldChoice: "3" },
      { heraldChoice: "-1" },
      { heraldChoice: "1.5" },
      { heraldChoice: "0,1" },
      { options: [0.5] },
      { heraldChoice: {} },
    ]) {
      expect(chosenOptions(single, bad)).toEqual({ ok: false, refusal: "HERALD_E_RESPONSE_BAD_OPTION" });
    }
    expect(chosenOptions(single, {})).toEqual({ ok: false, refusal: "HERALD_E_RESPONSE_NO_CHOICE" });
    expect(chosenOptions({ kind: "ack", ack: {} }, { heraldChoice: "0" })).toEqual({ ok: false, refusal: "HERALD_E_RESPONSE_WRONG_KIND" });
  });
});

describe("ChannelCards: coalesced shared-card updates", () => {
  const ref: DeliveryRef = {
    notificationId: "n1",
    seq: 0,
    kind: "channel",
    tenantId: "t",
    conversationId: "19:c;messageid=1",
    activityId: "1",
    personal: false,
  };
  const until = async (what: string, check: () => boolean, ms = 5_000) => {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`not in time: ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  it("many touches within the interval make few updates, and a touch during an update makes one more (the last totals land)", async () => {
    let totals = 0;
    const shown: number[] = [];
    const startedAt: number[] = [];
    let release: (() => void) | undefined;
    const cards = new ChannelCards({
      clock: systemClock,
      logger: silentLogger,
      intervalMs: 150,
      update: async () => {
        startedAt.push(Date.now());
        const seen = totals;
        await new Promise<void>((r) => {
          release = r;
          setTimeout(r, 30);
        });
        shown.push(seen);
        return seen;
      },
    });
    for (let i = 0; i < 200; i++) {
      totals++;
      cards.touch(ref);
    }
    await until("first update", () => shown.length === 1);
    expect(shown).toEqual([200]);
    // Votes after the update read their totals: exactly one more update, after the interval.
    totals = 250;
    cards.touch(ref);
    cards.touch(ref);
    await until("second update", () => shown.length === 2);
    expect(shown).toEqual([200, 250]);
    // At most one update per interval per conversation.
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(140);
    await new Promise((r) => setTimeout(r, 400));
    expect(shown).toHaveLength(2);
    release?.();
    await cards.stop();
  });

  it("a failed update is tried again until it lands", async () => {
    let calls = 0;
    const cards = new ChannelCards({
      clock: systemClock,
      logger: silentLogger,
      intervalMs: 20,
      update: async () => {
        calls++;
        if (calls < 3) throw new Error("429");
        return 1;
      },
    });
    cards.touch(ref);
    await until("third call", () => calls === 3);
    await until("nothing pending", () => cards.pendingCount === 0);
    await cards.stop();
  });
});
