import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { openPostgresStore } from "../../src/store/postgres/open.js";
import { timestamptzToIso } from "../../src/store/postgres/types.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

const role = `herald_rev6_${randomBytes(4).toString("hex")}`;
const schema = `herald_rev6_${randomBytes(4).toString("hex")}`;

afterAll(async () => {
  await withPostgres(async (c) => {
    await c.query(`drop schema if exists "${schema}" cascade`);
    await c.query(`drop role if exists ${role}`);
  });
});

it("a role whose DateStyle is SQL, DMY still reads times as ISO", async () => {
  await withPostgres(async (c) => {
    await c.query(`create role ${role} login superuser`);
    await c.query(`alter role ${role} set DateStyle = 'SQL, DMY'`);
    await c.query(`alter role ${role} set TimeZone = 'Asia/Kolkata'`);
  });
  const url = new URL(testPostgresUrl);
  url.username = role;
  const store = await openPostgresStore(url.toString(), { schema });
  try {
    await store.audit.record({ at: "2025-01-31T09:00:00.123Z", actor: "k", action: "a", target: "t", details: {} });
    const page = await store.audit.list({ limit: 5 });
    expect(page.items[0]?.at).toBe("2025-01-31T09:00:00.123Z");
  } finally {
    await store.close();
  }
});

it("'infinity' is kept as text, not a TypeError", () => {
  expect(timestamptzToIso("infinity")).toBe("infinity");
});
