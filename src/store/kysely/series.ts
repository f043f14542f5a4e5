import type { Kysely, Selectable, Updateable } from "kysely";
import type { Audience, NotificationStatus, Page } from "../../delivery/model.js";
import type { Series, SeriesFilter, SeriesPatch, SeriesRun, SeriesState, SeriesStore } from "../../delivery/schedule/series.js";
import type { PageRequest } from "../../delivery/store/port.js";
import { StoreError } from "../errors.js";
import { withoutUndefined } from "../merge.js";
import { decodeKey, keysetPage } from "./delivery-rows.js";
import type { AllTables } from "./delivery-schema.js";
import type { NotificationSeriesTable } from "./schema.js";
import { visibleTo } from "./visibility.js";

/**
 * Series over SQL (SQLite and PostgreSQL alike). Every state change is one conditional UPDATE, so
 * two processes racing for the same run, or an edit racing a run, cannot both win: the loser's
 * WHERE no longer matches and it sees zero rows updated.
 */

type Row = Selectable<NotificationSeriesTable>;
const iso = (ms: number): string => new Date(ms).toISOString();
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function toSeries(r: Row): Series {
  return withoutUndefined<Series>({
    id: r.id,
    state: r.state as SeriesState,
    createdBy: r.created_by,
    callerTenants: r.caller_tenants === null ? undefined : (JSON.parse(r.caller_tenants) as string[]),
    tenantId: opt(r.tenant_id),
    audience: JSON.parse(r.audience) as Audience,
    message: JSON.parse(r.message) as unknown,
    data: r.data === null ? undefined : (JSON.parse(r.data) as Record<string, unknown>),
    category: opt(r.category),
    cron: r.cron,
    timeZone: r.time_zone,
    localTime: Number(r.local_time) === 1,
    until: opt(r.until),
    nextRunAt: opt(r.next_run_at),
    lastRunAt: opt(r.last_run_at),
    lastNotificationId: opt(r.last_notification_id),
    runs: Number(r.runs),
    pendingRunAt: opt(r.pending_run_at),
    pendingOwner: opt(r.pending_owner),
    pendingSince: opt(r.pending_since),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  });
}

export class KyselySeriesStore implements SeriesStore {
  constructor(private readonly db: Kysely<AllTables>) {}

  async create(s: Parameters<SeriesStore["create"]>[0]): Promise<Series> {
    await this.db
      .insertInto("notification_series")
      .values({
        id: s.id,
        created_by: s.createdBy,
        caller_tenants: s.callerTenants === undefined ? null : JSON.stringify(s.callerTenants),
        tenant_id: s.tenantId ?? null,
        audience: JSON.stringify(s.audience),
        message: JSON.stringify(s.message),
        data: s.data === undefined ? null : JSON.stringify(s.data),
        category: s.category ?? null,
        cron: s.cron,
        time_zone: s.timeZone,
        local_time: s.localTime ? 1 : 0,
        until: s.until ?? null,
        state: s.state,
        next_run_at: s.nextRunAt ?? null,
        runs: 0,
        created_at: s.createdAt,
        updated_at: s.createdAt,
      })
      .execute();
    return toSeries(await this.db.selectFrom("notification_series").selectAll().where("id", "=", s.id).executeTakeFirstOrThrow());
  }

  async get(id: string): Promise<Series | undefined> {
    const r = await this.db.selectFrom("notification_series").selectAll().where("id", "=", id).executeTakeFirst();
    return r && toSeries(r);
  }

  async list(filter: SeriesFilter, page: PageRequest): Promise<Page<Series>> {
    if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > 10_000)
      throw new StoreError("HERALD_E_STORE_LIMIT", `The page limit must be a whole number from 1 to 10000 (got ${page.limit}).`);
    const before = page.cursor === undefined ? undefined : decodeKey("s1", page.cursor);
    if (page.cursor !== undefined && before === undefined)
      throw new StoreError(
        "HERALD_E_STORE_CURSOR",
        "The page cursor is not one this server issued for this listing; start again without a cursor.",
      );
    const visible = filter.visibleTo;
    const rows = await this.db
      .selectFrom("notification_series")
      .selectAll()
      .$if(filter.state !== undefined, (q) => q.where("state", "=", filter.state ?? ""))
      .$if(visible !== undefined, (q) => q.where(visibleTo(visible)))
      .$if(before !== undefined, (q) => q.where("id", "<", before ?? ""))
      .orderBy("id", "desc")
      .limit(page.limit + 1)
      .execute();
    return keysetPage(rows, page.limit, toSeries, "s1", (r) => r.id);
  }

  async update(id: string, patch: SeriesPatch, inStates: readonly SeriesState[], now: number): Promise<Series | undefined> {
    const set: Updateable<NotificationSeriesTable> = { updated_at: iso(now) };
    if (patch.template) {
      set.audience = JSON.stringify(patch.template.audience);
      set.message = JSON.stringify(patch.template.message);
      set.data = patch.template.data === undefined ? null : JSON.stringify(patch.template.data);
      set.category = patch.template.category ?? null;
    }
    if (patch.timing) {
      set.cron = patch.timing.cron;
      set.time_zone = patch.timing.timeZone;
      set.local_time = patch.timing.localTime ? 1 : 0;
      set.until = patch.timing.until ?? null;
    }
    if (patch.state !== undefined) set.state = patch.state;
    if (patch.nextRunAt !== undefined) set.next_run_at = patch.nextRunAt === null ? null : iso(patch.nextRunAt);
    if (patch.tenantId !== undefined) set.tenant_id = patch.tenantId;
    if (patch.callerTenants !== undefined) set.caller_tenants = JSON.stringify(patch.callerTenants);
    const r = await this.db
      .updateTable("notification_series")
      .set(set)
      .where("id", "=", id)
      .where("state", "in", [...inStates])
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return undefined;
    return this.get(id);
  }

  async due(now: number, staleBefore: number, limit: number): Promise<Series[]> {
    const ready = await this.db
      .selectFrom("notification_series")
      .selectAll()
      .where("state", "=", "active")
      .where("next_run_at", "<=", iso(now))
      .where("pending_run_at", "is", null)
      .orderBy("next_run_at")
      .limit(limit)
      .execute();
    const stale = await this.db
      .selectFrom("notification_series")
      .selectAll()
      .where("pending_run_at", "is not", null)
      .where("pending_since", "<", iso(staleBefore))
      // A canceled series' orphaned run is never taken over: left in, a page of them would hide live ones for good.
      .where("state", "!=", "canceled")
      .orderBy("pending_since")
      .limit(limit)
      .execute();
    return [...ready, ...stale].map(toSeries);
  }

  async claimRun(
    id: string,
    expectedNextRunAt: string,
    runAt: number,
    nextRunAt: number | undefined,
    owner: string,
    now: number,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable("notification_series")
      .set((eb) => ({
        next_run_at: nextRunAt === undefined ? null : iso(nextRunAt),
        state: nextRunAt === undefined ? "ended" : "active",
        last_run_at: iso(runAt),
        runs: eb("runs", "+", 1),
        pending_run_at: iso(runAt),
        pending_owner: owner,
        pending_since: iso(now),
        updated_at: iso(now),
      }))
      .where("id", "=", id)
      .where("state", "=", "active")
      .where("next_run_at", "=", expectedNextRunAt)
      .where("pending_run_at", "is", null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async retakeRun(id: string, pendingRunAt: string, staleBefore: number, owner: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable("notification_series")
      .set({ pending_owner: owner, pending_since: iso(now), updated_at: iso(now) })
      .where("id", "=", id)
      .where("pending_run_at", "=", pendingRunAt)
      .where("pending_since", "<", iso(staleBefore))
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async runStarted(id: string, runAt: number, notificationId: string | undefined, now: number): Promise<void> {
    await this.db
      .updateTable("notification_series")
      .set((eb) => ({
        pending_run_at: null,
        pending_owner: null,
        pending_since: null,
        last_notification_id: notificationId ?? eb.ref("last_notification_id"),
        updated_at: iso(now),
      }))
      .where("id", "=", id)
      .where("pending_run_at", "=", iso(runAt))
      .execute();
  }

  async runs(id: string, limit: number): Promise<SeriesRun[]> {
    const rows = await this.db
      .selectFrom("notifications")
      .select(["id", "series_run_at", "status", "total", "sent"])
      .where("series_id", "=", id)
      .orderBy("series_run_at", "desc")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      runAt: r.series_run_at ?? "",
      notificationId: r.id,
      status: r.status as NotificationStatus,
      total: Number(r.total),
      sent: Number(r.sent),
    }));
  }
}
