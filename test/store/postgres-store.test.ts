import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { migrations } from "../../src/store/migrations/index.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/ports.js";
import { createStoreFactory, testPostgresUrl, withPostgres } from "../helpers/stores.js";
import { storeContract } from "./store.contract.js";

describe("postgres store", () => {
  const stores = createStoreFactory("postgres");
  afterAll(() => stores.cleanup());

  storeContract(stores);

  describe("postgres specifics", () => {
    it("keeps its tables in the schema it was given", async () => {
      await stores.open();
      const tables = await withPostgres(async (c) =>
        (
          await c.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = $1 order by table_name", [
            stores.options.schema,
          ])
        ).rows.map((r) => r.table_name),
      );
      expect(tables).toEqual(["conversations", "herald_migrations", "preferences"]);
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

    it("finds personal chats through the user indexes", async () => {
      await stores.open();
      const plan = await withPostgres(async (c) => {
        await c.query(`set search_path = "${stores.options.schema}"`);
        await c.query("set enable_seqscan = off");
        const rows = await c.query<{ "QUERY PLAN": string }>(
          "explain select * from conversations where kind = 'personal' and (user_id = $1 or user_aad_object_id = $1) and tenant_id = $2",
          ["x", "y"],
        );
        return rows.rows.map((r) => r["QUERY PLAN"]).join("\n");
      });
      expect(plan).toContain("conversations_user_id");
      expect(plan).toContain("conversations_user_aad");
    });

    it("refuses a schema name that is not a plain identifier", async () => {
      await expect(openStore(testPostgresUrl, { schema: 'x"; drop table y; --' })).rejects.toMatchObject({ code: "HERALD_E_STORE_SCHEMA" });
    });

    it("says what to fix when the server cannot be reached", async () => {
      await expect(openStore("postgres://postgres@127.0.0.1:1/test")).rejects.toMatchObject({ code: "HERALD_E_STORE_OPEN" });
    });
  });
});
