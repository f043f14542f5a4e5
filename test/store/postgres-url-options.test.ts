import { randomBytes } from "node:crypto";
import pgcs from "pg-connection-string";
import { afterAll, expect, it } from "vitest";
import { openPostgresStore, splitOptions } from "../../src/store/postgres/open.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

/**
 * A URL's own `options` are joined with Herald's DateStyle/TimeZone pins, whatever form of URL pg
 * accepts: split on the query string alone, read as pg reads it.
 */
const schema = `herald_urlform_${randomBytes(4).toString("hex")}`;
// A role of its own whose search_path is the test's schema: were the schema pin lost, the tables
// would still land there, not in the shared database's public schema.
const role = schema;
afterAll(async () => {
  await withPostgres(async (c) => {
    await c.query(`drop schema if exists "${schema}" cascade`);
    await c.query(`drop role if exists ${role}`);
  });
});

it("splits the options off every URL form as pg reads them, and leaves the rest as pg reads it", () => {
  const urls = [
    "postgres://u:p@/test?host=/var/run/postgresql&options=-c%20search_path%3Dx",
    "postgres://u:p%40x@h:5/db?options=-c+search_path%3Dy&sslmode=disable",
    "postgresql://h/db?options=a&options=-c%20b%3D1",
    "postgres://h/db",
    "postgres://h/db?sslmode=disable",
  ];
  for (const url of urls) {
    const { connectionString, options } = splitOptions(url);
    const { options: expected, ...rest } = pgcs.parse(url) as Record<string, unknown>;
    expect(options, url).toBe(expected);
    expect(pgcs.parse(connectionString), url).toEqual(rest);
  }
});

it("a URL with an empty host (the socket form) and options of its own still reads times as ISO", async () => {
  await withPostgres(async (c) => {
    await c.query(`create role ${role} login superuser`);
    await c.query(`create schema "${schema}"`);
    await c.query(`alter role ${role} set search_path = "${schema}"`);
  });
  const u = new URL(testPostgresUrl);
  const url = `postgres://${role}@/${u.pathname.slice(1)}?host=${u.hostname}&port=${u.port || "5432"}&options=${encodeURIComponent("-c DateStyle=SQL,DMY -c TimeZone=Asia/Kolkata")}`;
  const store = await openPostgresStore(url, { schema });
  try {
    await store.audit.record({ at: "2025-01-31T09:00:00.123Z", actor: "k", action: "a", target: "t", details: {} });
    expect((await store.audit.list({ limit: 5 })).items[0]?.at).toBe("2025-01-31T09:00:00.123Z");
  } finally {
    await store.close();
  }
});
