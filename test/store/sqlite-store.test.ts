import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { type Compilable, DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { listQuery, personalQuery } from "../../src/store/kysely/queries.js";
import type { Database as Tables } from "../../src/store/kysely/schema.js";
import { migrations } from "../../src/store/migrations/index.js";
import { openStore, parseDatabaseUrl } from "../../src/store/open.js";
import type { ConversationFilter } from "../../src/store/ports.js";
import { createStoreFactory } from "../helpers/stores.js";
import { storeContract } from "./store.contract.js";

/** Compiles the store's queries to SQLite's SQL without a connection. */
const sqliteCompiler = new Kysely<Tables>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

describe("sqlite store", () => {
  const stores = createStoreFactory("sqlite");
  afterAll(() => stores.cleanup());

  storeContract(stores);

  describe("sqlite specifics", () => {
    const file = () => {
      const target = parseDatabaseUrl(stores.databaseUrl);
      if (target.kind !== "sqlite") throw new Error("expected a sqlite url");
      return target.path;
    };
    const inspect = <T>(fn: (db: Database.Database) => T): T => {
      const db = new Database(file(), { readonly: true });
      try {
        return fn(db);
      } finally {
        db.close();
      }
    };

    it("creates the file and its parent directories, in WAL mode, with each migration recorded once", async () => {
      await stores.open();
      await stores.open();
      expect(existsSync(file())).toBe(true);
      inspect((db) => {
        expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
        const names = db.prepare("select name from herald_migrations order by name").pluck().all();
        expect(names).toEqual(migrations.map((m) => m.name));
      });
    });

    it("answers findPersonal and filtered lists from indexes, with no sort", async () => {
      await stores.open();
      const plan = (query: Compilable) =>
        inspect((db) => {
          const { sql, parameters } = query.compile();
          return db
            .prepare(`explain query plan ${sql}`)
            .all(...parameters)
            .map((r) => (r as { detail: string }).detail)
            .join("\n");
        });
      const personal = plan(personalQuery(sqliteCompiler, "tenant", "29:user"));
      expect(personal).toContain("USING INDEX conversations_user_id (user_id=? AND tenant_id=?)");
      expect(personal).toContain("USING INDEX conversations_user_aad (user_aad_object_id=? AND tenant_id=?)");
      expect(plan(personalQuery(sqliteCompiler, undefined, "29:user"))).toContain("USING INDEX conversations_user_id (user_id=?)");

      const list = (filter: ConversationFilter) => plan(listQuery(sqliteCompiler, filter, 42, 100));
      expect(list({ tenantId: "t", status: "active", kind: "personal" })).toContain(
        "conversations_tenant_status_seq (tenant_id=? AND status=? AND seq>?)",
      );
      expect(list({ tenantId: "t" })).toContain("conversations_tenant_seq (tenant_id=? AND seq>?)");
      expect(list({ status: "blocked" })).toContain("conversations_status_seq (status=? AND seq>?)");
      expect(list({ teamId: "19:team", kind: "channel" })).toContain("conversations_team_seq (team_id=? AND seq>?)");
      for (const filter of [{}, { kind: "personal" as const }, { tenantId: "t", status: "active" as const }, { teamId: "x" }]) {
        expect(list(filter)).not.toContain("TEMP B-TREE");
      }
    });

    it("opens an in-memory database for sqlite::memory:", async () => {
      const store = await openStore("sqlite::memory:");
      try {
        expect(await store.ready()).toBe(true);
        const { created } = await store.conversations.upsert({
          id: "a:1",
          kind: "personal",
          tenantId: "t",
          serviceUrl: "https://smba.example/",
          channelId: "msteams",
          bot: { id: "28:bot" },
          at: new Date(0).toISOString(),
        });
        expect(created).toBe(true);
      } finally {
        await store.close();
      }
    });

    it("says what to fix when the file cannot be created", async () => {
      // The "directory" is the database file itself: ENOTDIR.
      await expect(openStore(`sqlite:${file()}/sub/herald.db`)).rejects.toMatchObject({ code: "HERALD_E_STORE_OPEN" });
    });
  });
});
