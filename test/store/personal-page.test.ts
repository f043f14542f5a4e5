import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { ConversationStatus } from "../../src/domain/conversation.js";
import { insertWindowRows, nextWindow } from "../../src/store/kysely/chat-window.js";
import { compareCodePoints, type KyselyRecipientDirectory, personalStatuses } from "../../src/store/kysely/recipients.js";
import type { Store } from "../../src/store/ports.js";
import { compileOnly, explain } from "../helpers/query-plan.js";
import { createStoreFactory, storeBackends } from "../helpers/stores.js";

/**
 * A broadcast pages through the stored 1:1 chats: those stored when it began in conversation-id
 * order (`personalPageById`, 022_personal_id_order), then those stored since in insertion order
 * (`personalPage`). Each page must cost what the page holds, not what is left of the table: with
 * `status IN ('active','blocked')` both planners read and sorted every remaining row for every
 * page, and a 1,000,000-chat broadcast on SQLite stopped answering for minutes (quadratic). The
 * plan test reads each status query's plan; the paging tests check the merged pages are exactly
 * the messageable chats, in order, once each, whatever the ids hold. On PostgreSQL the ids get a
 * linguistic collation (ICU en-US, as many databases have by default), so that an order other than
 * code points, in a query or in the merge, shows.
 */
describe.each(storeBackends)("personalPage on %s", (backend) => {
  const factory = createStoreFactory(backend);
  afterAll(() => factory.cleanup());
  let opened: Store | undefined;
  /** The file's store; on PostgreSQL its ids in ICU en-US order ("B" between "a" and "c", "é" beside "e"). */
  async function open(): Promise<Store> {
    if (opened) return opened;
    opened = await factory.open();
    if (backend === "postgres") {
      const client = new pg.Client({ connectionString: factory.databaseUrl });
      await client.connect();
      try {
        await client.query(`alter table "${factory.options.schema}".conversations alter column id type text collate "en-US-x-icu"`);
      } finally {
        await client.end();
      }
    }
    return opened;
  }

  const statuses: ConversationStatus[] = ["active", "blocked", "uninstalled", "active", "active", "blocked", "uninstalled"];

  async function seed(store: Store, tenantId: string, count: number, idOf = (i: number) => `a:${tenantId}-${i}`): Promise<string[]> {
    const expected: string[] = [];
    for (let i = 0; i < count; i++) {
      const status = statuses[i % statuses.length] ?? "active";
      const id = idOf(i);
      await store.conversations.upsert({
        id,
        kind: "personal",
        tenantId,
        serviceUrl: "http://127.0.0.1:1/",
        channelId: "msteams",
        bot: { id: "28:bot" },
        user: { id: `29:${tenantId}-${i}`, name: `User ${i}`, aadObjectId: `aad-${tenantId}-${i}` },
        at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        status,
      });
      if (status === "active" || status === "blocked") expected.push(id);
    }
    return expected.sort(compareCodePoints);
  }

  /**
   * Every page of `tenant`'s chats stored up to `upTo`, `size` at a time, by id. Each page is also
   * asked as a window (`personalWindow`, whose rows the store writes itself): the same size and
   * end, and its blocked chats to decide in code (these users have no preferences).
   */
  async function walk(store: Store, tenant: string | undefined, size: number, upTo = Number.MAX_SAFE_INTEGER): Promise<string[]> {
    const seen: string[] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 500; guard++) {
      const page = await store.recipients.personalPageById(tenant, after, upTo, size);
      const window = await store.recipients.personalWindow(tenant, after, upTo, size);
      expect({ count: window.count, last: window.window?.last, decide: window.decide }).toEqual({
        count: page.items.length,
        last: page.last,
        decide: page.items.filter((r) => r.status === "blocked"),
      });
      expect(page.items.length).toBeLessThanOrEqual(size);
      seen.push(...page.items.map((r) => r.conversationId));
      if (page.items.length < size) break;
      after = page.last;
    }
    return seen;
  }

  it("by id: pages hold every active and blocked chat once, in conversation-id order, whatever the page size", async () => {
    const store = await open();
    const t1 = await seed(store, "tenant-p1", 40);
    const t2 = await seed(store, "tenant-p2", 9);
    // Insertion order is not id order ("…-10" sorts before "…-2"): the pages must follow the ids.
    expect(t1.slice(0, 3)).toEqual(["a:tenant-p1-0", "a:tenant-p1-1", "a:tenant-p1-10"]);
    for (const [tenant, expected] of [
      ["tenant-p1", t1],
      [undefined, [...t1, ...t2].sort(compareCodePoints)],
    ] as const) {
      for (const size of [1, 3, 7, 100]) {
        expect(await walk(store, tenant, size), `tenant ${tenant ?? "(all)"}, page size ${size}`).toEqual(expected);
      }
    }
  });

  it("by id: ids a collation would order otherwise (case, accents, characters past U+FFFF) are each read once", async () => {
    // UTF-16 units put U+1F600 (surrogates 0xD83D…) before U+FFFD; code points and UTF-8 bytes put
    // it after. ICU puts "B" between "a" and "c", and "é" beside "e". A merge in one order over
    // queries in another skips rows at page boundaries.
    const store = await open();
    const tails = ["a", "B", "c", "e", "é", "f", "Z", "\uFFFD", "\u{1F600}", "\uE000", "_", "-", "~", "0", "9", "", " "];
    const expected = await seed(store, "tenant-p3", tails.length * 3, (i) => `a:${tails[i % tails.length]}${Math.floor(i / tails.length)}`);
    for (const size of [1, 2, 3, 5, 100]) expect(await walk(store, "tenant-p3", size), `page size ${size}`).toEqual(expected);
  });

  it("by id: only the chats stored up to `upTo`; the rest, by seq after it, in insertion order", async () => {
    const store = await open();
    const before = await seed(store, "tenant-p4", 14, (i) => `a:p4-${String(99 - i).padStart(2, "0")}`);
    const upTo = await store.recipients.lastSeq();
    const later = await seed(store, "tenant-p4b", 7, (i) => `a:p4-${String(i).padStart(2, "0")}`);
    expect(upTo).toBeGreaterThan(0);
    expect(await walk(store, "tenant-p4", 4, upTo)).toEqual(before);
    expect(await walk(store, "tenant-p4b", 4, upTo)).toEqual([]);
    const page = await store.recipients.personalPage("tenant-p4b", upTo, 100);
    // `seed` sorts what it returns; the seq walk answers in insertion order, which these ids follow.
    expect(page.items.map((r) => r.conversationId)).toEqual(later);
    expect(await store.recipients.lastSeq()).toBeGreaterThan(upTo);
  });

  it("by seq: pages hold every active and blocked chat once, in insertion order", async () => {
    const store = await open();
    const ids = await seed(store, "tenant-p5", 20, (i) => `a:p5-${String(99 - i).padStart(2, "0")}`);
    const inserted = [...ids].reverse();
    for (const size of [1, 3, 7, 100]) {
      const seen: string[] = [];
      let after: number | undefined;
      for (let guard = 0; guard < 200; guard++) {
        const page = await store.recipients.personalPage("tenant-p5", after, size);
        seen.push(...page.items.map((r) => r.conversationId));
        if (page.items.length < size) break;
        after = page.last;
      }
      expect(seen, `page size ${size}`).toEqual(inserted);
    }
  });

  it("the code point order is not the UTF-16 order", () => {
    expect(compareCodePoints("\u{1F600}", "\uFFFD")).toBeGreaterThan(0);
    expect("\u{1F600}" < "\uFFFD").toBe(true);
    expect(compareCodePoints("a", "ab")).toBeLessThan(0);
    expect(compareCodePoints("a\u{1F600}b", "a\u{1F600}c")).toBeLessThan(0);
    expect(compareCodePoints("x", "x")).toBe(0);
  });

  /**
   * A chat going from blocked to active (its user wrote to the bot again) between a page's two
   * status queries: read apart, it was in neither answer. The change is made as the blocked query
   * is built, after the active one ran. On PostgreSQL it is awaited (another connection; the page's
   * snapshot must not see it); on SQLite it cannot be (the page's transaction holds the process's
   * one connection), so it is queued behind the page, and without the transaction it ran before
   * the blocked query.
   */
  describe("a chat unblocked between a page's two status queries is read once", () => {
    for (const walkBy of ["id", "seq"] as const) {
      it(`walking by ${walkBy}`, async () => {
        const store = await open();
        const tenant = `tenant-snap-${walkBy}`;
        const expected = await seed(store, tenant, 14);
        const directory = store.recipients as KyselyRecipientDirectory;
        const blockedId = `a:${tenant}-1`;
        expect(expected).toContain(blockedId);
        let change: Promise<boolean> | undefined;
        const unblock = (status: string) => {
          if (status !== "blocked" || change) return;
          change = store.conversations.setStatus(blockedId, "active", "", new Date().toISOString());
          return backend === "postgres" ? change : undefined;
        };
        const byId = directory.personalPageByIdQuery.bind(directory);
        const bySeq = directory.personalPageQuery.bind(directory);
        const patched = directory as unknown as Record<string, unknown>;
        patched.personalPageByIdQuery = (...a: Parameters<typeof byId>) => {
          const pending = unblock(a[0]);
          const query = byId(...a);
          return pending ? { execute: () => pending.then(() => query.execute()) } : query;
        };
        patched.personalPageQuery = (...a: Parameters<typeof bySeq>) => {
          const pending = unblock(a[0]);
          const query = bySeq(...a);
          return pending ? { execute: () => pending.then(() => query.execute()) } : query;
        };
        try {
          const page =
            walkBy === "id"
              ? await store.recipients.personalPageById(tenant, undefined, Number.MAX_SAFE_INTEGER, 100)
              : await store.recipients.personalPage(tenant, undefined, 100);
          expect(await change).toBe(true);
          expect(page.items.map((r) => r.conversationId).sort(compareCodePoints)).toEqual(expected);
        } finally {
          delete patched.personalPageByIdQuery;
          delete patched.personalPageQuery;
        }
      });
    }
  });

  it("each status query walks an index in order (no sort of what is left)", async () => {
    const store = await open();
    const directory = store.recipients as KyselyRecipientDirectory;
    const queries = (status: (typeof personalStatuses)[number], tenantId: string | undefined) => [
      directory.personalPageQuery(status, tenantId, 5, 500),
      directory.personalPageByIdQuery(status, tenantId, "a:5", 1_000, 500),
      directory.personalPageByIdQuery(status, tenantId, "a:5", 1_000, 500, "a:9"),
      // The first page: nothing bounds the ids below (SQLite without statistics then preferred
      // the (status, seq) index and sorted every chat's id for it).
      directory.personalPageByIdQuery(status, tenantId, undefined, 1_000, 500),
    ];
    for (const tenantId of [undefined, "tenant-p1"]) {
      for (const status of personalStatuses) {
        for (const query of queries(status, tenantId)) {
          const { sql, parameters } = query.compile();
          const plan = await explain(factory.databaseUrl, factory.options.schema, sql, parameters);
          if (backend === "sqlite") expect(plan, plan).not.toMatch(/TEMP B-TREE/);
          else expect(plan, plan).not.toMatch(/\bSort\b/);
        }
      }
    }
  });

  it("a window of the walk by id (its size, its rows written by the database) walks the indexes in order", async () => {
    await open();
    const db = compileOnly(backend);
    for (const [tenantId, afterId] of [undefined, "tenant-p1"].flatMap((t) => [undefined, "a:5"].map((a) => [t, a] as const))) {
      const window = { tenantId, afterId, last: "a:9", upTo: 1_000 };
      for (const query of [
        nextWindow(db, backend, window, 500),
        insertWindowRows(db, backend, "n_plan", 0, window, Date.parse("2026-12-01T00:00:00Z"), Date.parse("2026-12-01T00:00:00Z")),
      ]) {
        const { sql, parameters } = query.compile();
        const plan = await explain(factory.databaseUrl, factory.options.schema, sql, parameters);
        // Each status walks its index (`conversations_status_id` or `conversations_tenant_status_id`).
        expect(plan, plan).toMatch(
          backend === "sqlite"
            ? /USING (COVERING )?INDEX conversations_(tenant_)?status_id/
            : /Index (Only )?Scan using conversations_(tenant_)?status_id/,
        );
        // No sort of what is left of the table. PostgreSQL merges the two LIMITed walks as they come
        // (Merge Append) and numbers the rows in the index's order. SQLite merges them too, after
        // sorting each walk's answer again (`SCAN a` / `SCAN b`: at most a page, the LIMIT's).
        if (backend === "sqlite") {
          const lines = plan.split("\n");
          const sorted = lines.flatMap((line, i) => (line.includes("TEMP B-TREE") ? [lines[i - 1]] : []));
          expect(
            sorted.every((line) => line === "SCAN a" || line === "SCAN b"),
            plan,
          ).toBe(true);
        } else expect(plan, plan).not.toMatch(/(^|->)\s*(Incremental )?Sort\s+\(/m);
      }
    }
  });
});
