import type { Clock } from "../../clock.js";
import type { TeamsAppGraph } from "../../graph/apps.js";
import { GraphError } from "../../graph/errors.js";
import type { Logger } from "../../log.js";
import type { RowError } from "../model.js";
import type { RecipientDirectory, TeamHome } from "../store/port.js";
import type { Installer } from "./installer.js";
import { installCodes, teamReadPermission } from "./refusal.js";
import { type WelcomeWatch, welcomeFirst } from "./welcome-first.js";

/** What reaching a team named by its Entra group id came to. */
export type TeamReachOutcome =
  /** Herald has the team's conversation (known before, or learnt after installing the app). */
  | { kind: "home"; home: TeamHome; installed: boolean }
  /** The app could not be installed, or the team's conversation not learnt: the team's rows end so. */
  | { kind: "refused"; status: "failed" | "notFound"; error: RowError };

export interface TeamReachDeps {
  installer: Pick<Installer, "installOne">;
  apps: Pick<TeamsAppGraph, "teamInternalId">;
  directory: Pick<RecipientDirectory, "teamsByGroup" | "serviceUrlOf">;
  clock: Clock;
  logger: Logger;
  /** The bot endpoint's welcome after an install goes first (the store's welcome holds, any process). */
  welcomes?: WelcomeWatch | undefined;
  /** serviceUrl when the tenant has no stored conversation to take it from. */
  defaultServiceUrl: string;
  /** The whole step (install and learning the conversation) ends after this long, in ms. Default 120 000. */
  timeoutMs?: number | undefined;
  /** How long to wait for Teams' install event before asking Graph for the team's id, in ms. Default 5 000. */
  eventWaitMs?: number | undefined;
}

/** How often the store is asked whether the install event arrived, in ms. */
const POLL_MS = 100;

/**
 * A team audience names a team by its Entra group id and Herald knows no (active) conversation of
 * it: with HERALD_AUTO_INSTALL the app is installed in the team through Graph (the installer's
 * per-tenant budget and Retry-After handling, 409 = already installed), then the team's
 * conversation comes from the install event Teams sends the bot (stored with channelData.team's
 * aadGroupId), or, when that is slow or absent (a 409 sends none), from Graph's `GET /teams/{id}`
 * (`internalId`, the 19: id) with the tenant's known serviceUrl. After a new install the welcome
 * the bot endpoint posts goes first. One step per team at a time in this process: every
 * notification waiting for the same team shares it (one install). Bounded by `timeoutMs`.
 */
export class TeamReach {
  private readonly inFlight = new Map<string, Promise<TeamReachOutcome>>();

  constructor(private readonly deps: TeamReachDeps) {}

  /** Reach the team `groupId` of `tenantId`, installing the app there when needed. */
  reach(tenantId: string, groupId: string, signal?: AbortSignal): Promise<TeamReachOutcome> {
    const key = `${tenantId}|${groupId}`.toLowerCase();
    const running = this.inFlight.get(key);
    if (running) return running;
    const p = this.run(tenantId, groupId, signal).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  private async known(tenantId: string, groupId: string): Promise<TeamHome | undefined> {
    const found = (await this.deps.directory.teamsByGroup([groupId], tenantId)).get(groupId.toLowerCase());
    return found?.active ? { teamId: found.teamId, tenantId: found.tenantId, serviceUrl: found.serviceUrl } : undefined;
  }

  private async run(tenantId: string, groupId: string, signal: AbortSignal | undefined): Promise<TeamReachOutcome> {
    const { clock } = this.deps;
    const timeoutMs = this.deps.timeoutMs ?? 120_000;
    const deadline = clock.now() + timeoutMs;
    const timer = new AbortController();
    const handle = setTimeout(() => timer.abort(new Error("team install timed out")), timeoutMs);
    handle.unref?.();
    const both = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
    const team = `team ${groupId} (Entra group id) of tenant ${tenantId}`;
    try {
      const before = await this.known(tenantId, groupId);
      if (before) return { kind: "home", home: before, installed: false };
      const started = clock.now();
      const r = await this.deps.installer.installOne(tenantId, groupId, both, "team");
      if (r.status === "refused" || r.status === "failed") {
        if (timer.signal.aborted && !signal?.aborted) return this.timedOut(team, timeoutMs, false);
        const code = r.code ?? installCodes.refused;
        return {
          kind: "refused",
          status: code === installCodes.targetNotFound ? "notFound" : "failed",
          error: {
            code,
            message:
              `Herald could not install the app in ${team}, so it cannot deliver there: ${r.message ?? "Graph refused."} Fix that, or install the app in the team yourself, then send again.`.slice(
                0,
                900,
              ),
          },
        };
      }
      const installed = r.status === "installed";
      const home = await this.homeAfterInstall(tenantId, groupId, installed, deadline, both);
      if (home && "forbidden" in home) return this.unreadable(team, installed, home.forbidden);
      if (!home) return this.timedOut(team, timeoutMs, true);
      if (installed) await this.afterWelcome(home.teamId, started, both);
      this.deps.logger.info({ tenantId, groupId, teamId: home.teamId, installed }, "installed the app in a team of an audience");
      return { kind: "home", home, installed };
    } finally {
      clearTimeout(handle);
    }
  }

  /**
   * The team's conversation once installed: the install event's, else Graph's team id; polled
   * until `deadline`. `forbidden`: Graph refused to read the team (403, a permission the app
   * registration lacks): at once after a 409 (no install event will come), else at `deadline`.
   */
  private async homeAfterInstall(
    tenantId: string,
    groupId: string,
    installed: boolean,
    deadline: number,
    signal: AbortSignal,
  ): Promise<TeamHome | { forbidden: GraphError } | undefined> {
    const { clock } = this.deps;
    // A 409 sends no install event: ask Graph at once. A new install: give Teams' event a moment.
    let askGraphAt = installed ? clock.now() + (this.deps.eventWaitMs ?? 5_000) : clock.now();
    let forbidden: GraphError | undefined;
    for (;;) {
      const home = await this.known(tenantId, groupId);
      if (home) return home;
      if (signal.aborted || clock.now() >= deadline) return forbidden ? { forbidden } : undefined;
      if (clock.now() >= askGraphAt && forbidden === undefined) {
        askGraphAt = clock.now() + 2_000;
        const teamId = await this.deps.apps.teamInternalId(tenantId, groupId, signal).catch((e: unknown) => {
          // 403: Herald may not read teams (Team.ReadBasic.All). Asking again will not change that:
          // after a 409 no install event comes either, so the step ends now instead of at its timeout.
          if (e instanceof GraphError && e.status === 403) {
            forbidden = e;
            return undefined;
          }
          if (!(e instanceof GraphError && e.status === 404))
            this.deps.logger.warn({ tenantId, groupId, err: (e as Error).message }, "Graph gave no team id; waiting for the install event");
          return undefined;
        });
        if (teamId) {
          const serviceUrl = (await this.deps.directory.serviceUrlOf(tenantId)) ?? this.deps.defaultServiceUrl;
          return { teamId, tenantId, serviceUrl };
        }
        if (forbidden && !installed) return { forbidden };
      }
      await clock.sleep(Math.min(POLL_MS, Math.max(1, deadline - clock.now())), signal).catch(() => undefined);
    }
  }

  /** After a new install the bot endpoint welcomes the team: let that post go first (welcomeFirst, any process; bounded). */
  private async afterWelcome(teamId: string, since: number, signal: AbortSignal): Promise<void> {
    if (this.deps.welcomes) await welcomeFirst(this.deps.welcomes, teamId, since, signal);
  }

  /** Graph refused `GET /teams/{id}` and no install event gave the team: the permission to grant. */
  private unreadable(team: string, installed: boolean, e: GraphError): TeamReachOutcome {
    const said = `Graph answered ${e.status}${e.graphCode ? ` ${e.graphCode}` : ""}${e.serverMessage ? `: ${e.serverMessage}` : ""}`.slice(
      0,
      400,
    );
    return {
      kind: "refused",
      status: "failed",
      error: {
        code: installCodes.teamReadPermission,
        message:
          `${installed ? `The app was installed in ${team}, but Teams sent no install event and` : `The app is already in ${team} (Graph answered 409, so Teams sends no install event), and`} Herald may not read the team to learn its conversation: GET /teams/{id} was refused. An admin grants Herald's app registration the Microsoft Graph application permission ${teamReadPermission} with admin consent in this tenant, then sends again (or removes and adds the app in the team, whose install event tells Herald the team). ${said}`.slice(
            0,
            900,
          ),
      },
    };
  }

  private timedOut(team: string, timeoutMs: number, installed: boolean): TeamReachOutcome {
    return {
      kind: "refused",
      status: "failed",
      error: {
        code: installCodes.teamNotReached,
        message: `${installed ? `The app was installed in ${team}, but` : `Installing the app in ${team} did not finish:`} Herald did not learn the team's conversation within ${Math.round(timeoutMs / 1000)} s (no install event from Teams, and Graph gave no team id). Send again in a few minutes; the team is then known.`,
      },
    };
  }
}
