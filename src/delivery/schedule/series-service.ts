import { randomBytes } from "node:crypto";
import { type Clock, systemClock } from "../../clock.js";
import { type Logger, silentLogger } from "../../log.js";
import { type AudienceLimit, isAudienceLimited } from "../audience/reach.js";
import type { Caller, DeliveryEngine, PageRequest } from "../engine.js";
import { DeliveryError } from "../errors.js";
import { prepareMessage } from "../message/prepare.js";
import type { Message } from "../message/schema.js";
import type { Page } from "../model.js";
import { type AudienceInput, type NotificationRequest, toAudience } from "../request.js";
import { StoreClock } from "../store-clock.js";
import { cronProblem, earliestZone, latestRun, nextRun, wallClock } from "./cron.js";
import type { CronScheduleInput } from "./schema.js";
import type { Series, SeriesRun, SeriesState, SeriesStore, SeriesTemplate, SeriesTiming } from "./series.js";

/** `POST /v1/series`: what every run sends, and when. */
export interface SeriesRequest {
  audience: AudienceInput;
  message: Message;
  data?: Record<string, unknown> | undefined;
  category?: string | undefined;
  schedule: CronScheduleInput;
}

/** `PATCH /v1/series/{id}`: any of these; absent = unchanged. */
export interface SeriesEdit {
  audience?: AudienceInput | undefined;
  message?: Message | undefined;
  data?: Record<string, unknown> | undefined;
  category?: string | undefined;
  schedule?: CronScheduleInput | undefined;
}

export interface SeriesServiceDeps {
  store: SeriesStore;
  /**
   * Each run is submitted to the engine as its own notification; `audienceOutside` places a stored
   * audience against a team/group-limited caller's reach before it may change the series.
   */
  engine: Pick<DeliveryEngine, "submit" | "audienceOutside" | "tenantSpelling">;
  /**
   * The team/group limit a series' creator has now (its key's `teams`/`groups` in the key store),
   * applied to every run: the schema keeps only the creator's tenants, so the limit is looked up at
   * run time (a key narrowed since narrows its series' runs). undefined = no limit known (an
   * unrestricted key, the env admin key, or an OIDC person, whose limit exists only while signed in).
   */
  creatorLimit?: ((keyId: string) => Promise<AudienceLimit | undefined>) | undefined;
  clock?: Clock | undefined;
  logger?: Logger | undefined;
  /** This process (the claimer of the runs it starts). */
  owner: string;
  /** How often this process looks for due runs, in real ms (default 1000). */
  pollMs?: number | undefined;
  /** A claimed run not written after this long (its claimer died) is taken over (default 60 s). */
  runLeaseMs?: number | undefined;
  /**
   * The store's clock (DeliveryStore.databaseNow): when given, "due" and the lease are judged on
   * it, as the engine's StoreClock does, so processes whose clocks disagree agree on them.
   */
  storeNow?: (() => Promise<number | undefined>) | undefined;
}

/** Recurring series: the API's operations, and the loop that starts due runs. */
export interface SeriesService {
  create(request: SeriesRequest, caller: Caller): Promise<Series>;
  get(id: string, caller?: Caller): Promise<Series | undefined>;
  /** The latest runs of a series (notifications), newest first; throws HERALD_E_NOT_FOUND. */
  runs(id: string, caller?: Caller, limit?: number): Promise<SeriesRun[]>;
  list(filter: { state?: SeriesState | undefined }, page: PageRequest, caller?: Caller): Promise<Page<Series>>;
  edit(id: string, edit: SeriesEdit, caller?: Caller): Promise<Series>;
  pause(id: string, caller?: Caller): Promise<Series>;
  resume(id: string, caller?: Caller): Promise<Series>;
  cancel(id: string, caller?: Caller): Promise<Series>;
  /** Look for due runs now (the loop calls it every `pollMs`); returns the runs this process started. */
  tick(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/** A series id: `s_` + time-sortable hex + random. */
function seriesId(now: number): string {
  return `s_${Math.floor(now).toString(16).padStart(12, "0")}${randomBytes(8).toString("hex")}`;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** The zone a series' cron is read in: its own, or for `localTime` the first zone to reach the time. */
const cronZone = (t: SeriesTiming): string => (t.localTime ? earliestZone : t.timeZone);

function timingOf(s: CronScheduleInput): SeriesTiming {
  return { cron: s.cron, timeZone: s.timeZone ?? "UTC", localTime: s.localTime === true, until: s.until };
}

/** The next run after `after` within `until`, or undefined. */
function nextOf(t: SeriesTiming, after: number): number | undefined {
  return nextRun(t.cron, cronZone(t), after, t.until === undefined ? undefined : Date.parse(t.until));
}

/** The first run of a new or edited timing; a timing whose `until` leaves no run is a mistake in the request. */
function firstOf(t: SeriesTiming, now: number): number {
  const first = nextOf(t, now);
  if (first === undefined)
    throw new DeliveryError(
      "HERALD_E_SCHEDULE_NO_RUN",
      `schedule.until: ${t.until ?? "(none)"} leaves the series no run (it is past, or before the cron's next occurrence); set a later until or leave it out.`,
    );
  return first;
}

/**
 * The run to start at `now` for a series whose next run `due` has come: the LATEST occurrence at
 * or before now (within `until`). After downtime several runs may have been missed: only the
 * latest is sent, once; the others are skipped.
 */
export function runToStart(t: SeriesTiming, due: number, now: number): number {
  const limit = t.until === undefined ? now : Math.min(now, Date.parse(t.until));
  const latest = latestRun(t.cron, cronZone(t), limit);
  return latest !== undefined && latest > due ? latest : due;
}

/**
 * The series service. Processes coordinate only through the store: a due run is started by the
 * process whose `claimRun` (a conditional update of the series' next run) matched; the child
 * notification carries the idempotency key `series:<id>:<run>` and the unique `(series_id,
 * series_run_at)`, so a run taken over from a dead claimer is never written twice.
 */
export function createSeriesService(deps: SeriesServiceDeps): SeriesService {
  const clock = new StoreClock(deps.clock ?? systemClock, deps.storeNow ?? (async () => undefined), 30_000);
  const logger = deps.logger ?? silentLogger;
  const pollMs = deps.pollMs ?? 1_000;
  const leaseMs = deps.runLeaseMs ?? 60_000;
  let timer: ReturnType<typeof setInterval> | undefined;
  let ticking: Promise<number> | undefined;

  const visible = (s: Series, caller: Caller | undefined): boolean =>
    !caller?.tenants || s.createdBy === caller.keyId || (s.tenantId !== undefined && caller.tenants.includes(s.tenantId));

  const mustGet = async (id: string, caller: Caller | undefined): Promise<Series> => {
    const s = await deps.store.get(id);
    if (!s || !visible(s, caller))
      throw new DeliveryError("HERALD_E_NOT_FOUND", `No series ${id}; check the id (GET /v1/series lists them).`);
    return s;
  };

  /**
   * For a change (edit, pause, resume, cancel), as notifications' mustGetToChange: a caller limited
   * to teams/groups changes another's series only if the stored audience is within its limit (a
   * team-limited key must not pause or re-aim an org-wide series). Refused as not found would hide
   * a series the caller may read, so it is a 403 naming the entry outside.
   */
  const mustGetToChange = async (id: string, caller: Caller | undefined): Promise<Series> => {
    const s = await mustGet(id, caller);
    if (caller && s.createdBy !== caller.keyId && isAudienceLimited(caller)) {
      const outside = await deps.engine.audienceOutside(s.audience, caller);
      if (outside !== undefined)
        throw new DeliveryError("HERALD_E_FORBIDDEN", `Series ${id} reaches outside what this caller may reach: ${outside}`);
    }
    return s;
  };

  /** Refused when created or edited, as a send would refuse each run (tenantSpellingProblem). */
  const refuseMisspelledTenant = async (audience: AudienceInput): Promise<void> => {
    const misspelled = await deps.engine.tenantSpelling(audience);
    if (misspelled !== undefined) throw new DeliveryError("HERALD_E_TENANT_SPELLING", misspelled);
  };

  /** The tenant a tenant-scoped caller may use; throws as POST /v1/notifications would. */
  const tenantOf = (audience: AudienceInput, caller: Caller): string | undefined => {
    const named = audience.tenantId;
    if (caller.tenants) {
      if (named !== undefined && !caller.tenants.includes(named))
        throw new DeliveryError("HERALD_E_FORBIDDEN", `This API key may not send to tenant ${named}.`);
      if (named === undefined && (audience.all !== undefined || audience.users !== undefined))
        throw new DeliveryError(
          "HERALD_E_TENANT_REQUIRED",
          "This API key is limited to some tenants: name the tenant of the audience (audience.tenantId).",
        );
      return named ?? (caller.tenants.length === 1 ? caller.tenants[0] : undefined);
    }
    return named;
  };

  const transition = async (id: string, caller: Caller | undefined, to: SeriesState, from: readonly SeriesState[], what: string) => {
    const s = await mustGetToChange(id, caller);
    const now = clock.now();
    const nextRunAt = to === "active" ? (nextOf(s, now) ?? null) : to === "canceled" ? null : undefined;
    const state = to === "active" && nextRunAt === null ? "ended" : to;
    const after = await deps.store.update(id, { state, nextRunAt }, from, now);
    if (!after) {
      const current = await mustGet(id, caller);
      if (current.state === to) return current;
      throw new DeliveryError("HERALD_E_SERIES_STATE", `Series ${id} is ${current.state}: it cannot be ${what}.`);
    }
    logger.info({ seriesId: id, state: after.state, by: caller?.keyId }, `series ${what}`);
    return after;
  };

  /** Submit the run as a notification; the run stops being pending once written (or refused for good). */
  const startRun = async (s: Series, runAt: number): Promise<void> => {
    const request: NotificationRequest = {
      audience: s.audience,
      message: s.message as Message,
      idempotencyKey: `series:${s.id}:${iso(runAt)}`,
    };
    if (s.data !== undefined) request.data = s.data;
    if (s.category !== undefined) request.category = s.category;
    if (s.localTime) request.schedule = { ...wallClock(runAt, earliestZone), timeZone: s.timeZone, ifPassed: "sendNow" };
    try {
      // The creator's current team/group limit rides on each run: the engine refuses (the run is
      // skipped) an audience outside it, as it would the creator's own request.
      const limit = deps.creatorLimit ? await deps.creatorLimit(s.createdBy) : undefined;
      const { notification } = await deps.engine.submit(
        request,
        { keyId: s.createdBy, tenants: s.callerTenants, teams: limit?.teams, groups: limit?.groups },
        { seriesId: s.id, runAt },
      );
      await deps.store.runStarted(s.id, runAt, notification.id, clock.now());
      logger.info({ seriesId: s.id, runAt: iso(runAt), notificationId: notification.id }, "series run started");
    } catch (e) {
      const err = e as { code?: string; message?: string; name?: string };
      if ((err.name === "DeliveryError" || err.name === "MessageError") && err.code !== "HERALD_E_ENGINE_STOPPED") {
        // Refused for good (a tenant no longer allowed, a message the engine refuses): the run is skipped, the series goes on.
        await deps.store.runStarted(s.id, runAt, undefined, clock.now());
        logger.warn({ seriesId: s.id, runAt: iso(runAt), code: err.code, err: err.message }, "series run refused; skipped");
        return;
      }
      // Left pending: taken over after the lease (idempotent) by this or another process.
      logger.warn({ seriesId: s.id, runAt: iso(runAt), err: err.message }, "series run not written; it is tried again");
    }
  };

  /**
   * The series as it is once its run is claimed: the due list was read before, and an edit accepted
   * in between (the loop starts up to a page of runs one after another) must shape the run.
   */
  const current = async (s: Series): Promise<Series> => (await deps.store.get(s.id)) ?? s;

  const tick = async (): Promise<number> => {
    await clock.fresh();
    const now = clock.now();
    let started = 0;
    for (const s of await deps.store.due(now, now - leaseMs, 100)) {
      if (s.pendingRunAt !== undefined) {
        if (s.state !== "canceled" && (await deps.store.retakeRun(s.id, s.pendingRunAt, now - leaseMs, deps.owner, now))) {
          await startRun(await current(s), Date.parse(s.pendingRunAt));
          started++;
        }
        continue;
      }
      if (s.nextRunAt === undefined) continue;
      // A series stored before such a cron was refused (one firing more than once a minute) ends
      // here, without the one run its stored nextRunAt would still start.
      const problem = cronProblem(s.cron, cronZone(s));
      if (problem !== undefined) {
        if (await deps.store.update(s.id, { state: "ended", nextRunAt: null }, ["active"], now))
          logger.warn({ seriesId: s.id, cron: s.cron, problem }, "series ended: its schedule is not accepted any more");
        continue;
      }
      const run = runToStart(s, Date.parse(s.nextRunAt), now);
      const next = nextOf(s, Math.max(run, now));
      if (!(await deps.store.claimRun(s.id, s.nextRunAt, run, next, deps.owner, now))) continue;
      await startRun(await current(s), run);
      started++;
    }
    return started;
  };

  const guardedTick = (): Promise<number> => {
    if (ticking) return ticking;
    ticking = tick()
      .catch((e: unknown) => {
        logger.warn({ err: (e as Error).message }, "looking for due series runs failed; trying again shortly");
        return 0;
      })
      .finally(() => {
        ticking = undefined;
      });
    return ticking;
  };

  return {
    async create(request, caller) {
      prepareMessage(request.message, { data: request.data });
      const tenantId = tenantOf(request.audience, caller);
      await refuseMisspelledTenant(request.audience);
      const timing = timingOf(request.schedule);
      const now = clock.now();
      const first = firstOf(timing, now);
      const s = await deps.store.create({
        id: seriesId(now),
        state: "active",
        createdBy: caller.keyId,
        callerTenants: caller.tenants ? [...caller.tenants] : undefined,
        tenantId,
        audience: toAudience(request.audience),
        message: request.message,
        data: request.data,
        category: request.category,
        ...timing,
        nextRunAt: iso(first),
        createdAt: iso(now),
      });
      logger.info({ seriesId: s.id, cron: s.cron, timeZone: s.timeZone, nextRunAt: s.nextRunAt, by: caller.keyId }, "series created");
      return s;
    },

    async get(id, caller) {
      const s = await deps.store.get(id);
      return s && visible(s, caller) ? s : undefined;
    },

    async runs(id, caller, limit = 20) {
      await mustGet(id, caller);
      return deps.store.runs(id, limit);
    },

    list(filter, page, caller) {
      return deps.store.list(
        { state: filter.state, visibleTo: caller?.tenants ? { keyId: caller.keyId, tenants: caller.tenants } : undefined },
        page,
      );
    },

    async edit(id, edit, caller) {
      const before = await mustGetToChange(id, caller);
      const template: SeriesTemplate = {
        audience: edit.audience ? toAudience(edit.audience) : before.audience,
        message: edit.message ?? before.message,
        data: edit.data ?? before.data,
        category: edit.category ?? before.category,
      };
      prepareMessage(template.message as Message, { data: template.data });
      const tenantId = edit.audience ? (tenantOf(edit.audience, caller ?? { keyId: before.createdBy }) ?? null) : undefined;
      if (edit.audience) await refuseMisspelledTenant(edit.audience);
      const timing = edit.schedule ? timingOf(edit.schedule) : undefined;
      const now = clock.now();
      // A new timing starts from now: the next run is the new cron's next occurrence.
      const next = timing ? firstOf(timing, now) : undefined;
      // Runs are sent with the creator's limits: a tenant-scoped editor's edit must not borrow wider
      // ones (an unrestricted key's series re-aimed by a tenant key at a chat of another tenant).
      const callerTenants = caller?.tenants
        ? before.callerTenants
          ? before.callerTenants.filter((t) => caller.tenants?.includes(t))
          : [...caller.tenants]
        : undefined;
      const patch = {
        template,
        timing,
        tenantId,
        callerTenants,
        nextRunAt: timing && before.state === "active" ? next : undefined,
      };
      const after = await deps.store.update(id, patch, ["active", "paused"], now);
      if (!after)
        throw new DeliveryError("HERALD_E_SERIES_STATE", `Series ${id} is ${before.state}: only an active or paused series can be edited.`);
      logger.info({ seriesId: id, by: caller?.keyId, timing: timing !== undefined }, "series edited");
      return after;
    },

    pause: (id, caller) => transition(id, caller, "paused", ["active"], "paused"),
    resume: (id, caller) => transition(id, caller, "active", ["paused"], "resumed"),
    cancel: (id, caller) => transition(id, caller, "canceled", ["active", "paused", "ended"], "canceled"),

    tick: guardedTick,

    start() {
      if (timer) return;
      timer = setInterval(() => void guardedTick(), pollMs);
      void guardedTick();
    },

    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await ticking;
    },
  };
}
