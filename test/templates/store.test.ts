import { beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import type { Template, TemplateStore } from "../../src/templates/port.js";
import { forEachStore, withPostgres } from "../helpers/stores.js";

/** The template store's contract, run against SQLite and PostgreSQL alike. */
const template = (id: string, name: string, more: Partial<Template> = {}): Template => ({
  id,
  name,
  message: { text: "Hello ${givenName}", textFormat: "markdown" },
  options: {},
  createdBy: "k_a",
  updatedBy: "k_a",
  createdAt: "2026-12-01T09:00:00.000Z",
  updatedAt: "2026-12-01T09:00:00.000Z",
  ...more,
});

/** Every template, a page of `limit` at a time. */
async function all(templates: TemplateStore, limit = 1_000): Promise<Template[]> {
  const out: Template[] = [];
  let after: string | undefined;
  for (let pages = 0; pages < 100; pages++) {
    const page = await templates.list({ after, limit });
    out.push(...page.items);
    after = page.nextCursor;
    if (!after) return out;
  }
  throw new Error("more than 100 pages");
}

/** Byte order (what SQLite's BINARY and PostgreSQL's "C" collation give) of lower-cased names, then ids. */
const byteOrder = (a: Template, b: Template) => {
  const x = Buffer.compare(Buffer.from(a.name.toLowerCase()), Buffer.from(b.name.toLowerCase()));
  return x !== 0 ? x : Buffer.compare(Buffer.from(a.id), Buffer.from(b.id));
};

forEachStore((stores) => {
  let templates: TemplateStore;
  beforeAll(async () => {
    const store: Store = await stores.open();
    if (!store.templates) throw new Error("the store keeps no templates");
    templates = store.templates;
  });

  describe("templates", () => {
    it("keeps every field as given, optional ones absent as undefined", async () => {
      const full = template("t_full", "Office closure", {
        description: "When an office closes",
        message: { card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "Closed" }] }, poll: undefined },
        category: "facilities",
        options: { priority: "urgent", footer: false, data: { city: "Lisbon", n: 3 } },
        tenants: ["t1", "t2"],
      });
      await templates.create(full);
      expect(await templates.get("t_full")).toEqual(JSON.parse(JSON.stringify(full)));
      await templates.create(template("t_bare", "Bare"));
      const bare = await templates.get("t_bare");
      expect(bare).toEqual(template("t_bare", "Bare"));
      expect(bare?.description).toBeUndefined();
      expect(bare?.category).toBeUndefined();
      expect(bare?.tenants).toBeUndefined();
      expect(await templates.get("t_missing")).toBeUndefined();
    });

    it("lists by name ignoring case, then by id", async () => {
      await templates.create(template("t_b", "beta"));
      await templates.create(template("t_a2", "Alpha"));
      await templates.create(template("t_a1", "alpha"));
      const names = (await all(templates)).map((t) => `${t.name}/${t.id}`);
      expect(names).toEqual(["alpha/t_a1", "Alpha/t_a2", "Bare/t_bare", "beta/t_b", "Office closure/t_full"]);
    });

    it("updates the changeable fields, clears the optional ones left out, and says when there is no such template", async () => {
      const change = {
        name: "Office closure (v2)",
        description: undefined,
        message: { poll: { question: "Which day?", options: ["Mon", "Tue"] } },
        category: undefined,
        options: { footer: true },
        updatedBy: "k_b",
        updatedAt: "2026-12-02T10:00:00.000Z",
      };
      expect(await templates.update("t_full", change)).toBe(true);
      const t = await templates.get("t_full");
      // Who made it, when, and within which tenants never change.
      expect(t).toMatchObject({ ...change, createdBy: "k_a", createdAt: "2026-12-01T09:00:00.000Z", tenants: ["t1", "t2"] });
      expect(t?.description).toBeUndefined();
      expect(t?.category).toBeUndefined();
      expect(await templates.update("t_missing", change)).toBe(false);
      // The new name sorts where it belongs.
      expect((await all(templates)).map((x) => x.id).at(-1)).toBe("t_full");
    });

    it("deletes once", async () => {
      expect(await templates.delete("t_b")).toBe(true);
      expect(await templates.delete("t_b")).toBe(false);
      expect(await templates.get("t_b")).toBeUndefined();
      expect((await all(templates)).map((x) => x.id)).not.toContain("t_b");
    });

    it("pages through more than 500 templates by (name, id), every one once, a cursor it did not make refused", async () => {
      const made: Template[] = [];
      for (let i = 0; i < 620; i++) made.push(template(`t_p${String(i).padStart(4, "0")}`, `Page ${i % 7} ${(i * 37) % 620}`));
      for (const t of made) await templates.create(t);
      const expected = [...(await all(templates, 1_000))].sort(byteOrder).map((t) => t.id);
      expect(expected.length).toBeGreaterThan(620);
      const pages: number[] = [];
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await templates.list({ after, limit: 200 });
        pages.push(page.items.length);
        seen.push(...page.items.map((t) => t.id));
        after = page.nextCursor;
      } while (after);
      expect(seen).toEqual(expected);
      expect(pages.slice(0, 3)).toEqual([200, 200, 200]);
      expect(pages.reduce((a, b) => a + b, 0)).toBe(expected.length);
      // The last page has no cursor, even when it is full.
      const exact = await templates.list({ limit: expected.length });
      expect(exact.items).toHaveLength(expected.length);
      expect(exact.nextCursor).toBeUndefined();
      for (const bad of ["nope", Buffer.from("tp1:[1,2]").toString("base64url"), Buffer.from('tp1:["a\u0000","b"]').toString("base64url")])
        await expect(templates.list({ after: bad, limit: 10 })).rejects.toMatchObject({ code: "HERALD_E_STORE_CURSOR" });
      await expect(templates.list({ limit: 0 })).rejects.toMatchObject({ code: "HERALD_E_STORE_LIMIT" });
      for (const t of made) await templates.delete(t.id);
    });

    it("orders by bytes whatever the database's collation, so SQLite and PostgreSQL agree", async () => {
      if (stores.name === "postgres") {
        // As on a database created with a linguistic default collation (e.g. en_US.UTF-8, which
        // ignores punctuation and spaces): the test database's own is C.UTF-8.
        const schema = stores.options.schema;
        await withPostgres(async (client) => {
          await client.query(`alter table "${schema}".templates alter column name_key type text collate "en-US-x-icu"`);
          await client.query(`alter table "${schema}".templates alter column id type text collate "en-US-x-icu"`);
        });
      }
      const names = ["a b", "a-c", "ab", "a_a", "a.b", "Zeta", "a~", "Éclair", "eclair", "a b", "10", "9", "_x"];
      const made = names.map((n, i) => template(`t_c${["-", "_", "a", "B", "z"][i % 5]}${i}`, n));
      for (const t of made) await templates.create(t);
      const expected = [...(await all(templates))].sort(byteOrder).map((t) => `${t.name}/${t.id}`);
      expect((await all(templates)).map((t) => `${t.name}/${t.id}`)).toEqual(expected);
      // Pages of 2 continue where the one before ended.
      expect((await all(templates, 2)).map((t) => `${t.name}/${t.id}`)).toEqual(expected);
    });
  });
});
