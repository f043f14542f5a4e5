import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { migrations } from "../../src/store/migrations/index.js";
import { openStore, parseDatabaseUrl } from "../../src/store/open.js";
import { createStoreFactory } from "../helpers/stores.js";
import { storeContract } from "./store.contract.js";

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

    it("answers findPersonal and filtered lists from indexes", () => {
      const plan = (query: string) =>
        inspect((db) =>
          db
            .prepare(`explain query plan ${query}`)
            .all("x", "y", "z")
            .map((r) => (r as { detail: string }).detail)
            .join("\n"),
        );
      // The shapes KyselyConversationStore issues.
      const personal = plan(`select * from conversations where kind = 'personal' and (user_id = ? or user_aad_object_id = ?) and tenant_id = ?`);
      expect(personal).toContain("conversations_user_id");
      expect(personal).toContain("conversations_user_aad");
      expect(plan(`select * from conversations where tenant_id = ? and status = ? and seq > ? order by seq limit 101`)).toMatch(
        /conversations_tenant_seq|conversations_status_seq/,
      );
      expect(plan(`select * from conversations where team_id = ? and seq > ? and ? order by seq limit 101`)).toContain("conversations_team_seq");
      expect(plan(`select * from conversations where status = ? and seq > ? and ? order by seq limit 101`)).not.toContain("TEMP B-TREE");
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
