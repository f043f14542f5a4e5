import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Clock } from "../../clock.js";
import type { ConnectorClient, MembersPage } from "../../connector/client.js";
import type { Logger } from "../../log.js";
import type { DeliveryConfig } from "../config.js";
import { authenticatedAnswer, type CredentialGate, isCredentialFailure } from "../dispatch/credentials.js";
import { judge } from "../dispatch/outcome.js";
import { rowCodes } from "../errors.js";
import type { TeamReach } from "../install/team-reach.js";
import type { RateLimiter } from "../limits/index.js";
import type { NewDelivery, Notification } from "../model.js";
import { conversationBucket, type Policies, tenantBucket } from "../policies.js";
import { isGroupId } from "../request.js";
import type { DeliveryStore, RecipientDirectory, TeamHome } from "../store/port.js";
import { type BlockedRetry, claimRetries, withRetry } from "./blocked-retry.js";
import type { DirectoryGraph } from "./directory-graph.js";
import { expandDirectory, expandGroups } from "./graph-stream.js";
import { channelRow, conversationRow, failedTeamRow, memberRow, uninstalledTeamRow, unreachedTeamRow } from "./rows.js";

export interface ExpansionDeps {
  store: DeliveryStore;
  directory: RecipientDirectory;
  connector: ConnectorClient;
  limiter: RateLimiter;
  policies: Policies;
  clock: Clock;
  config: Readonly<DeliveryConfig>;
  logger: Logger;
  random: () => number;
  /** Pauses roster reads while the bot's credentials fail, instead of failing the team. */
  credentials?: CredentialGate | undefined;
  /** Microsoft Graph for groups and `includeUninstalled` (absent: those audiences fail per group / skip the directory). */
  graph?: DirectoryGraph | undefined;
  /** This process's worker id (the expansion's owner). */
  owner: string;
  /** Rows were added in these tenants: the lanes start sending them. */
  announce(notificationId: string, tenants: readonly string[]): void;
  signal: AbortSignal;
  /** Installs the app in a team named by group id where the bot is missing (HERALD_AUTO_INSTALL); absent: no installs. */
  teams?: TeamReach | undefined;
  /** Places a page's rows by the notification's local-time schedule before they are written. */
  placeRows?: ((n: Notification, rows: NewDelivery[]) => Promise<NewDelivery[]>) | undefined;
}

/** Where a streaming expansion resumes after a crash (stored with each page, in its transaction). */
export type ExpansionCursor =
  /** `directory`: the stored chats are done; the tenant's directory (includeUninstalled) resumes at `next`. */
  | { kind: "all"; after?: number | undefined; directory?: boolean | undefined; next?: string | undefined }
  /** Entra groups through Graph: group index and the `@odata.nextLink` to resume at. */
  | { kind: "groups"; group: number; next?: string | undefined }
  /** `tenants`: the tenant-limited sender's tenants; a team outside them is not expanded. */
  | { kind: "members"; team: number; token?: string | undefined; tenants?: string[] | undefined }
  /** Teams named by Entra group id, posted to in General once reached (installed): the team index to resume at. */
  | { kind: "teams"; team: number; tenants?: string[] | undefined };

/**
 * Streams an audience into delivery rows, page by page, each page written with the cursor that
 * follows it in one transaction: a crash resumes at the last page written, and a page read twice
 * adds nothing (recipient keys are unique). Memory holds one page, never the audience; sending
 * starts with the first page.
 * - `all`: active personal chats in insertion order, `expansionPage` at a time;
 * - teams with `deliverTo: "members"`: each roster through `pagedmembers` and its continuation
 *   tokens (rate-limited like any request to Teams, retried per the retry table); members without
 *   a chat get one created when their row is sent.
 */
export async function runExpansion(n: Notification, stored: unknown, deps: ExpansionDeps): Promise<void> {
  const cursor = stored as ExpansionCursor | undefined;
  if ("all" in n.audience) {
    const c = cursor?.kind === "all" ? cursor : undefined;
    const tenantId = n.audience.tenantId;
    if (!c?.directory && !(await expandAll(n, tenantId, c?.after, deps, n.audience.includeUninstalled === true))) return;
    if (n.audience.includeUninstalled && tenantId !== undefined)
      await expandDirectory(n, tenantId, c?.directory ? c.next : undefined, deps);
    return;
  }
  if ("groups" in n.audience) return expandGroups(n, n.audience, cursor?.kind === "groups" ? cursor : { kind: "groups", group: 0 }, deps);
  if ("teams" in n.audience && n.audience.deliverTo === "members") {
    return expandMembers(n, n.audience, cursor?.kind === "members" ? cursor : { kind: "members", team: 0 }, deps);
  }
  if ("teams" in n.audience) return expandTeamChannels(n, n.audience, cursor?.kind === "teams" ? cursor : { kind: "teams", team: 0 }, deps);
  await append(n, [], { kind: "all" }, true, deps);
}

/** Write a page of rows with the cursor that follows it (one transaction); false when the expansion lost its claim. */
export async function append(
  n: Notification,
  rows: NewDelivery[],
  cursor: ExpansionCursor,
  done: boolean,
  deps: ExpansionDeps,
): Promise<boolean> {
  const placed = deps.placeRows && rows.length > 0 ? await deps.placeRows(n, rows) : rows;
  const r = await deps.store.appendDeliveries(n.id, deps.owner, placed, { cursor, done }, deps.clock.now());
  if (r.tenants.length > 0) deps.announce(n.id, r.tenants);
  return r.accepted;
}

/** The stored chats; with `more` (the directory follows) the last page does not end the expansion. Returns whether it finished. */
async function expandAll(
  n: Notification,
  tenantId: string | undefined,
  start: number | undefined,
  deps: ExpansionDeps,
  more = false,
): Promise<boolean> {
  let after = start;
  const size = deps.config.expansionPage;
  for (;;) {
    // SQLite answers synchronously: without this the whole expansion is one chain of microtasks,
    // and a 1,000,000-chat broadcast kept the event loop (HTTP requests, sends, timers) for minutes.
    await yieldToEventLoop();
    if (deps.signal.aborted) return false;
    const page = await deps.directory.personalPage(tenantId, after, size);
    const done = page.items.length < size;
    after = page.last ?? after;
    // Blocked chats are read too: those due for a retry are sent, the others skipped as before.
    const claimed = await claimRetries(page.items, deps.directory, blockedRetry(deps));
    const rows = page.items
      .filter((r) => r.status !== "blocked" || claimed.has(r.conversationId))
      .map((r) => conversationRow(withRetry(r, claimed) ?? r, n.category));
    const cursor: ExpansionCursor = done && more ? { kind: "all", after, directory: true } : { kind: "all", after };
    if (!(await append(n, rows, cursor, done && !more, deps))) return false;
    if (done) return true;
  }
}

type TeamAudience = Extract<Notification["audience"], { teams: string[] }>;

/**
 * Where a team of the audience lives: a 19: id from the stored conversations; a group id (with
 * the audience's tenantId) from the stored aadGroupId, else reached through the install step.
 * `undefined`: nothing to do here (its row was written when the notification was accepted);
 * `row`: the team could not be reached (the install refused or timed out).
 */
async function teamHome(
  audience: TeamAudience,
  entry: string,
  tenants: readonly string[] | undefined,
  deps: ExpansionDeps,
): Promise<{ home: TeamHome } | { row: NewDelivery } | undefined> {
  const tenantId = audience.tenantId;
  if (tenantId === undefined || !isGroupId(entry)) {
    const home = (await deps.directory.teams([entry], tenants)).get(entry);
    return home ? { home } : undefined;
  }
  const known = (await deps.directory.teamsByGroup([entry], tenantId, tenants)).get(entry.toLowerCase());
  if (known?.active) return { home: known };
  if (tenants !== undefined && !tenants.includes(tenantId)) return undefined;
  // This process cannot install (HERALD_AUTO_INSTALL off now, or no Graph): the team still gets its row.
  if (!deps.teams) return { row: uninstalledTeamRow(entry, tenantId) };
  const reached = await deps.teams.reach(tenantId, entry, deps.signal);
  if (reached.kind === "home") return { home: reached.home };
  if (deps.signal.aborted) return undefined;
  return { row: unreachedTeamRow(entry, tenantId, reached.status, reached.error) };
}

/**
 * Teams named by group id with deliverTo "channel" that Herald did not know when the
 * notification was accepted: each is reached (the app installed), then its General channel row
 * written; 19: ids and teams known then were written at acceptance (a row written twice is skipped by its key).
 */
async function expandTeamChannels(
  n: Notification,
  audience: TeamAudience,
  start: Extract<ExpansionCursor, { kind: "teams" }>,
  deps: ExpansionDeps,
): Promise<void> {
  const teams = audience.teams;
  for (let i = start.team; i < teams.length; i++) {
    if (deps.signal.aborted) return;
    const entry = teams[i]!;
    if (audience.tenantId === undefined || !isGroupId(entry)) continue;
    const got = await teamHome(audience, entry, start.tenants, deps);
    if (deps.signal.aborted) return;
    if (got === undefined) continue;
    const row = "row" in got ? got.row : channelRow(got.home.teamId, got.home);
    if (!(await append(n, [row], { kind: "teams", team: i + 1, tenants: start.tenants }, false, deps))) return;
  }
  await append(n, [], { kind: "teams", team: teams.length, tenants: start.tenants }, true, deps);
}

async function expandMembers(
  n: Notification,
  audience: TeamAudience,
  start: Extract<ExpansionCursor, { kind: "members" }>,
  deps: ExpansionDeps,
): Promise<void> {
  const teams = audience.teams;
  for (let i = start.team; i < teams.length; i++) {
    if (deps.signal.aborted) return;
    const got = await teamHome(audience, teams[i]!, start.tenants, deps);
    if (deps.signal.aborted) return;
    if (!got) continue; // written as a failed row when the notification was accepted
    if ("row" in got) {
      if (!(await append(n, [got.row], { kind: "members", team: i + 1, tenants: start.tenants }, false, deps))) return;
      continue;
    }
    const home = got.home;
    const teamId = home.teamId;
    let token = i === start.team ? start.token : undefined;
    for (;;) {
      if (deps.signal.aborted) return;
      const got = await rosterPage(home, token, deps);
      if (got === "aborted") return;
      if ("error" in got) {
        const row = failedTeamRow(teamId, home.tenantId, got.error.code, got.error.message);
        if (!(await append(n, [row], { kind: "members", team: i + 1, tenants: start.tenants }, false, deps))) return;
        break;
      }
      const page = got.page;
      const members = page.members.filter((m) => !m.id.startsWith("28:"));
      const ids = members.map((m) => m.id);
      const chats = await deps.directory.personalChats(ids, home.tenantId);
      const claimed = await claimRetries(chats.values(), deps.directory, blockedRetry(deps));
      const missing = ids.filter((id) => !chats.has(id));
      const prefs = missing.length > 0 ? await deps.directory.preferences(home.tenantId, missing) : new Map();
      const rows = members.map((m) => memberRow(m, home, withRetry(chats.get(m.id), claimed), prefs.get(m.id), n.category));
      const next: ExpansionCursor = page.continuationToken
        ? { kind: "members", team: i, token: page.continuationToken, tenants: start.tenants }
        : { kind: "members", team: i + 1, tenants: start.tenants };
      if (!(await append(n, rows, next, false, deps))) return;
      if (!page.continuationToken) break;
      token = page.continuationToken;
    }
  }
  await append(n, [], { kind: "members", team: teams.length }, true, deps);
}

/**
 * One roster page, within the tenant's and the team's read limits, retried per the retry table.
 * A continuation token Teams no longer accepts (400) restarts the roster from the beginning: rows
 * already written are skipped by their keys.
 */
async function rosterPage(
  home: TeamHome,
  token: string | undefined,
  deps: ExpansionDeps,
): Promise<{ page: MembersPage } | { error: { code: string; message: string } } | "aborted"> {
  const { clock, limiter, policies } = deps;
  const buckets = [conversationBucket(policies, "read", home.teamId), tenantBucket(policies, home.tenantId)];
  let attempt = 0;
  const first = clock.now();
  let continuation = token;
  const gate = deps.credentials;
  const rowKey = `roster:${home.teamId}`;
  for (;;) {
    // While the bot's credentials fail, roster reads wait like sends (one probe when the wait ends).
    if (gate) {
      for (let wait = gate.waitMs(clock.now()); wait > 0; wait = gate.waitMs(clock.now())) {
        try {
          await clock.sleep(wait, deps.signal);
        } catch {
          return "aborted";
        }
      }
    }
    for (;;) {
      const wait = await limiter.tryAcquire(buckets, clock.now());
      if (wait === 0) break;
      try {
        await clock.sleep(wait, deps.signal);
      } catch {
        return "aborted";
      }
    }
    const entered = clock.now();
    if (gate && !gate.enter(entered)) continue; // another request is the probe: wait again
    attempt++;
    try {
      const page = await deps.connector.getPagedMembers(
        home.serviceUrl,
        home.teamId,
        { pageSize: deps.config.rosterPage, continuationToken: continuation },
        deps.signal,
      );
      // An answer: the credentials work (and a pause ends).
      gate?.succeeded(entered);
      gate?.settled(rowKey);
      return { page };
    } catch (e) {
      const now = clock.now();
      // The bot's credentials fail: wait for them without using up an attempt (credentials.ts). A
      // Connector 401 counts only until the Connector is seen accepting the credentials for others.
      if (gate && isCredentialFailure(e) && (e.source === "token" || gate.judge401(rowKey) === "credentials")) {
        gate.failed(e);
        attempt--;
        continue;
      }
      if (gate) {
        if (authenticatedAnswer(e)) gate.succeeded(entered);
        else gate.lost(entered);
      }
      const v = judge(e, { attempt, firstAttemptAt: first, now }, deps.random, deps.config.retry);
      if (v.kind === "aborted") return "aborted";
      if (v.kind === "failed" && continuation !== undefined && (e as { status?: number }).status === 400) {
        continuation = undefined;
        continue;
      }
      if (v.kind !== "retry") {
        const why = isCredentialFailure(e)
          ? `the Connector refused the bot's token for this team (401) although it accepted it for other requests: ${v.error.message}`
          : v.error.message;
        return { error: { code: v.error.code || rowCodes.rosterFailed, message: `Reading the team's members failed: ${why}` } };
      }
      // Roster reads of a team go one at a time within its read limit, so a 429 is most likely the tenant's: wait out both.
      if (v.throttled) for (const b of buckets) await limiter.block(b.key, now + v.delayMs);
      deps.logger.warn({ teamId: home.teamId, attempt, delayMs: v.delayMs, error: v.error.code }, "reading a team roster failed; retrying");
      try {
        await clock.sleep(v.delayMs, deps.signal);
      } catch {
        return "aborted";
      }
    }
  }
}

const blockedRetry = (deps: ExpansionDeps): BlockedRetry => ({ intervalMs: deps.config.blockedRetryMs, now: deps.clock.now() });
