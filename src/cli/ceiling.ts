import type { Config } from "../config/config.js";

/**
 * Who enforces the tenant ceiling (HERALD_TENANT_RPS) when several processes send. Without
 * HERALD_REDIS_URL the buckets live in each process's memory, so every process would allow the
 * whole ceiling and N processes would send N times too fast for Teams.
 *
 * - `herald worker` exists only to add sending processes: without Redis it is refused (unless
 *   HERALD_TENANT_RPS=0, no tenant ceiling to share).
 * - `herald serve` on PostgreSQL without Redis is a legitimate single-process deployment (the
 *   store on a managed database), so it starts, with a warning that the ceiling is per process.
 * - On SQLite only one process may use the file, so the question does not arise.
 *
 * Pure: returns what to say, the caller prints and exits.
 */
export function ceilingCheck(
  command: "serve" | "worker",
  config: Pick<Config, "databaseUrl" | "redisUrl" | "tenantRps">,
): { refuse: string } | { warn: string } | undefined {
  if (config.redisUrl || config.tenantRps === 0 || config.databaseUrl.startsWith("sqlite:")) return undefined;
  if (command === "worker")
    return {
      refuse:
        `HERALD_REDIS_URL is not set. Without Redis every Herald process enforces the whole tenant ceiling ` +
        `(HERALD_TENANT_RPS=${config.tenantRps}) on its own, so this worker next to herald serve would send faster than Teams allows. ` +
        "Set HERALD_REDIS_URL=redis://host:6379 (every process then shares the same buckets), " +
        "or HERALD_TENANT_RPS=0 to run without a tenant ceiling.",
    };
  return {
    warn:
      `HERALD_REDIS_URL is not set: the tenant ceiling (HERALD_TENANT_RPS=${config.tenantRps}) is enforced by this process alone. ` +
      "Run a single Herald process on this database, or set HERALD_REDIS_URL so several processes share it.",
  };
}
