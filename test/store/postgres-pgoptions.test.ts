import { randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { openPostgresStore } from "../../src/store/postgres/open.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * The operator's PGOPTIONS reaches Herald's sessions as libpq and pg read it: used when the URL
 * gives no `options`, replaced by the URL's when it does, and joined with Herald's own pins.
 * Seen by where the store's migrations create their tables: a role of its own whose search_path
 * is a decoy schema, so that a lost option puts them there (never in the shared public schema).
 */
const tag = randomBytes(4).toString("hex");
const role = `herald_pgopt_${tag}`;
const decoy = `herald_pgopt_decoy_${tag}`;
const fromEnv = `herald_pgopt_env_${tag}`;
const fromUrl = `herald_pgopt_url_${tag}`;
const schemas = [decoy, fromEnv, fromUrl];
const saved = process.env.PGOPTIONS;

beforeAll(async () => {
  await withPostgres(async (c) => {
    await c.query(`create role ${role} login superuser`);
    await c.query(`alter role ${role} set search_path = "${decoy}"`);
  });
});
// Each test starts with the three schemas empty.
beforeEach(async () => {
  await withPostgres(async (c) => {
    for (const s of schemas) await c.query(`drop schema if exists "${s}" cascade; create schema "${s}"`);
  });
});
afterEach(() => {
  if (saved === undefined) delete process.env.PGOPTIONS;
  else process.env.PGOPTIONS = saved;
});
afterAll(async () => {
  await withPostgres(async (c) => {
    for (const s of schemas) await c.query(`drop schema if exists "${s}" cascade`);
    await c.query(`drop role if exists ${role}`);
  });
});

/** Schemas among the test's that hold Herald's `notifications` table. */
async function schemasWithTables(): Promise<string[]> {
  return withPostgres(async (c) => {
    const r = await c.query<{ s: string }>(
      "select table_schema as s from information_schema.tables where table_name = 'notifications' and table_schema = any($1) order by 1",
      [schemas],
    );
    return r.rows.map((x) => x.s);
  });
}

function urlAs(user: string, query = ""): string {
  const u = new URL(testPostgresUrl);
  u.username = user;
  u.password = "";
  return `${u.toString()}${query}`;
}

it("PGOPTIONS applies when the URL gives no options, and times still read as ISO", async () => {
  process.env.PGOPTIONS = `-c search_path=${fromEnv} -c DateStyle=SQL,DMY`;
  const store = await openPostgresStore(urlAs(role));
  try {
    await store.audit.record({ at: "2025-01-31T09:00:00.123Z", actor: "k", action: "a", target: "t", details: {} });
    expect((await store.audit.list({ limit: 5 })).items[0]?.at).toBe("2025-01-31T09:00:00.123Z");
  } finally {
    await store.close();
  }
  expect(await schemasWithTables()).toEqual([fromEnv]);
});

it("the URL's options replace PGOPTIONS, as libpq reads them", async () => {
  process.env.PGOPTIONS = `-c search_path=${fromEnv}`;
  const store = await openPostgresStore(urlAs(role, `?options=${encodeURIComponent(`-c search_path=${fromUrl}`)}`));
  await store.close();
  expect(await schemasWithTables()).toEqual([fromUrl]);
});
