import { beforeAll, describe, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import type { Template, TemplateStore } from "../../src/templates/port.js";
import { forEachStore } from "../helpers/stores.js";

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
      const names = (await templates.list()).map((t) => `${t.name}/${t.id}`);
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
      expect((await templates.list()).map((x) => x.id).at(-1)).toBe("t_full");
    });

    it("deletes once", async () => {
      expect(await templates.delete("t_b")).toBe(true);
      expect(await templates.delete("t_b")).toBe(false);
      expect(await templates.get("t_b")).toBeUndefined();
      expect((await templates.list()).map((x) => x.id)).not.toContain("t_b");
    });
  });
});
