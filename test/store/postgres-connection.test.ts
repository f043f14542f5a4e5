import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { openPostgresStore } from "../../src/store/postgres/open.js";
import { testPostgresUrl, withPostgres } from "../helpers/stores.js";

const schema = `herald_conn_${randomBytes(4).toString("hex")}`;

afterAll(async () => {
  await withPostgres((c) => c.query(`drop schema if exists "${schema}" cascade`));
});

const applicationNames = (): Promise<string[]> =>
  withPostgres(async (c) => {
    const r = await c.query<{ application_name: string }>(
      "select application_name from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    return r.rows.map((x) => x.application_name);
  });

it("Herald's connections name themselves in pg_stat_activity (herald, unless the URL names them)", async () => {
  const store = await openPostgresStore(testPostgresUrl, { schema });
  try {
    expect(await store.ready()).toBe(true);
    expect(await applicationNames()).toContain("herald");
  } finally {
    await store.close();
  }
  const url = new URL(testPostgresUrl);
  url.searchParams.set("application_name", "herald-worker-2");
  const named = await openPostgresStore(url.toString(), { schema });
  try {
    expect(await named.ready()).toBe(true);
    expect(await applicationNames()).toContain("herald-worker-2");
  } finally {
    await named.close();
  }
});
