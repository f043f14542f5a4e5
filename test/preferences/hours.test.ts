import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { parsePreferenceCommand } from "../../src/preferences/commands.js";
import { footerFor, parseFooterPolicy, withFooter } from "../../src/preferences/footer.js";
import { frequencyRelease, nextAllowed, parseFrequencyCap } from "../../src/preferences/hours.js";

const at = (s: string) => Date.parse(s);
const iso = (ms: number) => new Date(ms).toISOString();
const weekdays = ["mon", "tue", "wed", "thu", "fri"] as const;

describe("nextAllowed (quiet hours and working days in the recipient's zone)", () => {
  const quiet = { quietHours: { start: "20:00", end: "08:00" } };

  it("lets a message go at once outside quiet hours", () => {
    expect(nextAllowed(at("2027-03-03T12:00:00Z"), "Europe/London", quiet)).toEqual({ at: at("2027-03-03T12:00:00Z") });
  });

  it("holds a message in quiet hours that wrap midnight until their end in the person's own zone", () => {
    // 19:30 UTC is 04:30 the next morning in Tokyo (UTC+9): held until 08:00 JST = 23:00 UTC.
    const r = nextAllowed(at("2027-03-03T19:30:00Z"), "Asia/Tokyo", quiet);
    expect(r.reason).toBe("quietHours");
    expect(iso(r.at)).toBe("2027-03-03T23:00:00.000Z");
    // Before midnight (22:00 London) the end is the next day.
    expect(iso(nextAllowed(at("2027-03-03T22:00:00Z"), "Europe/London", quiet).at)).toBe("2027-03-04T08:00:00.000Z");
  });

  it("follows daylight saving: 08:00 New York is 13:00 UTC before 14 March 2027 and 12:00 UTC after", () => {
    expect(iso(nextAllowed(at("2027-03-13T06:00:00Z"), "America/New_York", quiet).at)).toBe("2027-03-13T13:00:00.000Z");
    expect(iso(nextAllowed(at("2027-03-15T06:00:00Z"), "America/New_York", quiet).at)).toBe("2027-03-15T12:00:00.000Z");
  });

  it("moves a weekend message to Monday's first allowed minute", () => {
    // Saturday 08:30 in Tokyo → Monday 08:00 JST.
    const r = nextAllowed(at("2027-03-05T23:30:00Z"), "Asia/Tokyo", { ...quiet, workingDays: weekdays });
    expect(r.reason).toBe("workingDays");
    expect(iso(r.at)).toBe("2027-03-07T23:00:00.000Z");
  });

  it("reads an unknown zone as UTC and a same-day window as such", () => {
    const r = nextAllowed(at("2027-03-03T12:30:00Z"), "Nowhere/City", { quietHours: { start: "12:00", end: "13:00" } });
    expect(iso(r.at)).toBe("2027-03-03T13:00:00.000Z");
  });
});

describe("frequency cap", () => {
  it("parses N/period and refuses the rest", () => {
    expect(parseFrequencyCap("3/day")).toEqual({ count: 3, windowMs: 86_400_000 });
    expect(parseFrequencyCap("5/12h")).toEqual({ count: 5, windowMs: 12 * 3_600_000 });
    expect(parseFrequencyCap("0/day")).toBeUndefined();
    expect(parseFrequencyCap("lots")).toBeUndefined();
    expect(() => loadConfig({ HERALD_FREQUENCY_CAP: "3 per day", HERALD_INBOUND_AUTH: "off" })).toThrow(/HERALD_FREQUENCY_CAP/);
  });

  it("releases a message when the oldest of the last N sends leaves the window", () => {
    const cap = { count: 2, windowMs: 1_000 };
    expect(frequencyRelease([100], cap, 500)).toBe(500);
    expect(frequencyRelease([100, 300], cap, 500)).toBe(1_100);
    expect(frequencyRelease([100, 300, 900], cap, 1_200)).toBe(1_300);
  });
});

describe("footer and commands", () => {
  it("HERALD_UNSUBSCRIBE_FOOTER: broadcasts by default, per-category overrides, the request wins, channels never", () => {
    const policy = parseFooterPolicy("broadcasts,alerts=off,news=on");
    if (!policy) throw new Error("policy refused");
    expect(footerFor(policy, { audience: { all: true } })).toBe(true);
    expect(footerFor(policy, { audience: { all: true }, category: "alerts" })).toBe(false);
    expect(footerFor(policy, { audience: { users: ["u"] }, category: "news" })).toBe(true);
    expect(footerFor(policy, { audience: { users: ["u"] } })).toBe(false);
    expect(footerFor(policy, { audience: { all: true }, footer: false })).toBe(false);
    expect(footerFor(policy, { audience: { channels: ["c"] }, footer: true })).toBe(false);
    expect(parseFooterPolicy("sometimes")).toBeUndefined();
    expect(() => loadConfig({ HERALD_UNSUBSCRIBE_FOOTER: "sometimes", HERALD_INBOUND_AUTH: "off" })).toThrow(/HERALD_UNSUBSCRIBE_FOOTER/);
  });

  it("adds the footer as the last line of text or the last block of a card; a category cannot template it", () => {
    expect(withFooter({ text: "Hi" }, "news").text).toBe(
      "Hi\n\n_To stop news notifications, type stop news (or settings for all choices)._",
    );
    const card = withFooter({ card: { type: "AdaptiveCard", version: "1.4", body: [{ type: "TextBlock", text: "x" }] } }, undefined)
      .card as unknown as {
      body: { text: string }[];
    };
    expect(card.body.at(-1)?.text).toContain("type stop");
    expect(withFooter({ text: "Hi" }, "${name}").text).not.toContain("${");
  });

  it("parses stop/start <category> and settings, leaving plain stop/start to the handler", () => {
    expect(parsePreferenceCommand("stop news")).toEqual({ kind: "stop", category: "news" });
    expect(parsePreferenceCommand("subscribe alerts")).toEqual({ kind: "start", category: "alerts" });
    expect(parsePreferenceCommand("settings")).toEqual({ kind: "settings" });
    expect(parsePreferenceCommand("stop")).toBeUndefined();
    expect(parsePreferenceCommand("stop all")).toBeUndefined();
    expect(() => loadConfig({ HERALD_CATEGORIES: "news,all", HERALD_INBOUND_AUTH: "off" })).toThrow(/HERALD_CATEGORIES/);
  });
});
