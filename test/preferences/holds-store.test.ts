import type { Kysely, KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs } from "kysely";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { NewDelivery, Notification } from "../../src/delivery/model.js";
import type { DeliveryStore } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Claim-time holds at the store, on SQLite and PostgreSQL: the number of statements a claim
 * issues does not grow with the number of people held (review of issue 11's preferences).
 */

/** Counts every statement compiled through the Kysely instance it is plugged into. */
class StatementCounter implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs) {
    this.count++;
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs) {
    return args.result;
  }
}

forEachStore((stores) => {
  let store: Store;
  let d: DeliveryStore;
  let n = 0;
  const day = 86_400_000;
  const t0 = Date.parse("2027-03-10T09:00:00.000Z");

  beforeAll(async () => {
    store = await stores.open();
    d = store.deliveries;
    d.configureHolds?.({ frequencyCap: { count: 1, windowMs: day } });
  });
  afterAll(async () => {
    await stores.cleanup();
  });

  /** `count` people of `tenantId`, user ids 29:<prefix>0, 29:<prefix>1... */
  const people = (count: number, tenantId = "t1", prefix = "p"): NewDelivery[] =>
    Array.from({ length: count }, (_, i) => ({
      recipientKey: `user:${tenantId}:29:${prefix}${i}`,
      kind: "user",
      tenantId,
      targetId: `29:${prefix}${i}`,
      serviceUrl: "https://smba.example/",
      user: { id: `29:${prefix}${i}` },
      status: "pending",
    }));
  /** A notification (its own id) with `rows`, its audience by default the rows' users in the first row's tenant. */
  const create = async (
    rows: NewDelivery[],
    audience: Notification["audience"] = { users: rows.map((r) => r.targetId ?? ""), tenantId: rows[0]?.tenantId ?? "" },
  ): Promise<Notification> => {
    n++;
    const { notification } = await d.createNotification(
      {
        id: `n_holds${String(n).padStart(4, "0")}`,
        createdBy: "k",
        requestHash: "h",
        audience,
        message: { text: "x" },
        createdAt: t0,
        expansionDone: true,
      },
      rows,
    );
    return notification;
  };

  it("holds 40 capped people, each until their own time, in a bounded number of statements (per batch, not per row)", async () => {
    const size = 40;
    // Each person got one message, a minute apart: each is released at a different time.
    const first = await create(people(size));
    for (let i = 0; i < size; i++) {
      const jobs = await d.claim("w1", first.id, "t1", t0 + i * 60_000, 1);
      expect(jobs).toHaveLength(1);
    }
    const second = await create(people(size));
    // The store's Kysely instance is private: count the statements of one claim through a plugin.
    const inner = d as unknown as { db: Kysely<unknown> };
    const original = inner.db;
    const counter = new StatementCounter();
    inner.db = original.withPlugin(counter);
    let jobs: unknown[];
    try {
      jobs = await d.claim("w1", second.id, "t1", t0 + size * 60_000, size);
    } finally {
      inner.db = original;
    }
    expect(jobs).toEqual([]);
    const held = await d.listDeliveries(second.id, {}, { limit: 100 });
    expect(held.items.every((r) => r.heldReason === "frequencyCap")).toBe(true);
    expect(new Set(held.items.map((r) => r.heldUntil)).size).toBe(size);
    for (const [i, r] of held.items.entries()) expect(r.heldUntil).toBe(new Date(t0 + i * 60_000 + day).toISOString());
    // Claim, notification info, preferences, the cap's delete/select(/locks), the holds: not 2 per person.
    expect(counter.count).toBeLessThanOrEqual(10);
    // The held rows are claimable again at their own time, one by one.
    const again = await d.claim("w1", second.id, "t1", t0 + day, size);
    expect(again.map((j) => j.seq)).toEqual([0]);
  });

  it("a person's zone Teams reported that no IANA zone names falls back to the tenant's zone, not UTC", async () => {
    // Tokyo tenant, quiet 20:00-08:00. 2027-03-11T12:00Z is 21:00 in Tokyo (quiet), 12:00 UTC (not).
    await store.preferences.putTenantSettings({
      tenantId: "t2",
      timeZone: "Asia/Tokyo",
      quietHours: { start: "20:00", end: "08:00" },
      updatedAt: new Date(t0).toISOString(),
    });
    const at = new Date(t0).toISOString();
    const chat = async (i: number, timezone: string) =>
      store.conversations.upsert({
        id: `a:zone${i}`,
        kind: "personal",
        tenantId: "t2",
        serviceUrl: "https://smba.example/",
        channelId: "msteams",
        bot: { id: "28:bot" },
        user: { id: `29:z${i}` },
        timezone,
        at,
      });
    await chat(0, "Asia/Tokyo");
    await chat(1, "Not/AZone");
    const rows: NewDelivery[] = [0, 1].map((i) => ({
      recipientKey: `conv:a:zone${i}`,
      kind: "conversation",
      tenantId: "t2",
      conversationId: `a:zone${i}`,
      serviceUrl: "https://smba.example/",
      user: { id: `29:z${i}` },
      status: "pending",
    }));
    const notification = await create(rows, { conversations: ["a:zone0", "a:zone1"] });
    // Only quiet hours are under test: no frequency cap for this claim.
    d.configureHolds?.({});
    const jobs = await d.claim("w1", notification.id, "t2", Date.parse("2027-03-11T12:00:00.000Z"), 10);
    d.configureHolds?.({ frequencyCap: { count: 1, windowMs: day } });
    expect(jobs).toEqual([]);
    const held = await d.listDeliveries(notification.id, {}, { limit: 10 });
    expect(held.items.map((r) => [r.heldReason, r.heldUntil])).toEqual([
      ["quietHours", "2027-03-11T23:00:00.000Z"],
      ["quietHours", "2027-03-11T23:00:00.000Z"],
    ]);
  });

  it("a scheduled send to a person known only by Entra id who opted out since ends optedOut at claim", async () => {
    const aad = "8c5f2b1e-1d2c-4a5b-9e8f-0a1b2c3d4e5f";
    const row: NewDelivery = {
      recipientKey: `user:t3:${aad}`,
      kind: "user",
      tenantId: "t3",
      targetId: aad,
      serviceUrl: "https://smba.example/",
      user: { aadObjectId: aad },
      status: "pending",
    };
    const notification = await create([row]);
    // PUT /v1/users/{entra id}/preferences keeps the choice under the Entra id while no chat exists.
    await store.preferences.setOptedOut("t3", aad, true, new Date(t0).toISOString());
    const jobs = await d.claim("w1", notification.id, "t3", t0 + 1_000, 10);
    expect(jobs).toEqual([]);
    const after = await d.listDeliveries(notification.id, {}, { limit: 10 });
    expect(after.items.map((r) => r.status)).toEqual(["optedOut"]);
    expect((await d.getNotification(notification.id))?.status).toBe("completed");
  });

  it("a counted send recalled before it went out no longer counts against the frequency cap", async () => {
    const make = () => create(people(1, "t4", "r"));
    const recalled = await make();
    expect(await d.claim("w1", recalled.id, "t4", t0 + 1_000, 10)).toHaveLength(1); // counted (cap 1/day)
    await d.requestRecall(recalled.id, t0 + 2_000); // canceled before it was sent
    expect((await d.listDeliveries(recalled.id, {}, { limit: 10 })).items[0]?.status).toBe("canceled");
    const next = await make();
    const jobs = await d.claim("w1", next.id, "t4", t0 + 3_000, 10);
    expect(jobs.map((j) => j.seq)).toEqual([0]);
    // And that one counts: a third is held.
    const third = await make();
    expect(await d.claim("w1", third.id, "t4", t0 + 4_000, 10)).toEqual([]);
    expect((await d.listDeliveries(third.id, {}, { limit: 10 })).items[0]?.heldReason).toBe("frequencyCap");
  });

  it("two processes claiming different notifications to one person at once let exactly the cap through", async () => {
    // Two handles on one database: on PostgreSQL two pools (two processes); SQLite is one process's store.
    const other = stores.name === "postgres" ? await stores.open() : store;
    other.deliveries.configureHolds?.({ frequencyCap: { count: 3, windowMs: day } });
    d.configureHolds?.({ frequencyCap: { count: 3, windowMs: day } });
    const ids: string[] = [];
    for (let i = 0; i < 16; i++) ids.push((await create(people(1, "t5", "c"))).id);
    const claims = await Promise.all(
      ids.map((id, i) => (i % 2 === 0 ? d : other.deliveries).claim(`w${i % 2}`, id, "t5", t0 + 10_000, 10)),
    );
    expect(claims.flat()).toHaveLength(3);
    d.configureHolds?.({ frequencyCap: { count: 1, windowMs: day } });
  });
});
