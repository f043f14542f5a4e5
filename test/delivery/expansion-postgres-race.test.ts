import pg from "pg";
import { afterAll, expect, it } from "vitest";
import { type ExpansionDeps, runExpansion } from "../../src/delivery/audience/stream.js";
import { defaultDeliveryConfig } from "../../src/delivery/config.js";
import type { RecipientDirectory } from "../../src/delivery/store/port.js";
import { allDeliveries, createStoreFactory, testPostgresUrl } from "../helpers/stores.js";

/**
 * PostgreSQL takes a chat's seq when its insert begins and shows the row when it commits. The
 * `all` audience walks the chats up to the highest seq it sees (`upTo`) by id, then those after
 * it by seq: a chat whose insert was still uncommitted at the start, with a lower seq than one
 * committed, is past the walk by id if its id sorts behind the walk when it commits. The walk by
 * seq starts a little before `upTo` (stream.ts, `seqOverlap`) to read it. (Found by a review.)
 * A second such chat's user has opted out: it is never sent, also when it commits between a
 * window's read and its write, whose `INSERT … SELECT` then writes it `pending` (as pages did in
 * the same race): the claim ends it `optedOut` (review of 31d1238).
 */
const factory = createStoreFactory("postgres");
afterAll(() => factory.cleanup());
const t0 = Date.parse("2026-12-01T09:00:00.000Z");
const tenantId = "tenant-race";
const chat = (i: number, id: string) => ({
  id,
  kind: "personal" as const,
  tenantId,
  serviceUrl: "http://127.0.0.1:1/",
  channelId: "msteams",
  bot: { id: "28:bot" },
  user: { id: `29:u-${i}`, name: `U${i}`, aadObjectId: `aad-${i}` },
  at: new Date(t0 + i * 1000).toISOString(),
});

it("a chat whose insert commits after the walk by id passed its id gets its row", async () => {
  const store = await factory.open();
  for (let i = 0; i < 20; i++) await store.conversations.upsert(chat(i, `b:chat-${String(i).padStart(2, "0")}`));
  // An inbound upsert in flight: its identity value is taken, its transaction not yet committed.
  const c1 = new pg.Client({ connectionString: testPostgresUrl, options: `-c search_path=${factory.options.schema}` });
  await c1.connect();
  await c1.query("begin");
  const now = new Date(t0).toISOString();
  const ins = await c1.query(
    `insert into conversations (id, kind, tenant_id, service_url, channel_id, bot_id, user_id, last_activity_at, status, created_at, updated_at)
     values ('a:late', 'personal', $1, 'http://127.0.0.1:1/', 'msteams', '28:bot', '29:late', $2, 'active', $2, $2) returning seq`,
    [tenantId, now],
  );
  await store.preferences.setOptedOut(tenantId, "29:late-out", true, now);
  await c1.query(
    `insert into conversations (id, kind, tenant_id, service_url, channel_id, bot_id, user_id, last_activity_at, status, created_at, updated_at)
     values ('a:late-out', 'personal', $1, 'http://127.0.0.1:1/', 'msteams', '28:bot', '29:late-out', $2, 'active', $2, $2)`,
    [tenantId, now],
  );
  // Another chat stored and committed meanwhile (a later identity value).
  await store.conversations.upsert(chat(50, "z:chat-50"));
  const d = store.deliveries;
  const { notification } = await d.createNotification(
    {
      id: "n_race",
      createdBy: "k",
      requestHash: "h",
      audience: { all: true, tenantId },
      message: { text: "x" },
      createdAt: t0,
      expansionDone: false,
    },
    [],
  );
  const claimed = await d.claimExpansion(notification.id, "w", t0);
  let k = 0;
  const r = store.recipients;
  const directory = new Proxy(r, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      // The walk by id's pages, or its windows whose rows the store writes itself.
      if (key !== "personalPageById" && key !== "personalWindow") return value.bind(target);
      return async (...args: unknown[]) => {
        const page = await value.apply(target, args);
        if (++k === 1) await c1.query("commit"); // the in-flight upsert commits after the first page
        return page;
      };
    },
  }) as RecipientDirectory;
  const deps = {
    store: d,
    directory,
    config: { ...defaultDeliveryConfig, expansionPage: 5 },
    clock: { now: () => t0 },
    owner: "w",
    announce: () => {},
    signal: new AbortController().signal,
    logger: { warn() {}, info() {}, debug() {}, error() {} },
  } as unknown as ExpansionDeps;
  await runExpansion(notification, claimed?.cursor, deps);
  await c1.end();
  const rows = (await allDeliveries(store, notification.id)).map((x) => x.conversationId);
  expect(Number(ins.rows[0].seq)).toBeLessThan(Number(await store.recipients.lastSeq()));
  expect((await d.getNotification(notification.id))?.expansionDone).toBe(true);
  expect(rows.filter((id) => id === "a:late")).toHaveLength(1);
  expect(rows).toHaveLength(23);
  const jobs = await d.claim("w", notification.id, tenantId, t0, 100);
  expect(jobs.map((j) => j.conversationId)).toContain("a:late");
  expect(jobs.map((j) => j.conversationId)).not.toContain("a:late-out");
  expect((await allDeliveries(store, notification.id)).filter((x) => x.conversationId === "a:late-out").map((x) => x.status)).toEqual([
    "optedOut",
  ]);
});
