import type { Kysely } from "kysely";
import { sql } from "kysely";
import { StoreError } from "../errors.js";
import type { InstallationItem, InstallationJob, InstallationOutcome, InstallationStore, Page } from "../ports.js";
import type { StoreDialect } from "./backend.js";
import type { Database } from "./schema.js";

/** A job list's cursor: the last job's `(created_at, id)`, versioned and base64url-encoded (opaque to callers). */
const encodeJobCursor = (createdAt: string, id: string): string => Buffer.from(`j1:${createdAt}|${id}`, "utf8").toString("base64url");

function decodeJobCursor(cursor: string): { createdAt: string; id: string } {
  const match = /^j1:([^|]{1,40})\|(.{1,200})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw new StoreError("HERALD_E_STORE_CURSOR", "The page cursor is not one this server issued; start again without a cursor.");
  return { createdAt: match[1]!, id: match[2]! };
}

/** The job's lease is another process's now (this one's expired): it must stop running the job. */
export const INSTALL_LEASE_LOST = "HERALD_E_INSTALL_LEASE_LOST" as const;
const leaseLost = (jobId: string) =>
  new StoreError(INSTALL_LEASE_LOST, `Installation job ${jobId} is held by another process now (this one's lease ended); it stops here.`);

function jobOf(r: Database["installation_jobs"]): InstallationJob {
  return {
    id: r.id,
    createdBy: r.created_by,
    tenantId: r.tenant_id,
    audience: JSON.parse(r.audience) as unknown,
    status: r.status as InstallationJob["status"],
    total: Number(r.total),
    counts: {
      installed: Number(r.installed),
      alreadyInstalled: Number(r.already_installed),
      refused: Number(r.refused),
      failed: Number(r.failed),
    },
    error: r.error ?? undefined,
    createdAt: r.created_at,
    completedAt: r.completed_at ?? undefined,
  };
}

/** Installation jobs over Kysely: every page of outcomes and its counts in one transaction. */
export class KyselyInstallationStore implements InstallationStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StoreDialect = "sqlite",
  ) {}

  /**
   * A lease's end: on PostgreSQL on the database's clock (`now()` plus the lease's length), so
   * processes whose clocks differ agree on whose lease ended; on SQLite (one process) the
   * process's time as given.
   */
  private leaseEnd(until: string, now: string) {
    if (this.dialect !== "postgres") return until;
    const ms = Math.max(0, Date.parse(until) - Date.parse(now));
    return sql<string>`now() + make_interval(secs => ${ms / 1000})`;
  }

  /** Now, for comparing with `lease_until`: the database's on PostgreSQL. */
  private leaseNow(now: string) {
    return this.dialect === "postgres" ? sql<string>`now()` : now;
  }

  async create(job: {
    id: string;
    createdBy: string;
    tenantId: string;
    audience: unknown;
    createdAt: string;
    lease?: { owner: string; until: string } | undefined;
  }): Promise<InstallationJob> {
    const row = {
      lease_owner: job.lease?.owner ?? null,
      lease_until: job.lease ? this.leaseEnd(job.lease.until, job.createdAt) : null,
      id: job.id,
      created_by: job.createdBy,
      tenant_id: job.tenantId,
      audience: JSON.stringify(job.audience),
      status: "running",
      total: 0,
      installed: 0,
      already_installed: 0,
      refused: 0,
      failed: 0,
      error: null,
      created_at: job.createdAt,
      completed_at: null,
    };
    await this.db.insertInto("installation_jobs").values(row).execute();
    return jobOf({ ...row, lease_until: null });
  }

  async record(jobId: string, items: readonly Omit<InstallationItem, "seq">[], owner?: string): Promise<void> {
    if (items.length === 0) return;
    await this.db.transaction().execute(async (tx) => {
      const add = (o: InstallationOutcome) => items.filter((it) => it.status === o).length;
      // The counts first, conditional on the lease: the row is then locked (PostgreSQL) until
      // commit, so a claim by another process waits, and the seqs below are this page's alone.
      let update = tx
        .updateTable("installation_jobs")
        .set({
          total: sql`total + ${items.length}`,
          installed: sql`installed + ${add("installed")}`,
          already_installed: sql`already_installed + ${add("alreadyInstalled")}`,
          refused: sql`refused + ${add("refused")}`,
          failed: sql`failed + ${add("failed")}`,
        })
        .where("id", "=", jobId);
      if (owner !== undefined) update = update.where("lease_owner", "=", owner).where("status", "=", "running");
      const row = await update.returning("total").executeTakeFirst();
      if (!row) throw leaseLost(jobId);
      const first = Number(row.total) - items.length;
      await tx
        .insertInto("installation_items")
        .values(
          items.map((it, k) => ({
            job_id: jobId,
            seq: first + k,
            user_id: it.userId,
            status: it.status,
            code: it.code ?? null,
            message: it.message ?? null,
            at: it.at,
          })),
        )
        .execute();
    });
  }

  async claim(owner: string, now: string, until: string, limit: number): Promise<InstallationJob[]> {
    const stale = await this.db
      .selectFrom("installation_jobs")
      .select("id")
      .where("status", "=", "running")
      .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", this.leaseNow(now))]))
      .orderBy("created_at")
      .limit(limit)
      .execute();
    const out: InstallationJob[] = [];
    for (const { id } of stale) {
      // Conditional: of two processes looking at once, one takes the job.
      const r = await this.db
        .updateTable("installation_jobs")
        .set({ lease_owner: owner, lease_until: this.leaseEnd(until, now) })
        .where("id", "=", id)
        .where("status", "=", "running")
        .where((eb) => eb.or([eb("lease_until", "is", null), eb("lease_until", "<", this.leaseNow(now))]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) continue;
      const job = await this.get(id);
      if (job) out.push(job);
    }
    return out;
  }

  async renew(owner: string, until: string, now?: string): Promise<string[]> {
    const rows = await this.db
      .updateTable("installation_jobs")
      .set({ lease_until: now === undefined ? until : this.leaseEnd(until, now) })
      .where("lease_owner", "=", owner)
      .where("status", "=", "running")
      .returning("id")
      .execute();
    return rows.map((r) => r.id);
  }

  async release(jobId: string, owner: string): Promise<void> {
    await this.db
      .updateTable("installation_jobs")
      .set({ lease_owner: null, lease_until: null })
      .where("id", "=", jobId)
      .where("lease_owner", "=", owner)
      .execute();
  }

  async targetsDone(jobId: string): Promise<string[]> {
    const rows = await this.db.selectFrom("installation_items").select("user_id").where("job_id", "=", jobId).execute();
    return rows.map((r) => r.user_id);
  }

  async finish(jobId: string, at: string, error?: string, owner?: string): Promise<void> {
    let q = this.db
      .updateTable("installation_jobs")
      .set({ status: error ? "failed" : "completed", completed_at: at, error: error ?? null, lease_owner: null, lease_until: null })
      .where("id", "=", jobId);
    if (owner !== undefined) q = q.where("lease_owner", "=", owner).where("status", "=", "running");
    const r = await q.executeTakeFirst();
    if (owner !== undefined && Number(r.numUpdatedRows) !== 1) throw leaseLost(jobId);
  }

  async get(jobId: string): Promise<InstallationJob | undefined> {
    const row = await this.db.selectFrom("installation_jobs").selectAll().where("id", "=", jobId).executeTakeFirst();
    return row && jobOf(row);
  }

  async items(jobId: string, after: number, limit: number): Promise<InstallationItem[]> {
    const rows = await this.db
      .selectFrom("installation_items")
      .selectAll()
      .where("job_id", "=", jobId)
      .where("seq", ">", after)
      .orderBy("seq")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      userId: r.user_id,
      status: r.status as InstallationOutcome,
      code: r.code ?? undefined,
      message: r.message ?? undefined,
      at: r.at,
    }));
  }

  async list(
    filter: { tenants?: readonly string[] | undefined },
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<InstallationJob>> {
    if (filter.tenants && filter.tenants.length === 0) return { items: [] };
    let q = this.db.selectFrom("installation_jobs").selectAll();
    if (filter.tenants) q = q.where("tenant_id", "in", [...filter.tenants]);
    if (page.cursor) {
      const after = decodeJobCursor(page.cursor);
      q = q.where((eb) =>
        eb.or([eb("created_at", "<", after.createdAt), eb.and([eb("created_at", "=", after.createdAt), eb("id", "<", after.id)])]),
      );
    }
    const rows = await q
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(page.limit + 1)
      .execute();
    const items = rows.slice(0, page.limit).map(jobOf);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > page.limit && last ? encodeJobCursor(last.createdAt, last.id) : undefined };
  }
}
