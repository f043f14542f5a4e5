import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import type { ConversationStatus } from "../../src/domain/conversation.js";
import { compareCodePoints, type KyselyRecipientDirectory, personalStatuses } from "../../src/store/kysely/recipients.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, storeBackends } from "../helpers/stores.js";

/**
 * A broadcast pages through the stored 1:1 chats (`personalPage`), in conversation-id order
 * (022_personal_id_order). Each page must cost what the page holds, not what is left of the
 * table: with `status IN ('active','blocked')` both planners read and sorted every remaining row
 * for every page, and a 1,000,000-chat broadcast on SQLite stopped answering for minutes
 * (quadratic). The plan test reads each status query's plan; the paging tests check the merged
 * pages are exactly the messageable chats, in code point order, once each, whatever the ids hold.
 */
describe.each(storeBackends)("personalPage on %s", (backend) => {
  const factory = createStoreFactory(backend);
  afterAll(() => factory.cleanup());

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

  /** Every page of `tenant`'s chats, `size` at a time. */
  async function walk(store: Store, tenant: string | undefined, size: number): Promise<string[]> {
    const seen: string[] = [];
    let after: string | undefined;
    for (let guard = 0; guard < 500; guard++) {
      const page = await store.recipients.personalPage(tenant, after, size);
      expect(page.items.length).toBeLessThanOrEqual(size);
      seen.push(...page.items.map((r) => r.conversationId));
      if (page.items.length < size) break;
      after = page.last;
    }
    return seen;
  }

  it("pages hold every active and blocked chat once, in conversation-id order, whatever the page size", async () => {
    const store = await factory.open();
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

  it("ids the database would order otherwise (case, accents, characters past U+FFFF) are each read once", async () => {
    // UTF-16 units put U+1F600 (surrogates 0xD83D…) before U+FFFD; code points and UTF-8 bytes put
    // it after. A linguistic collation (PostgreSQL's default) puts "B" between "a" and "c", and "é"
    // beside "e". A merge in one order over queries in another skips rows at page boundaries.
    const store = await factory.open();
    const tails = ["a", "B", "c", "e", "é", "f", "Z", "\uFFFD", "\u{1F600}", "\uE000", "_", "-", "~", "0", "9"];
    const expected = await seed(store, "tenant-p3", tails.length * 3, (i) => `a:${tails[i % tails.length]}${Math.floor(i / tails.length)}`);
    for (const size of [1, 2, 3, 5, 100]) expect(await walk(store, "tenant-p3", size), `page size ${size}`).toEqual(expected);
  });

  it("the code point order is not the UTF-16 order", () => {
    expect(compareCodePoints("\u{1F600}", "\uFFFD")).toBeGreaterThan(0);
    expect("\u{1F600}" < "\uFFFD").toBe(true);
    expect(compareCodePoints("a", "ab")).toBeLessThan(0);
    expect(compareCodePoints("a\u{1F600}b", "a\u{1F600}c")).toBeLessThan(0);
    expect(compareCodePoints("x", "x")).toBe(0);
  });

  it("each status query walks an index in id order (no sort of what is left)", async () => {
    const store = await factory.open();
    const directory = store.recipients as KyselyRecipientDirectory;
    for (const tenantId of [undefined, "tenant-p1"]) {
      for (const status of personalStatuses) {
        const { sql, parameters } = directory.personalPageQuery(status, tenantId, "a:5", 500).compile();
        const plan = await explain(factory.databaseUrl, factory.options.schema, sql, parameters);
        if (backend === "sqlite") expect(plan, plan).not.toMatch(/TEMP B-TREE/);
        else expect(plan, plan).not.toMatch(/\bSort\b/);
      }
    }
  });
});

/** The query plan as text: SQLite's EXPLAIN QUERY PLAN, or PostgreSQL's EXPLAIN with sequential scans priced out (a tiny table would be scanned whole). */
async function explain(databaseUrl: string, schema: string | undefined, sql: string, parameters: readonly unknown[]): Promise<string> {
  if (databaseUrl.startsWith("sqlite:")) {
    const db = new Database(databaseUrl.slice("sqlite:".length), { readonly: true });
    try {
      const rows = db.prepare(`explain query plan ${sql}`).all(...parameters) as { detail: string }[];
      return rows.map((r) => r.detail).join("\n");
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`set search_path to "${schema}"`);
    await client.query("set enable_seqscan = off");
    const { rows } = await client.query<{ "QUERY PLAN": string }>(`explain ${sql}`, [...parameters]);
    return rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await client.end();
  }
}
