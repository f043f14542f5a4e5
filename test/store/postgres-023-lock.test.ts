import { afterAll, expect, it } from "vitest";
import { migrate } from "../../src/store/kysely/migrator.js";
import { m023DeliveryLeaseIds } from "../../src/store/migrations/023_delivery_lease_ids.js";
import { migrations } from "../../src/store/migrations/index.js";
import { postgresSchemaBackend, withPostgres } from "../helpers/stores.js";

/**
 * 023_delivery_lease_ids alters `deliveries`, the table every claim and result writes. Behind a
 * long transaction on it, the ALTER would wait, and every process's writes would queue behind the
 * ALTER: it gives up after 10 s instead, and the error says what to look for.
 */
const { schema, backend, drop } = postgresSchemaBackend("herald_m023");
const before023 = migrations.slice(0, migrations.indexOf(m023DeliveryLeaseIds));

afterAll(() => drop());

it("behind a transaction holding `deliveries`, 023 gives up after its lock timeout, names the cause, and applies once it ends", async () => {
  expect(await migrate(backend, before023)).toHaveLength(before023.length);
  await withPostgres(async (holder) => {
    await holder.query("begin");
    await holder.query(`select count(*) from "${schema}".deliveries`);
    await expect(migrate(backend, migrations)).rejects.toThrow(
      /023_delivery_lease_ids failed .*held by another transaction.*pg_stat_activity/,
    );
    await holder.query("rollback");
  });
  expect(await migrate(backend, migrations)).toEqual([m023DeliveryLeaseIds.name]);
}, 30_000);
