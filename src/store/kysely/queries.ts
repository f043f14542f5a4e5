import type { Kysely } from "kysely";
import type { ConversationFilter } from "../ports.js";
import type { Database } from "./schema.js";

/**
 * The read queries of the conversation store, as builders (not executed here) so the tests can
 * check each database answers them from an index (EXPLAIN) with the exact SQL the store runs.
 */

/**
 * Personal chats of a user by Teams id or Entra object id, best first: active before anything
 * else, then latest activity. Written as UNION ALL of one lookup per column rather than `OR`, so
 * that each half is an index search on `(user_id, tenant_id)` / `(user_aad_object_id, tenant_id)`
 * even when a tenant filter offers the planner the much wider `(tenant_id, ...)` indexes.
 */
export function personalQuery(db: Kysely<Database>, tenantId: string | undefined, userIdOrAadObjectId: string) {
  const by = (column: "user_id" | "user_aad_object_id") =>
    db
      .selectFrom("conversations")
      .selectAll()
      .where(column, "=", userIdOrAadObjectId)
      .where("kind", "=", "personal")
      .$if(tenantId !== undefined, (q) => q.where("tenant_id", "=", tenantId ?? ""));
  return db
    .selectFrom(by("user_id").unionAll(by("user_aad_object_id")).as("m"))
    .selectAll()
    .orderBy((eb) => eb.case().when("status", "=", "active").then(eb.lit(0)).else(eb.lit(1)).end())
    .orderBy("last_activity_at", "desc")
    .orderBy("seq", "desc")
    .limit(1);
}

/**
 * One page of `list`: the filters, then keyset on `seq` (`after` = the last seq of the previous
 * page), one row more than `limit` to know whether another page follows.
 */
export function listQuery(db: Kysely<Database>, filter: ConversationFilter, after: number | undefined, limit: number) {
  return db
    .selectFrom("conversations")
    .selectAll()
    .$if(filter.kind !== undefined, (q) => q.where("kind", "=", filter.kind ?? ""))
    .$if(filter.tenantId !== undefined, (q) => q.where("tenant_id", "=", filter.tenantId ?? ""))
    .$if(filter.status !== undefined, (q) => q.where("status", "=", filter.status ?? ""))
    .$if(filter.teamId !== undefined, (q) => q.where("team_id", "=", filter.teamId ?? ""))
    .$if(after !== undefined, (q) => q.where("seq", ">", after ?? 0))
    .orderBy("seq")
    .limit(limit + 1);
}
