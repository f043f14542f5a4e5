import { afterAll, beforeAll, expect, it } from "vitest";
import { type ExpansionDeps, runExpansion } from "../../src/delivery/audience/stream.js";
import { defaultDeliveryConfig } from "../../src/delivery/config.js";
import type { Notification } from "../../src/delivery/model.js";
import { compareCodePoints } from "../../src/store/kysely/recipients.js";
import type { Store } from "../../src/store/ports.js";
import { insertChats, runSql } from "../helpers/bulk-chats.js";
import { forEachStore, rawRows, type StoreFactory } from "../helpers/stores.js";

/**
 * The walk by id of an `all` audience writes its windows' rows in the database
 * (src/store/kysely/chat-window.ts): a row the database builds must be the row the code builds
 * (`conversationRow`, `newDeliveryRow`) for the same chat, column for column. Two notifications
 * expand the same chats: one through the windows, one through the pages (a notification with a
 * local-time schedule reads pages; its placement is left out here, so the rows are comparable).
 * The chats cover what the rows depend on: a user with and without a name, locale or time zone,
 * a chat naming no user, opt-outs of everything and of the category in another letter case, a
 * user who opted back in, blocked chats due and not due for a retry, an uninstalled chat, a
 * channel, another tenant, ids a collation would order otherwise. Every column of every row is
 * compared, and the notifications' counters and tenants.
 */
forEachStore((stores) => {
  let store: Store;
  const t0 = Date.parse("2026-12-01T09:00:00.000Z");
  const now = t0 + 3 * 86_400_000;
  const tenantId = "tenant-window";

  beforeAll(async () => {
    store = await stores.open();
    const base = { kind: "personal" as const, serviceUrl: "http://127.0.0.1:1/", channelId: "msteams", bot: { id: "28:bot" } };
    for (let i = 0; i < 40; i++) {
      const id = i % 5 === 0 ? `A:win-${i}` : i % 5 === 1 ? `é:win-${i}` : `a:win-${String(i).padStart(2, "0")}`;
      await store.conversations.upsert({
        ...base,
        id,
        tenantId: i === 39 ? "tenant-other" : tenantId,
        // Chat 24 names no user (but has a locale and a time zone); chat 4 a user without a name.
        user: i === 24 ? undefined : i === 4 ? { id: `29:u-${i}` } : { id: `29:u-${i}`, name: `User ${i}`, aadObjectId: `aad-${i}` },
        locale: i % 3 === 0 ? "fr-FR" : undefined,
        timezone: i % 4 === 0 ? "Europe/Paris" : undefined,
        at: new Date(t0 + i * 1000).toISOString(),
        status: i === 7 || i === 8 ? "blocked" : i === 9 ? "uninstalled" : "active",
      });
    }
    await store.conversations.upsert({
      ...base,
      id: "19:channel@thread.tacv2",
      kind: "channel",
      tenantId,
      team: { id: "19:team@thread.tacv2" },
      at: new Date(t0).toISOString(),
    });
    const at = new Date(t0).toISOString();
    await store.preferences.setOptedOut(tenantId, "29:u-10", true, at);
    await store.preferences.setOptedOutCategories(tenantId, "29:u-11", ["NEWS", "Other"], at);
    await store.preferences.setOptedOutCategories(tenantId, "29:u-12", ["Other"], at);
    await store.preferences.setOptedOut(tenantId, "29:u-13", true, at);
    await store.preferences.setOptedOut(tenantId, "29:u-13", false, at);
    await store.preferences.setOptedOut("tenant-other", "29:u-39", true, at);
    await blocked(stores);
  });
  afterAll(() => stores.cleanup());

  let windows = 0;

  /**
   * Expand a notification to `audience` by windows or by pages, scheduled an hour after `now` (so
   * that a row's due time and its update time differ); `afterFirstRead` runs once the first
   * window or page has been read, before it is written.
   */
  async function expand(
    id: string,
    audience: Notification["audience"],
    byPages: boolean,
    afterFirstRead?: () => Promise<void>,
  ): Promise<Notification> {
    const d = store.deliveries;
    const { notification } = await d.createNotification(
      {
        id,
        createdBy: "k",
        requestHash: "h",
        audience,
        message: { text: "x" },
        category: "news",
        createdAt: now,
        scheduledAt: now + 3_600_000,
        expansionDone: false,
      },
      [],
    );
    const claimed = await d.claimExpansion(notification.id, "w", now);
    let reads = 0;
    const directory = new Proxy(store.recipients, {
      get(target, key, receiver) {
        if (key === "personalWindow") windows++;
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== "function") return value;
        if (key !== "personalWindow" && key !== "personalPageById") return value.bind(target);
        return async (...args: unknown[]) => {
          const answer = await value.apply(target, args);
          if (++reads === 1) await afterFirstRead?.();
          return answer;
        };
      },
    });
    const deps = {
      store: d,
      directory,
      config: { ...defaultDeliveryConfig, expansionPage: 7, blockedRetryMs: 86_400_000 },
      clock: { now: () => now },
      owner: "w",
      announce: () => {},
      signal: new AbortController().signal,
      logger: { warn() {}, info() {}, debug() {}, error() {} },
      placeRows: async (_n: Notification, rows: unknown[]) => rows,
    } as unknown as ExpansionDeps;
    await runExpansion(byPages ? { ...notification, schedule: { localTime: "09:00" } } : notification, claimed?.cursor, deps);
    const done = await d.getNotification(notification.id);
    expect(done?.expansionDone).toBe(true);
    return done as Notification;
  }

  /** Every column of the notification's rows but its own id and the row's seq, by recipient key. */
  async function rowsOf(id: string): Promise<Record<string, unknown>[]> {
    const rows = await rawRows(stores, "deliveries", "notification_id", id);
    const seqs = rows.map((r) => Number(r["seq"]));
    expect(new Set(seqs).size, "each row its own seq").toBe(seqs.length);
    return rows
      .map(({ notification_id: _, seq: __, ...rest }) => rest)
      .sort((a, b) => String(a["recipient_key"]).localeCompare(String(b["recipient_key"])));
  }

  for (const [name, audience] of [
    ["every tenant", { all: true }],
    ["one tenant", { all: true, tenantId }],
  ] as const) {
    it(`${name}: the windows write the rows the pages write, column for column`, async () => {
      const key = name.replace(" ", "-");
      windows = 0;
      const pages = await expand(`n_pages-${key}`, audience, true);
      expect(windows, "a notification with a local-time schedule reads pages").toBe(0);
      await blocked(stores);
      const windowed = await expand(`n_windows-${key}`, audience, false);
      // 7 chats a window: the 39 (or 38) chats but the uninstalled one in 6 windows, the last short.
      expect(windows).toBe(6);
      const expected = await rowsOf(pages.id);
      // 40 chats but the uninstalled one and the blocked one not due (and chat 39 in another tenant).
      expect(expected.length).toBe(name === "every tenant" ? 38 : 37);
      expect(expected.filter((r) => r["status"] === "optedOut").map((r) => r["recipient_key"])).toEqual(
        name === "every tenant" ? ["conv:A:win-10", "conv:a:win-39", "conv:é:win-11"] : ["conv:A:win-10", "conv:é:win-11"],
      );
      expect(expected.find((r) => r["recipient_key"] === "conv:a:win-07")).toMatchObject({
        status: "pending",
        retry_blocked: expect.anything(),
      });
      expect(await rowsOf(windowed.id)).toEqual(expected);
      // Each window's statement numbers its chats from where the last ended: a seq is skipped only
      // for a chat whose row was built in code (the statement's row conflicts with it), never a
      // window's worth. The rows the database wrote are numbered in conversation-id order.
      const written = (await rawRows(stores, "deliveries", "notification_id", windowed.id)).sort(
        (a, b) => Number(a["seq"]) - Number(b["seq"]),
      );
      const decided = new Set(["a:win-07", "A:win-10", "é:win-11", "a:win-12", "a:win-39"]);
      const skipped = Number(written.at(-1)?.["seq"]) + 1 - written.length;
      expect(skipped).toBeLessThanOrEqual(decided.size);
      const byDatabase = written.map((r) => String(r["conversation_id"])).filter((id) => !decided.has(id));
      expect(byDatabase).toEqual([...byDatabase].sort(compareCodePoints));
      const counters = ({ total, counts }: Notification) => ({ total, counts });
      expect(counters(windowed)).toEqual(counters(pages));
      const tenants = async (id: string) =>
        (await rawRows(stores, "notification_tenants", "notification_id", id)).map((r) => r["tenant_id"]).sort();
      expect(await tenants(windowed.id)).toEqual(await tenants(pages.id));
      // The next page after the expansion would start past every row written.
      const [head] = await rawRows(stores, "notifications", "id", windowed.id);
      const seqs = (await rawRows(stores, "deliveries", "notification_id", windowed.id)).map((r) => Number(r["seq"]));
      expect(Number(head?.["next_seq"])).toBeGreaterThan(Math.max(...seqs));
      await blocked(stores);
    });
  }

  it("a chat or a user that changes between a window's read and its write: no message to an opted-out user, none lost", async () => {
    const tenant = "tenant-race";
    const base = {
      kind: "personal" as const,
      tenantId: tenant,
      serviceUrl: "http://127.0.0.1:1/",
      channelId: "msteams",
      bot: { id: "28:bot" },
    };
    const chat = (i: number, status: "active" | "blocked") => ({
      ...base,
      id: `r:${i}`,
      user: { id: `29:r-${i}`, name: `R ${i}` },
      at: new Date(now - 3_600_000).toISOString(),
      status,
    });
    // r:3 blocked an hour ago (not due for a retry), its user opted out long ago.
    for (let i = 0; i < 10; i++) await store.conversations.upsert(chat(i, i === 3 ? "blocked" : "active"));
    // More than 1,000 chats stored after them: the walk by seq, which re-reads the last 1,000 before
    // the walk by id's end (stream.ts, seqOverlap), does not read these again. What a window does
    // not write here stays unwritten.
    await insertChats(stores, 1_100, { prefix: "later:", tenant: "tenant-later" });
    const at = new Date(t0).toISOString();
    await store.preferences.setOptedOut(tenant, "29:r-3", true, at);
    const x = await expand("n_race", { all: true, tenantId: tenant }, false, async () => {
      // Between the first window's read and its write: r:3 unblocks the bot, r:5's user opts out
      // of everything, r:6's of another category than the notification's.
      await store.conversations.upsert(chat(3, "active"));
      await store.preferences.setOptedOut(tenant, "29:r-5", true, at);
      await store.preferences.setOptedOutCategories(tenant, "29:r-6", ["marketing"], at);
    });
    // Every chat has its row; the claim sends to everyone but the two users who opted out.
    const d = store.deliveries;
    const jobs = await d.claim("w", x.id, tenant, now + 7_200_000, 100);
    expect(jobs.map((j) => j.conversationId).sort()).toEqual(["r:0", "r:1", "r:2", "r:4", "r:6", "r:7", "r:8", "r:9"]);
    const rows = await rawRows(stores, "deliveries", "notification_id", x.id);
    const statusOf = (id: string) => rows.filter((r) => r["conversation_id"] === id).map((r) => r["status"]);
    expect([statusOf("r:3"), statusOf("r:5")]).toEqual([["optedOut"], ["optedOut"]]);
    expect((await d.getNotification(x.id))?.counts).toMatchObject({ pending: 8, optedOut: 2 });
  });
});

/**
 * The blocked chats as the test needs them whichever ran before: chat 7 blocked two days before
 * the test's clock and never retried (due at a one-day interval), chat 8 blocked an hour before it.
 */
async function blocked(stores: StoreFactory): Promise<void> {
  await runSql(
    stores,
    [
      ["a:win-07", "2026-12-02T09:00:00.000Z"],
      ["a:win-08", "2026-12-04T08:00:00.000Z"],
    ].map(([id, when]) => `update conversations set status_changed_at = '${when}', blocked_retry_at = null where id = '${id}'`),
  );
}
