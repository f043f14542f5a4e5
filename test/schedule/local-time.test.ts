import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Delivery } from "../../src/delivery/model.js";
import type { Store } from "../../src/store/ports.js";
import { admin, emulatorControl, type Harness, pollUntil, request, startHarness } from "../delivery/helpers/harness.js";
import { forEachStore, type StoreFactory } from "../helpers/stores.js";
import { TestClock } from "./helpers.js";

/**
 * Local-time schedules end to end (engine, store, real emulator over HTTP) with an injected clock:
 * three recipients in three time zones, as Teams reported them, get a 09:00 message at their own
 * 09:00, on a day before and a day after New York's daylight-saving change (8 March 2026); the
 * clock is moved to each recipient's moment in turn and only that recipient has received it.
 * The expected instants come from Intl (the platform's tz data), not from the code under test.
 */

/** The wall-clock `YYYY-MM-DD HH:mm` of `iso` in `zone`, by Intl. */
function wall(iso: string, zone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(iso));
  const p = (t: string) => parts.find((x) => x.type === t)?.value ?? "";
  return `${p("year")}-${p("month")}-${p("day")} ${p("hour")}:${p("minute")}`;
}

forEachStore((stores: StoreFactory) => {
  let store: Store;
  let h: Harness;
  const clock = new TestClock(Date.parse("2026-03-06T20:00:00Z"));
  /** One user in the Americas (DST on 8 March), one in Europe (DST on 29 March), one in Asia (none). */
  const picked: { index: number; zone: string }[] = [];

  beforeAll(async () => {
    store = await stores.open();
    h = await startHarness(store, { emulator: { org: { users: 200 } }, clock });
    const org = h.emulator.org;
    for (const prefix of ["America/New_York", "Europe/", "Asia/"]) {
      for (let i = 0; i < 200; i++) {
        const u = org.user(i);
        if (u.timezone.startsWith(prefix)) {
          picked.push({ index: i, zone: u.timezone });
          break;
        }
      }
    }
    expect(picked.map((p) => p.zone.split("/")[0])).toEqual(["America", "Europe", "Asia"]);
    for (const { index } of picked) {
      const u = org.user(index);
      // As an install records it: the time zone Teams reported for the user (clientInfo / localTimezone).
      await store.conversations.upsert({
        id: org.personalConversationId(index),
        kind: "personal",
        tenantId: u.tenantId,
        serviceUrl: h.emulator.connectorUrl,
        channelId: "msteams",
        bot: { id: `28:${h.emulator.appId}` },
        user: { id: u.id, name: u.name, aadObjectId: u.aadObjectId },
        locale: u.locale,
        timezone: u.timezone,
        at: new Date(clock.now()).toISOString(),
        status: "active",
      });
    }
  });
  afterAll(async () => {
    await h?.close();
    await stores.cleanup();
  });

  const conversations = () => picked.map((p) => h.emulator.org.personalConversationId(p.index));
  const rows = async (id: string): Promise<Delivery[]> => (await h.engine.deliveries(id, {}, { limit: 100 })).items;
  const texts = async (index: number): Promise<string[]> => {
    const body = (await emulatorControl(
      h,
      "GET",
      `conversations/${encodeURIComponent(h.emulator.org.personalConversationId(index))}/messages`,
    )) as {
      messages: { activity: { text?: string } | null }[];
    };
    return body.messages.map((m) => m.activity?.text ?? "");
  };

  it.each([
    ["before New York's DST change", "2026-03-07"],
    ["after New York's DST change", "2026-03-09"],
  ])("09:00 in each recipient's own zone, %s", async (_what, date) => {
    const { notification } = await h.engine.submit(
      request(
        { conversations: conversations() },
        { text: `Good morning ${"${givenName}"} (${"${timezone}"}) ${date}` },
        {
          schedule: { localTime: "09:00", date },
        },
      ),
      admin,
    );
    expect(notification.status).toBe("scheduled");
    const placed = await rows(notification.id);
    const byConversation = new Map(placed.map((d) => [d.conversationId, d]));
    const order = picked
      .map((p) => ({ ...p, row: byConversation.get(h.emulator.org.personalConversationId(p.index)) }))
      .sort((a, b) => Date.parse(a.row?.notBefore ?? "") - Date.parse(b.row?.notBefore ?? ""));
    for (const p of order) {
      expect(p.row?.timezone).toBe(p.zone);
      expect(wall(p.row?.notBefore ?? "", p.zone)).toBe(`${date} 09:00`);
    }
    const before = order.map((p) => h.received(p.index).received);
    for (const [k, p] of order.entries()) {
      const at = Date.parse(p.row?.notBefore ?? "");
      clock.at = at; // their 09:00
      await pollUntil(
        () => h.received(p.index).received,
        (n) => n === (before[k] ?? 0) + 1,
        `${p.zone} gets it at its 09:00`,
      );
      // Everyone later in the day still waits.
      for (const [j, later] of order.entries()) if (j > k) expect(h.received(later.index).received).toBe(before[j]);
      const last = (await texts(p.index)).at(-1) ?? "";
      expect(last).toContain(`(${p.zone}) ${date}`);
    }
    const done = await h.waitFor(notification.id, (n) => !n.active);
    expect(done.counts.sent).toBe(3);
  });

  it("a streamed audience (all of a tenant) is placed page by page the same way", async () => {
    clock.at = Date.parse("2026-03-11T00:00:00Z");
    const tenantId = h.emulator.org.user(picked[0]?.index ?? 0).tenantId;
    const { notification } = await h.engine.submit(
      request({ all: true, tenantId }, { text: "all ${timezone}" }, { schedule: { localTime: "09:00", date: "2026-03-12" } }),
      admin,
    );
    const done = await h.waitFor(notification.id, (n) => n.expansionDone);
    const placed = await rows(done.id);
    expect(placed.length).toBeGreaterThan(0);
    for (const d of placed) {
      const zone = picked.find((p) => h.emulator.org.personalConversationId(p.index) === d.conversationId)?.zone;
      expect(d.timezone).toBe(zone);
      expect(wall(d.notBefore ?? "", zone ?? "")).toBe("2026-03-12 09:00");
    }
  });

  it("ifPassed: sendNow sends a recipient whose 09:00 has passed at once; nextDay waits for tomorrow's 09:00", async () => {
    clock.at = Date.parse("2026-03-10T12:00:00Z"); // 09:00 has passed in Europe and Asia, not in New York
    const sendNow = await h.engine.submit(
      request({ conversations: conversations() }, { text: "now" }, { schedule: { localTime: "09:00", ifPassed: "sendNow" } }),
      admin,
    );
    const nextDay = await h.engine.submit(
      request({ conversations: conversations() }, { text: "next" }, { schedule: { localTime: "09:00", ifPassed: "nextDay" } }),
      admin,
    );
    for (const d of await rows(sendNow.notification.id)) {
      const zone = picked.find((p) => h.emulator.org.personalConversationId(p.index) === d.conversationId)?.zone ?? "";
      if (zone.startsWith("America/")) expect(wall(d.notBefore ?? "", zone)).toBe("2026-03-10 09:00");
      else expect(d.notBefore).toBe(sendNow.notification.createdAt); // at once
    }
    for (const d of await rows(nextDay.notification.id)) {
      const zone = picked.find((p) => h.emulator.org.personalConversationId(p.index) === d.conversationId)?.zone ?? "";
      expect(wall(d.notBefore ?? "", zone)).toBe(zone.startsWith("America/") ? "2026-03-10 09:00" : "2026-03-11 09:00");
    }
    // sendNow: the two passed recipients are sent without the clock moving.
    await pollUntil(
      async () => (await h.engine.get(sendNow.notification.id))?.counts.sent ?? 0,
      (n) => n === 2,
      "sendNow sends the passed ones",
    );
    expect((await h.engine.get(nextDay.notification.id))?.counts.sent).toBe(0);
  });
});

describe("schedule validation", () => {
  it("names the bad field", async () => {
    const { notificationRequestSchema } = await import("../../src/delivery/request.js");
    const bad = (schedule: unknown) => {
      const r = notificationRequestSchema.safeParse({ audience: { conversations: ["a"] }, message: { text: "x" }, schedule });
      return r.success ? "ok" : `${r.error.issues[0]?.path.join(".")}: ${r.error.issues[0]?.message}`;
    };
    expect(bad({ localTime: "9am" })).toMatch(/^schedule(\.|: )localTime:? must be a 24-hour local time "HH:MM"/);
    expect(bad({ localTime: "09:00", timeZone: "Mars/Olympus" })).toMatch(/^schedule(\.|: )timeZone:? must be an IANA time zone/);
    expect(bad({ localTime: "09:00", ifPassed: "later" })).toMatch(/^schedule(\.|: )ifPassed:? must be "sendNow" or "nextDay"/);
    expect(bad({ localTime: "09:00", date: "2026-13-01" })).toMatch(/^schedule(\.|: )date:? must be a calendar date/);
    expect(bad({ cron: "every day" })).toMatch(/^schedule(\.|: )cron:? is not a valid cron expression/);
    // A sixth field is seconds to the parser: every second, a notification (the fuzzer's find).
    for (const cron of ["* * * * * *", "@secondly", "0,30 * * * * *"])
      expect(bad({ cron })).toMatch(/^schedule(\.|: )cron:? is not a valid cron expression \(it fires more than once a minute/);
    for (const cron of ["*/5 * * * *", "@daily", "0 0 9 * * 1-5"]) expect(bad({ cron })).toBe("ok");
    expect(bad({ at: "tomorrow" })).toMatch(/^schedule(\.|: )at:? must be an ISO 8601 time/);
    expect(bad({ localTime: "09:00", date: "2026-03-09", timeZone: "Asia/Tokyo", ifPassed: "nextDay" })).toBe("ok");
    expect(bad("2026-03-09T09:00:00Z")).toBe("ok");
  });
});
