import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { KyselyStore } from "../../src/store/kysely/store.js";
import { openPostgresStore } from "../../src/store/postgres/open.js";
import { timestamptzToIso } from "../../src/store/postgres/types.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

const role = `herald_rev6_${randomBytes(4).toString("hex")}`;
const schema = `herald_rev6_${randomBytes(4).toString("hex")}`;
const urlSchema = `herald_urlopt_${randomBytes(4).toString("hex")}`;

// A role that reads dates as SQL, DMY in Asia/Kolkata.
beforeAll(async () => {
  await withPostgres(async (c) => {
    await c.query(`create role ${role} login superuser`);
    await c.query(`alter role ${role} set DateStyle = 'SQL, DMY'`);
    await c.query(`alter role ${role} set TimeZone = 'Asia/Kolkata'`);
  });
});
afterAll(async () => {
  await withPostgres(async (c) => {
    await c.query(`drop schema if exists "${schema}" cascade`);
    await c.query(`drop schema if exists "${urlSchema}" cascade`);
    await c.query(`drop role if exists ${role}`);
  });
});

/** A time written and read back through the store comes back as written (ISO, UTC); closes the store. */
async function expectIsoTimes(store: KyselyStore): Promise<void> {
  try {
    await store.audit.record({ at: "2025-01-31T09:00:00.123Z", actor: "k", action: "a", target: "t", details: {} });
    const page = await store.audit.list({ limit: 5 });
    expect(page.items[0]?.at).toBe("2025-01-31T09:00:00.123Z");
  } finally {
    await store.close();
  }
}

it("a role whose DateStyle is SQL, DMY still reads times as ISO", async () => {
  const url = new URL(testPostgresUrl);
  url.username = role;
  const store = await openPostgresStore(url.toString(), { schema });
  await expectIsoTimes(store);
});

it("a URL with options of its own (search_path, as deployment.md shows) keeps them and the ISO pins", async () => {
  await withPostgres((c) => c.query(`create schema "${urlSchema}"`));
  const url = new URL(testPostgresUrl);
  url.username = role;
  url.searchParams.set("options", `-c search_path=${urlSchema}`);
  const store = await openPostgresStore(url.toString());
  await expectIsoTimes(store);
  const tables = await withPostgres((c) =>
    c.query("select count(*)::int as n from information_schema.tables where table_schema = $1 and table_name = 'deliveries'", [urlSchema]),
  );
  expect(tables.rows[0]?.n).toBe(1);
});

it("'infinity' is kept as text, not a TypeError", () => {
  expect(timestamptzToIso("infinity")).toBe("infinity");
});
