import { describe, expect, it } from "vitest";
import type { Activity } from "../../src/inbound/activity.js";
import { CardActions } from "../../src/inbound/card-actions.js";

const activity = { type: "invoke" } as Activity;
const answer = (who: string) => async () => ({ who });

describe("CardActions", () => {
  it("routes a verb to the longest registered prefix it starts with (at a . or : boundary)", async () => {
    const actions = new CardActions().on("herald", answer("herald")).on("herald.response", answer("response"));
    expect(await actions.handle(activity, "herald.response.poll", {})).toEqual({ who: "response" });
    expect(await actions.handle(activity, "herald.response", {})).toEqual({ who: "response" });
    expect(await actions.handle(activity, "herald.preferences.save", {})).toEqual({ who: "herald" });
    expect(await actions.handle(activity, "herald:x", {})).toEqual({ who: "herald" });
  });

  it("a verb that only shares letters with a prefix, or no verb, goes to the fallback", async () => {
    const seen: (string | undefined)[] = [];
    const actions = new CardActions(async (_a, verb) => {
      seen.push(verb);
      return undefined;
    }).on("herald.response", answer("response"));
    expect(await actions.handle(activity, "herald.responses", {})).toBeUndefined();
    expect(await actions.handle(activity, undefined, {})).toBeUndefined();
    expect(seen).toEqual(["herald.responses", undefined]);
  });

  it("refuses a prefix registered twice", () => {
    const actions = new CardActions().on("herald.preferences", answer("a"));
    expect(() => actions.on("herald.preferences", answer("b"))).toThrow(/registered twice/);
  });
});
