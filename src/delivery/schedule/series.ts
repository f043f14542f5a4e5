import type { Audience, NotificationStatus, Page } from "../model.js";
import type { PageRequest } from "../store/port.js";

/**
 * Recurring series (`schedule: {cron, timeZone?, localTime?: true, until?}`): the domain records
 * and the storage port. Each run becomes its own notification, linked by `seriesId` and its run
 * time. The store coordinates processes: a run is started by the one process whose conditional
 * update of `nextRunAt` matched (`claimRun`), and the notifications table's unique
 * `(series_id, series_run_at)` refuses a second notification for the same run.
 */

/** `active` (runs), `paused` (no runs until resumed), `canceled` (for good), `ended` (`until` passed). */
export type SeriesState = "active" | "paused" | "canceled" | "ended";
export const seriesStates: readonly SeriesState[] = ["active", "paused", "canceled", "ended"];

/** What every run sends: the notification request without its schedule. */
export interface SeriesTemplate {
  audience: Audience;
  message: unknown;
  data?: Record<string, unknown> | undefined;
  category?: string | undefined;
}

/** When a series runs. */
export interface SeriesTiming {
  cron: string;
  /** IANA zone the cron is read in (default UTC). */
  timeZone: string;
  /** Every run reaches each recipient at the cron's wall-clock time in the recipient's own zone. */
  localTime: boolean;
  /** ISO; no run after it. */
  until?: string | undefined;
}

export interface Series extends SeriesTemplate, SeriesTiming {
  id: string;
  state: SeriesState;
  createdBy: string;
  /** The tenant-scoped creator's tenants (its runs are sent with the same limits). */
  callerTenants?: string[] | undefined;
  /** The tenant the audience names, when it names one (access of tenant-scoped keys). */
  tenantId?: string | undefined;
  /** ISO. Undefined once canceled or ended. */
  nextRunAt?: string | undefined;
  lastRunAt?: string | undefined;
  lastNotificationId?: string | undefined;
  /** Runs started so far. */
  runs: number;
  /** A run claimed by `pendingOwner` at `pendingSince` and not yet written as a notification. */
  pendingRunAt?: string | undefined;
  pendingOwner?: string | undefined;
  pendingSince?: string | undefined;
  createdAt: string;
  updatedAt: string;
}

/** A run of a series, as `GET /v1/series/{id}` lists it. */
export interface SeriesRun {
  runAt: string;
  notificationId: string;
  status: NotificationStatus;
  total: number;
  sent: number;
}

/** The fields an edit may change; absent = unchanged. `nextRunAt` is recomputed by the caller when the timing changes. */
export interface SeriesPatch {
  template?: SeriesTemplate | undefined;
  timing?: SeriesTiming | undefined;
  state?: SeriesState | undefined;
  /** ms, or null to clear. */
  nextRunAt?: number | null | undefined;
  tenantId?: string | null | undefined;
  /** The tenants the runs are limited to (narrowed when a tenant-scoped key edits the series). */
  callerTenants?: string[] | undefined;
}

export interface SeriesFilter {
  state?: SeriesState | undefined;
  visibleTo?: { keyId: string; tenants: readonly string[] } | undefined;
}

/** Storage of series; one Kysely implementation for SQLite and PostgreSQL (src/store/kysely/series.ts). Times in are ms. */
export interface SeriesStore {
  create(
    series: Omit<Series, "runs" | "updatedAt" | "lastRunAt" | "lastNotificationId" | "pendingRunAt" | "pendingOwner" | "pendingSince">,
  ): Promise<Series>;
  get(id: string): Promise<Series | undefined>;
  /** Newest first. */
  list(filter: SeriesFilter, page: PageRequest): Promise<Page<Series>>;
  /** Apply `patch` when the series is in one of `inStates`; the series after, or undefined (unknown, or in another state). */
  update(id: string, patch: SeriesPatch, inStates: readonly SeriesState[], now: number): Promise<Series | undefined>;
  /** Active series whose next run is due at `now`, and series whose claimed run's claimer went quiet before `staleBefore`. */
  due(now: number, staleBefore: number, limit: number): Promise<Series[]>;
  /**
   * Claim the run at `runAt` of an active series still expecting `expectedNextRunAt` with no run
   * pending: next run becomes `nextRunAt` (undefined: the series ends), the run is pending for
   * `owner`. True for exactly one of several processes trying the same claim.
   */
  claimRun(
    id: string,
    expectedNextRunAt: string,
    runAt: number,
    nextRunAt: number | undefined,
    owner: string,
    now: number,
  ): Promise<boolean>;
  /** Take over a pending run whose claimer went quiet before `staleBefore`; true for one process. */
  retakeRun(id: string, pendingRunAt: string, staleBefore: number, owner: string, now: number): Promise<boolean>;
  /** The pending run at `runAt` was written (as `notificationId`, or given up with none): no longer pending. */
  runStarted(id: string, runAt: number, notificationId: string | undefined, now: number): Promise<void>;
  /** The latest runs' notifications, newest first. */
  runs(id: string, limit: number): Promise<SeriesRun[]>;
}
