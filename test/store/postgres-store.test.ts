import { randomBytes } from "node:crypto";
import { type Compilable, DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { listQuery, personalQuery } from "../../src/store/kysely/queries.js";
import type { Database as Tables } from "../../src/store/kysely/schema.js";
import { migrations } from "../../src/store/migrations/index.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, testPostgresUrl, withPostgres } from "../helpers/stores.js";
import { storeContract } from "./store.contract.js";

/** Compiles the store's queries to PostgreSQL's SQL without a connection. */
const postgresCompiler = new Kysely<Tables>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

describe("postgres store", () => {
  const stores = createStoreFactory("postgres");
  afterAll(() => stores.cleanup());

  storeContract(stores);

  describe("postgres specifics", () => {
    it("keeps its tables in the schema it was given", async () => {
      await stores.open();
      const tables = await withPostgres(async (c) =>
        (
          await c.query<{ table_name: string }>(
            "select table_name from information_schema.tables where table_schema = $1 order by table_name",
            [stores.options.schema],
          )
        ).rows.map((r) => r.table_name),
      );
      expect(tables).toEqual(expect.arrayContaining(["conversations", "herald_migrations", "preferences"]));
      const inPublic = await withPostgres(
        async (c) =>
          (await c.query("select 1 from information_schema.tables where table_schema = 'public' and table_name = 'herald_migrations'"))
            .rowCount,
      );
      expect(inPublic).toBe(0);
    });

    it("several processes opening a new schema at once migrate it exactly once", async () => {
      const fresh = createStoreFactory("postgres");
      try {
        const opened = await Promise.all(Array.from({ length: 4 }, () => fresh.open()));
        for (const s of opened) expect(await s.ready()).toBe(true);
        const names = await withPostgres(
          async (c) => (await c.query<{ name: string }>(`select name from "${fresh.options.schema}".herald_migrations order by name`)).rows,
        );
        expect(names.map((r) => r.name)).toEqual(migrations.map((m) => m.name));
      } finally {
        await fresh.cleanup();
      }
    });

    it("concurrent upserts of one new id from two processes: exactly one creates", async () => {
      const a = await stores.open();
      const b = await stores.open();
      const id = `a:race-${randomBytes(4).toString("hex")}`;
      const upsert = (s: Store, i: number) =>
        s.conversations.upsert({
          id,
          kind: "personal",
          tenantId: "t-race",
          serviceUrl: "https://smba.example/",
          channelId: "msteams",
          bot: { id: "28:bot" },
          user: { id: `29:u${i}` },
          status: "active",
          at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
        });
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => upsert(i % 2 ? a : b, i)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(results.filter((r) => r.activated)).toHaveLength(1);
      expect((await a.conversations.get(id))?.lastActivityAt).toBe(new Date(Date.UTC(2025, 0, 1, 0, 0, 29)).toISOString());
    });

    it("answers findPersonal and filtered lists from indexes", async () => {
      await stores.open();
      // A few hundred rows: fresh statistics, and no sequential scan (cheaper than any index at this size).
      await withPostgres((c) => c.query(`analyze "${stores.options.schema}".conversations`));
      const plan = (query: Compilable) =>
        withPostgres(async (c) => {
          await c.query(`set search_path = "${stores.options.schema}"`);
          // Costs at this size favour scans and sorts; what matters is that an index plan without them exists.
          await c.query("set enable_seqscan = off; set enable_bitmapscan = off; set enable_sort = off");
          const { sql, parameters } = query.compile();
          const rows = await c.query<{ "QUERY PLAN": string }>(`explain ${sql}`, [...parameters]);
          return rows.rows.map((r) => r["QUERY PLAN"]).join("\n");
        });
      const personal = await plan(personalQuery(postgresCompiler, "tenant", "29:user"));
      expect(personal).toContain("conversations_user_id");
      expect(personal).toContain("conversations_user_aad");
      // Which index serves a list filter is the planner's call from statistics; there must be one, giving page order.
      for (const filter of [{ tenantId: "t", status: "active" as const }, { teamId: "19:team" }, { status: "blocked" as const }]) {
        const list = await plan(listQuery(postgresCompiler, filter, 42, 100));
        expect(list).toMatch(/Index Scan using conversations_\w+_seq/);
        expect(list).not.toMatch(/Seq Scan|Sort/);
      }
    });

    it("refuses a schema name that is not a plain identifier", async () => {
      await expect(openStore(testPostgresUrl, { schema: 'x"; drop table y; --' })).rejects.toMatchObject({ code: "HERALD_E_STORE_SCHEMA" });
    });

    it("says what to fix when the server cannot be reached", async () => {
      await expect(openStore("postgres://postgres@127.0.0.1:1/test")).rejects.toMatchObject({ code: "HERALD_E_STORE_OPEN" });
    });
  });
});
