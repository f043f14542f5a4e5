import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/log.js";
import { createHerald } from "../../src/server/herald.js";
import type { ApiKeyRecord } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Herald before issue 9 stored `tenants: null` (every tenant) for a key that a tenant-limited
 * admin created without naming tenants. At start-up Herald names each such key (and keys they
 * created in turn) in a warning saying what to do, and changes none of them.
 */

const A = "tenant-a";
const B = "tenant-b";

function key(id: string, tenants: string[] | undefined, createdBy: string, revokedAt?: string): ApiKeyRecord {
  return {
    id,
    name: `name-of-${id}`,
    hash: id
      .padEnd(64, "0")
      .slice(0, 64)
      .replace(/[^0-9a-f]/g, "a"),
    scopes: ["admin"],
    tenants,
    createdAt: "2026-01-01T00:00:00.000Z",
    createdBy,
    revokedAt,
  };
}

forEachStore((stores) => {
  describe("start-up check of API keys' tenant limits", () => {
    it("warns once per key wider than its creator, with ids and what to do, and leaves the keys as they are", async () => {
      const store = await stores.open();
      const records = [
        key("key_limited_admin", [A], "env:HERALD_API_KEY"),
        // As the old code stored it: created by the A admin without tenants → no limit.
        key("key_old_child", undefined, "key_limited_admin"),
        // Created by the old child (which looked unlimited) for tenant B.
        key("key_old_grandchild", [B], "key_old_child"),
        key("key_fine_child", [A], "key_limited_admin"),
        key("key_unlimited", undefined, "env:HERALD_API_KEY"),
        key("key_child_of_unlimited", [B], "key_unlimited"),
        key("key_old_revoked", undefined, "key_limited_admin", "2026-02-01T00:00:00.000Z"),
      ];
      for (const r of records) await store.apiKeys.create(r);
      const before = await store.apiKeys.list();
      const lines: Record<string, unknown>[] = [];
      const logger = createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
      const herald = await createHerald(loadConfig({ HERALD_INBOUND_AUTH: "off" }), { logger, store, engine: false });
      try {
        const warned = lines.filter((l) => l["level"] === "warn" && typeof l["keyId"] === "string");
        expect(warned.map((l) => l["keyId"]).sort()).toEqual(["key_old_child", "key_old_grandchild"]);
        const child = warned.find((l) => l["keyId"] === "key_old_child");
        expect(child).toMatchObject({ tenants: null, createdBy: "key_limited_admin", creatorTenants: [A] });
        expect(String(child?.["msg"])).toMatch(/reaches every tenant but was created by key_limited_admin, limited to tenant-a/);
        expect(String(child?.["msg"])).toMatch(/revoke it \(DELETE \/v1\/keys\/key_old_child\) and create a new key/);
        expect(warned.find((l) => l["keyId"] === "key_old_grandchild")).toMatchObject({ tenants: [B], creatorTenants: [A] });
        expect(await store.apiKeys.list()).toEqual(before);
      } finally {
        await herald.close();
      }
    });
  });
});
