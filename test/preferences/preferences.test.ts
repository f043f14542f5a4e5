import { afterAll, beforeAll, expect, it } from "vitest";
import { tenantTimeZone } from "../../src/preferences/time-zone.js";
import { call, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";
import { people, startClockedStack, TestClock } from "./helpers.js";

/**
 * Preferences end to end (issue 11): Herald and the emulator over HTTP with signed activities, on
 * one injected clock that jumps days ahead; quiet hours, working days, urgent messages, the
 * frequency cap, opting out and back in by command, card and API, the footer, the opt-out report.
 */

// biome-ignore lint/suspicious/noExplicitAny: loosely typed JSON for assertions
type Json = Record<string, any>;
interface User {
  id: string;
  name: string;
  tenantId: string;
  conversationId: string;
}

/**
 * Poll every 100 ms until `check` gives a value (the API allows a key 20 requests/s: the shared
 * helper's 20 ms poll would run into 429s on a slow machine).
 */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not before the deadline: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

forEachStore((stores) => {
  const clock = new TestClock();
  let stack: Stack;
  let users: User[] = [];
  let tenantId = "";
  const api = async (method: string, path: string, body?: unknown) => {
    for (;;) {
      const r = await call(method, `${stack.heraldUrl}${path}`, body, STACK_API_KEY);
      if (r.status !== 429) return r;
      await new Promise((w) => setTimeout(w, 1_000));
    }
  };
  const control = (method: string, path: string, body?: unknown) => call(method, `${stack.emulator.url}/_emulator${path}`, body);
  const user = (name: (typeof people)[number]["name"]): User => {
    const u = users.find((x) => x.name === name);
    if (!u) throw new Error(`no user ${name}`);
    return u;
  };
  const botTexts = async (u: User): Promise<string[]> => {
    const r = await control("GET", `/conversations/${encodeURIComponent(u.conversationId)}/messages`);
    return ((r.json["messages"] ?? []) as Json[]).filter((m) => m["from"] === "bot").map((m) => JSON.stringify(m["activity"] ?? null));
  };
  const send = async (body: Json): Promise<string> => {
    const r = await api("POST", "/v1/notifications", body);
    expect(r.status, JSON.stringify(r.json)).toBe(202);
    return r.json["id"] as string;
  };
  const rows = async (id: string): Promise<Json[]> => (await api("GET", `/v1/notifications/${id}/deliveries`)).json["items"] as Json[];
  const rowsWhen = (what: string, id: string, ok: (rows: Json[]) => boolean) =>
    eventually(what, async () => {
      const r = await rows(id);
      return ok(r) ? r : undefined;
    });
  const rowOf = (list: Json[], u: User): Json => {
    const r = list.find((x) => x["targetId"] === u.id || x["conversationId"] === u.conversationId);
    if (!r) throw new Error(`no row for ${u.name}`);
    return r;
  };
  const prefs = async (u: User): Promise<Json> =>
    (await api("GET", `/v1/users/${encodeURIComponent(u.id)}/preferences?tenantId=${tenantId}`)).json;
  const toUsers = (...list: User[]) => ({ users: list.map((u) => u.id), tenantId });

  beforeAll(async () => {
    clock.jump("2027-03-01T12:00:00Z");
    stack = await startClockedStack(await stores.open(), clock, { HERALD_FREQUENCY_CAP: "3/day", HERALD_CATEGORIES: "news,alerts" });
    users = (await control("GET", "/users?limit=50")).json["users"] as User[];
    tenantId = users[0]?.tenantId ?? "";
    expect((await control("POST", "/install", { all: true, wait: true })).status).toBeLessThan(300);
    await eventually("every chat stored", async () => {
      const r = await api("GET", "/v1/conversations?kind=personal&limit=100");
      return (r.json["items"] as Json[]).length === people.length ? true : undefined;
    });
    await stack.herald.handler.drain();
  });
  afterAll(() => stack?.close());

  it("refuses bad input with 400 naming the field", async () => {
    const ada = user("Ada London");
    const message = { text: "x" };
    const cases: [string, string, unknown, string][] = [
      ["PUT", `/v1/tenants/${tenantId}`, { quietHours: { start: "25:00", end: "07:00" } }, "quietHours.start"],
      ["PUT", `/v1/tenants/${tenantId}`, { quietHours: { start: "07:00", end: "07:00" } }, "quietHours.end"],
      ["PUT", `/v1/tenants/${tenantId}`, { timeZone: "Mars/Olympus_Mons" }, "timeZone"],
      ["PUT", `/v1/tenants/${tenantId}`, { workingDays: ["mon", "funday"] }, "workingDays.1"],
      ["PUT", `/v1/tenants/${tenantId}`, { workingDays: [] }, "workingDays"],
      ["PUT", `/v1/users/${ada.id}/preferences`, { tenantId, categories: { sports: false } }, "categories.sports"],
      ["PUT", `/v1/users/${ada.id}/preferences`, { categories: { news: false } }, "tenantId"],
      ["PUT", `/v1/users/${ada.id}/preferences`, { tenantId, optedOut: "yes" }, "optedOut"],
      ["GET", `/v1/users/${ada.id}/preferences`, undefined, "tenantId"],
      ["POST", "/v1/notifications", { audience: toUsers(ada), message, priority: "high" }, "priority"],
      ["POST", "/v1/notifications", { audience: toUsers(ada), message, footer: "no" }, "footer"],
      ["POST", "/v1/notifications", { audience: toUsers(ada), message, category: "sports" }, "category"],
      // Review fuzz: wrong shapes anywhere in the bodies answer 400 too, never 500.
      ["PUT", `/v1/users/${ada.id}/preferences`, { tenantId, categories: [] }, "categories"],
      ["PUT", `/v1/users/${ada.id}/preferences`, { tenantId, categories: { ["x".repeat(101)]: false } }, "categories"],
      ["PUT", `/v1/users/${ada.id}/preferences`, { tenantId: 5, optedOut: true }, "tenantId"],
      ["PUT", `/v1/users/${ada.id}/preferences`, { tenantId, optedOut: true, extra: 1 }, "extra"],
      ["PUT", `/v1/tenants/${tenantId}`, { quietHours: { start: "07:00" } }, "quietHours.end"],
      ["PUT", `/v1/tenants/${tenantId}`, { timeZone: 5 }, "timeZone"],
      ["GET", "/v1/reports/opt-outs?cursor=bogus", undefined, "cursor"],
      ["GET", "/v1/reports/opt-outs?format=csv&cursor=bogus", undefined, "cursor"],
      // A NUL in the URL (PostgreSQL stores none: a 500 before), in a path id or a query parameter.
      ["GET", "/v1/tenants/t%00x", undefined, "path contains a NUL"],
      ["PUT", "/v1/tenants/t%00x", { timeZone: "UTC" }, "path contains a NUL"],
      ["POST", "/v1/tenants/t%00x/resume", undefined, "path contains a NUL"],
      ["GET", `/v1/users/${ada.id}%00/preferences?tenantId=${tenantId}`, undefined, "path contains a NUL"],
      ["GET", "/v1/reports/opt-outs?tenantId=t%00x", undefined, "query contains a NUL"],
      ["GET", "/v1/notifications/n%00x", undefined, "path contains a NUL"],
      ["PUT", "/v1/tenants/%20%20", { timeZone: "UTC" }, "tenant id in the path"],
      ["GET", `/v1/tenants/${"t".repeat(201)}`, undefined, "tenant id in the path"],
    ];
    for (const [method, path, body, field] of cases) {
      const r = await api(method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(String((r.json["error"] as Json)["message"])).toContain(field);
    }
    // A key limited to another tenant may neither read nor change this tenant's preferences or settings.
    const other = await api("POST", "/v1/keys", { name: "other tenant", scopes: ["admin"], tenants: ["another-tenant"] });
    expect(other.status).toBe(201);
    const asOther = (method: string, path: string, body?: unknown) =>
      call(method, `${stack.heraldUrl}${path}`, body, other.json["key"] as string);
    expect((await asOther("GET", `/v1/users/${ada.id}/preferences?tenantId=${tenantId}`)).status).toBe(403);
    expect((await asOther("PUT", `/v1/users/${ada.id}/preferences`, { tenantId, optedOut: true })).status).toBe(403);
    expect((await asOther("PUT", `/v1/tenants/${tenantId}`, { timeZone: "UTC" })).status).toBe(403);
    expect((await asOther("GET", `/v1/reports/opt-outs?tenantId=${tenantId}`)).status).toBe(403);
    // Nothing was stored by the refused requests.
    expect((await api("GET", `/v1/tenants/${tenantId}`)).json).toMatchObject({ quietHours: null, workingDays: null, timeZone: null });
    expect((await prefs(ada)).categories).toEqual({ news: true, alerts: true });
  });

  it("opts out and back in by command, by the preferences card and through the API; the report counts who is out", async () => {
    clock.jump("2027-03-02T12:00:00Z");
    const eve = user("Eve Commands");
    // Command: stop <category>.
    await control("POST", "/messages", { from: eve.id, text: "stop news" });
    await eventually("Eve out of news", async () => ((await prefs(eve)).categories.news === false ? true : undefined));
    await eventually("Eve told", async () => ((await botTexts(eve)).some((t) => t.includes("won't receive news")) ? true : undefined));
    const skipped = await send({ audience: toUsers(eve), message: { text: "News one" }, category: "news" });
    expect(rowOf(await rowsWhen("news row final", skipped, (r) => r[0]?.status !== "pending"), eve).status).toBe("optedOut");
    await control("POST", "/messages", { from: eve.id, text: "start news" });
    await eventually("Eve back in news", async () => ((await prefs(eve)).categories.news === true ? true : undefined));
    const delivered = await send({ audience: toUsers(eve), message: { text: "News two" }, category: "news" });
    expect(rowOf(await rowsWhen("news row final", delivered, (r) => r[0]?.status !== "pending"), eve).status).toBe("sent");

    // Card: `settings` shows toggles; Action.Execute saves them.
    const fay = user("Fay Card");
    await control("POST", "/messages", { from: fay.id, text: "settings" });
    const card = await eventually("preferences card shown", async () => {
      const r = await control("GET", `/conversations/${encodeURIComponent(fay.conversationId)}/messages`);
      return ((r.json["messages"] ?? []) as Json[]).find((m) => JSON.stringify(m["activity"]).includes("herald.preferences.save"));
    });
    expect(JSON.stringify(card["activity"])).toContain("category:alerts");
    const save = (data: Json) => control("POST", "/invoke", { from: fay.id, replyToId: card["id"], verb: "herald.preferences.save", data });
    const saved = await save({ all: "true", "category:alerts": "false", "category:news": "true" });
    expect(saved.json["status"]).toBe(200);
    expect(JSON.stringify(saved.json["body"])).toContain("Saved");
    expect((await prefs(fay)).categories).toEqual({ news: true, alerts: false });

    // API: Bob out of everything.
    const bob = user("Bob NewYork");
    const put = await api("PUT", `/v1/users/${encodeURIComponent(bob.id)}/preferences`, { tenantId, optedOut: true });
    expect(put.status).toBe(200);
    expect(put.json["optedOut"]).toBe(true);
    const none = await send({ audience: toUsers(bob, fay), message: { text: "Alert one" }, category: "alerts" });
    const noneRows = await rowsWhen("both rows final", none, (r) => r.every((x) => x["status"] !== "pending"));
    expect(rowOf(noneRows, bob).status).toBe("optedOut");
    expect(rowOf(noneRows, fay).status).toBe("optedOut");

    // The report: Bob out of everything, Fay out of alerts.
    const report = await api("GET", `/v1/reports/opt-outs?tenantId=${tenantId}`);
    expect(report.status).toBe(200);
    expect(report.json["counts"]).toHaveLength(2);
    expect(report.json["counts"]).toContainEqual({ tenantId, category: "*", count: 1 });
    expect(report.json["counts"]).toContainEqual({ tenantId, category: "alerts", count: 1 });
    expect((report.json["items"] as Json[]).map((i) => i["userId"]).sort()).toEqual([bob.id, fay.id].sort());
    const csv = await fetch(`${stack.heraldUrl}/v1/reports/opt-outs?format=csv`, { headers: { authorization: `Bearer ${STACK_API_KEY}` } });
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toBe("tenantId,userId,optedOut,categories,updatedAt");
    expect(lines).toHaveLength(3);

    // Back in: the card for Fay, the API for Bob.
    await save({ all: "true", "category:alerts": "true", "category:news": "true" });
    expect((await prefs(fay)).categories).toEqual({ news: true, alerts: true });
    expect((await api("PUT", `/v1/users/${encodeURIComponent(bob.id)}/preferences?tenantId=${tenantId}`, { optedOut: false })).status).toBe(
      200,
    );
    expect((await prefs(bob)).optedOut).toBe(false);
    expect((await api("GET", "/v1/reports/opt-outs")).json["counts"]).toEqual([]);
    const back = await send({ audience: toUsers(bob, fay), message: { text: "Alert two" }, category: "alerts" });
    const backRows = await rowsWhen("both sent", back, (r) => r.every((x) => x["status"] !== "pending"));
    expect(backRows.map((r) => r["status"])).toEqual(["sent", "sent"]);
  });

  it("ends broadcasts with how to stop them; footer:false removes it, footer:true adds it with the category", async () => {
    clock.jump("2027-03-02T18:00:00Z");
    const ada = user("Ada London");
    const chie = user("Chie Tokyo");
    const done = (id: string) => rowsWhen("all sent", id, (r) => r.length > 0 && r.every((x) => x["status"] === "sent"));
    await done(await send({ audience: { all: true, tenantId }, message: { text: "All hands at noon" } }));
    await done(await send({ audience: { all: true, tenantId }, message: { text: "Quiet broadcast" }, footer: false }));
    await done(await send({ audience: toUsers(chie), message: { text: "Direct plain" } }));
    await done(await send({ audience: toUsers(ada), message: { text: "Direct news" }, category: "news", footer: true }));
    const ofText = (texts: string[], start: string) => texts.find((t) => t.includes(start)) ?? "";
    const adaTexts = await botTexts(ada);
    expect(ofText(adaTexts, "All hands at noon")).toContain("To stop these notifications, type stop");
    expect(ofText(adaTexts, "Quiet broadcast")).not.toContain("To stop");
    expect(ofText(adaTexts, "Direct news")).toContain("To stop news notifications, type stop news");
    expect(ofText(await botTexts(chie), "Direct plain")).not.toContain("To stop");
  });

  it("holds non-urgent messages in quiet hours and off working days in each person's zone, then sends them; urgent passes", async () => {
    clock.jump("2027-03-03T19:30:00Z"); // Wednesday: 19:30 London, 14:30 New York, Thursday 04:30 Tokyo
    const [ada, bob, chie] = [user("Ada London"), user("Bob NewYork"), user("Chie Tokyo")];
    const settings = { timeZone: "UTC", quietHours: { start: "20:00", end: "08:00" }, workingDays: ["mon", "tue", "wed", "thu", "fri"] };
    const put = await api("PUT", `/v1/tenants/${tenantId}`, settings);
    expect(put.status).toBe(200);
    expect((await api("GET", `/v1/tenants/${tenantId}`)).json).toMatchObject({ tenantId, ...settings });
    expect(await tenantTimeZone(stack.herald.store)(tenantId)).toBe("UTC");

    const id = await send({ audience: toUsers(ada, bob, chie), message: { text: "Quarterly results" } });
    const held = await rowsWhen(
      "Ada and Bob sent, Chie held",
      id,
      (r) => r.filter((x) => x["status"] === "sent").length === 2 && r.some((x) => x["heldReason"]),
    );
    expect(rowOf(held, chie)).toMatchObject({ status: "pending", heldUntil: "2027-03-03T23:00:00.000Z", heldReason: "quietHours" });
    expect(rowOf(held, ada)).toMatchObject({ status: "sent", heldUntil: null });
    const csv = await fetch(`${stack.heraldUrl}/v1/notifications/${id}/deliveries?format=csv`, {
      headers: { authorization: `Bearer ${STACK_API_KEY}` },
    });
    const text = await csv.text();
    expect(text.split("\r\n")[0]).toContain("heldUntil,heldReason");
    expect(text).toContain("2027-03-03T23:00:00.000Z,quietHours");
    expect((await botTexts(chie)).some((t) => t.includes("Quarterly results"))).toBe(false);

    const urgent = await send({ audience: toUsers(chie), message: { text: "Server down" }, priority: "urgent" });
    expect(rowOf(await rowsWhen("urgent sent", urgent, (r) => r[0]?.status === "sent"), chie).heldUntil).toBeNull();
    expect((await stack.herald.engine.get(urgent))?.priority).toBe("urgent");

    clock.jump("2027-03-03T23:00:01Z"); // 08:00:01 in Tokyo
    await rowsWhen("Chie's held row sent", id, (r) => r.every((x) => x["status"] === "sent"));
    expect((await botTexts(chie)).some((t) => t.includes("Quarterly results"))).toBe(true);

    clock.jump("2027-03-05T23:30:00Z"); // Friday 23:30 UTC = Saturday 08:30 in Tokyo
    const weekend = await send({ audience: toUsers(chie), message: { text: "Weekend memo" } });
    const wait = await rowsWhen("held for Monday", weekend, (r) => r[0]?.heldReason !== null && r[0]?.heldReason !== undefined);
    expect(rowOf(wait, chie)).toMatchObject({ status: "pending", heldUntil: "2027-03-07T23:00:00.000Z", heldReason: "workingDays" });
    clock.jump("2027-03-07T23:00:01Z"); // Monday 08:00:01 in Tokyo
    await rowsWhen("sent on Monday", weekend, (r) => r[0]?.status === "sent");
  });

  it("a held message to a person who opts out meanwhile ends optedOut, not sent", async () => {
    clock.jump("2027-03-08T21:00:00Z"); // Monday 21:00 in London: quiet hours (set by the test above)
    const ada = user("Ada London");
    const id = await send({ audience: toUsers(ada), message: { text: "Evening digest" } });
    const held = await rowsWhen("held", id, (r) => r[0]?.heldReason === "quietHours");
    expect(held[0]?.heldUntil).toBe("2027-03-09T08:00:00.000Z");
    await control("POST", "/messages", { from: ada.id, text: "stop" });
    await eventually("Ada out", async () => ((await prefs(ada)).optedOut === true ? true : undefined));
    clock.jump("2027-03-09T08:00:01Z");
    const ended = await rowsWhen("row final", id, (r) => r[0]?.status !== "pending");
    expect(ended[0]?.status).toBe("optedOut");
    await eventually("notification completed", async () =>
      (await api("GET", `/v1/notifications/${id}`)).json["status"] === "completed" ? true : undefined,
    );
    expect((await botTexts(ada)).some((t) => t.includes("Evening digest"))).toBe(false);
    await control("POST", "/messages", { from: ada.id, text: "start" });
    await eventually("Ada back", async () => ((await prefs(ada)).optedOut === false ? true : undefined));
  });

  it("holds a person's messages over HERALD_FREQUENCY_CAP until the window allows one more; urgent passes", async () => {
    clock.jump("2027-03-10T09:00:00Z");
    expect((await api("PUT", `/v1/tenants/${tenantId}`, { quietHours: null, workingDays: null })).status).toBe(200);
    const dan = user("Dan Capped");
    const sentAt: number[] = [];
    for (const n of [1, 2, 3]) {
      const id = await send({ audience: toUsers(dan), message: { text: `Update ${n}` } });
      const r = await rowsWhen(`update ${n} sent`, id, (x) => x[0]?.status === "sent");
      sentAt.push(Date.parse(String(r[0]?.sentAt)));
    }
    const fourth = await send({ audience: toUsers(dan), message: { text: "Update 4" } });
    const held = await rowsWhen("fourth held", fourth, (r) => r[0]?.heldReason === "frequencyCap");
    const until = Date.parse(String(held[0]?.heldUntil));
    expect(held[0]?.status).toBe("pending");
    // The first of the three counted sends leaves the 24 h window (counted at claim, just before sentAt).
    expect(Math.abs(until - ((sentAt[0] ?? 0) + 86_400_000))).toBeLessThan(5_000);

    const urgent = await send({ audience: toUsers(dan), message: { text: "Urgent update" }, priority: "urgent" });
    await rowsWhen("urgent sent", urgent, (r) => r[0]?.status === "sent");
    expect((await rows(fourth))[0]?.status).toBe("pending");

    clock.jump(new Date(until + 1_000).toISOString());
    await rowsWhen("fourth sent once the window allows", fourth, (r) => r[0]?.status === "sent");
    expect((await botTexts(dan)).filter((t) => t.includes("Update 4"))).toHaveLength(1);
  });
});
