import type { MembersPage } from "../../connector/client.js";
import { authenticatedAnswer, isCredentialFailure } from "../dispatch/credentials.js";
import { judge, retryAfterHold } from "../dispatch/outcome.js";
import { rowCodes } from "../errors.js";
import { holdAfter429 } from "../limits/index.js";
import type { NewDelivery, Notification } from "../model.js";
import { conversationBucket, tenantBucket } from "../policies.js";
import { isGroupId } from "../request.js";
import type { TeamHome } from "../store/port.js";
import { claimRetries, withRetry } from "./blocked-retry.js";
import { channelRow, failedTeamRow, memberRow, uninstalledTeamRow, unreachedTeamRow } from "./rows.js";
import { append, blockedRetry, type ExpansionCursor, type ExpansionDeps } from "./stream.js";

/**
 * The expansion of team audiences (runExpansion in stream.ts): a channel post per team, or a 1:1
 * message to each member of each team's roster, read page by page. Teams named by Entra group id
 * that Herald does not know are reached first (the app installed through the install step).
 */
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
 * Teams of one notification reached (the app installed) at once. The installer's per-tenant
 * budget (`install:<tenant>`, 30/s) and wire limit (4 requests of a tenant on the wire) still
 * pace the Graph calls; this only keeps one team's welcome wait from holding the next install back
 * (8 teams took 8 install rounds one after another, now about one).
 */
const REACH_AT_ONCE = 8;

type Reached = { home: TeamHome } | { row: NewDelivery } | undefined;

/** A team named by its Entra group id (with the audience's tenantId): reached through the install step. */
const byGroup = (audience: TeamAudience, entry: string): boolean => audience.tenantId !== undefined && isGroupId(entry);

/**
 * A 19: entry beside group-id entries waits for them (`secondPass`): it may be one of their
 * teams, unknown to Herald until its group-id entry installed the app there.
 */
const secondPass = (audience: TeamAudience): boolean =>
  audience.tenantId !== undefined && audience.teams.some(isGroupId) && audience.teams.some((t) => !isGroupId(t));

/**
 * The group-id teams of the audience from index `from` on, reached REACH_AT_ONCE at a time ahead
 * of the caller, who takes each result in the audience's order (`take`).
 */
function reachAhead(
  audience: TeamAudience,
  from: number,
  tenants: readonly string[] | undefined,
  deps: ExpansionDeps,
): (index: number) => Promise<Reached> {
  const queue: number[] = [];
  for (let k = from; k < audience.teams.length; k++) if (byGroup(audience, audience.teams[k]!)) queue.push(k);
  const started = new Map<number, Promise<Reached>>();
  let next = 0;
  let running = 0;
  const launch = (): void => {
    while (running < REACH_AT_ONCE && next < queue.length && !deps.signal.aborted) {
      const k = queue[next++]!;
      running++;
      const p = teamHome(audience, audience.teams[k]!, tenants, deps).finally(() => {
        running--;
        launch();
      });
      p.catch(() => undefined); // awaited by `take`; an expansion that stopped early must not leave it unhandled
      started.set(k, p);
    }
  };
  launch();
  return (index) => {
    const p = started.get(index);
    started.delete(index);
    return p ?? teamHome(audience, audience.teams[index]!, tenants, deps);
  };
}

/**
 * Teams named by group id with deliverTo "channel" that Herald did not know when the
 * notification was accepted: reached (installed) REACH_AT_ONCE at a time, each General channel
 * row written as soon as its team is reached; 19: ids and teams known then were written at
 * acceptance (a row written twice is skipped by its key). A 19: id Herald did not know then comes
 * last: a group-id entry of the same team may have taught Herald the team meanwhile (its row is
 * then the same row, `channel:<19: id>`, so the team gets one post), else it fails as unknown.
 */
export async function expandTeamChannels(
  n: Notification,
  audience: TeamAudience,
  start: Extract<ExpansionCursor, { kind: "teams" }>,
  deps: ExpansionDeps,
): Promise<void> {
  const teams = audience.teams;
  const learnt = new Map<string, TeamHome>();
  const queue: number[] = [];
  for (let k = start.team; k < teams.length; k++) if (byGroup(audience, teams[k]!)) queue.push(k);
  // Each team's row is written as soon as it is reached (a team slow to install holds no other
  // back); the cursor moves over the entries done without a gap, so a crash reaches again only
  // those after it (their rows, if written, are skipped by key; a second install answers 409).
  const done = new Set<number>();
  const running = new Map<number, Promise<[number, Reached]>>();
  let next = 0;
  let cursor = start.team;
  while (next < queue.length || running.size > 0) {
    while (running.size < REACH_AT_ONCE && next < queue.length && !deps.signal.aborted) {
      const k = queue[next++]!;
      const p = teamHome(audience, teams[k]!, start.tenants, deps).then((g): [number, Reached] => [k, g]);
      p.catch(() => undefined); // raced below; one that fails after the expansion stopped must not go unhandled
      running.set(k, p);
    }
    if (running.size === 0) return; // aborted
    const [k, got] = await Promise.race(running.values());
    running.delete(k);
    done.add(k);
    if (deps.signal.aborted) return;
    while (cursor < teams.length && (!byGroup(audience, teams[cursor]!) || done.has(cursor))) cursor++;
    const rows: NewDelivery[] = [];
    if (got && "row" in got) rows.push(got.row);
    else if (got) {
      learnt.set(got.home.teamId, got.home);
      rows.push(channelRow(got.home.teamId, got.home));
    }
    if (!(await append(n, rows, { kind: "teams", team: cursor, tenants: start.tenants }, false, deps))) return;
  }
  const named = secondPass(audience) ? teams.filter((t) => !isGroupId(t)) : [];
  const homes = named.length > 0 ? await deps.directory.teams(named, start.tenants) : new Map<string, TeamHome>();
  const rows = named.map((id) => channelRow(id, homes.get(id) ?? learnt.get(id)));
  await append(n, rows, { kind: "teams", team: teams.length, tenants: start.tenants }, true, deps);
}

/**
 * Each team's members, team by team in the audience's order (group-id teams reached ahead,
 * REACH_AT_ONCE at a time). With `secondPass`, the group-id entries go first and the 19: entries
 * after them (cursor indexes teams.length + the entry's index): a 19: team one of them reached is
 * not read again; one Herald knows is read; one still unknown gets its failed row then.
 */
export async function expandMembers(
  n: Notification,
  audience: TeamAudience,
  start: Extract<ExpansionCursor, { kind: "members" }>,
  deps: ExpansionDeps,
): Promise<void> {
  const teams = audience.teams;
  const total = secondPass(audience) ? teams.length * 2 : teams.length;
  /** Teams whose roster this run read to its end: a second entry of one of them adds nothing. */
  const expanded = new Set<string>();
  const take = reachAhead(audience, Math.min(start.team, teams.length), start.tenants, deps);
  for (let i = start.team; i < total; i++) {
    if (deps.signal.aborted) return;
    const again = i >= teams.length;
    const entry = teams[i % teams.length]!;
    // With a second pass, the first takes the group-id entries and the second the 19: ones.
    if (total > teams.length && again === byGroup(audience, entry)) continue;
    const next = (token?: string): ExpansionCursor =>
      token ? { kind: "members", team: i, token, tenants: start.tenants } : { kind: "members", team: i + 1, tenants: start.tenants };
    let got: Reached;
    if (byGroup(audience, entry)) got = await take(i);
    else if (expanded.has(entry))
      continue; // its group-id entry's roster was read
    else {
      got = await teamHome(audience, entry, start.tenants, deps);
      // Unknown after the group-id entries: its failed row now (without a second pass it was written at acceptance).
      if (!got && again)
        got = {
          row: failedTeamRow(
            entry,
            "",
            rowCodes.unknownTeam,
            "Herald knows no conversation of this team; install the app in the team first.",
          ),
        };
    }
    if (deps.signal.aborted) return;
    if (!got) continue;
    if ("row" in got) {
      if (!(await append(n, [got.row], next(), false, deps))) return;
      continue;
    }
    const home = got.home;
    const teamId = home.teamId;
    if (expanded.has(teamId)) continue; // named twice (19: id and group id, or two spellings): read once
    let token = i === start.team ? start.token : undefined;
    for (;;) {
      if (deps.signal.aborted) return;
      const got = await rosterPage(home, token, deps);
      if (got === "aborted") return;
      if ("error" in got) {
        const row = failedTeamRow(teamId, home.tenantId, got.error.code, got.error.message);
        if (!(await append(n, [row], next(), false, deps))) return;
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
      if (!(await append(n, rows, next(page.continuationToken), false, deps))) return;
      if (!page.continuationToken) {
        expanded.add(teamId); // read to its end: another entry of the team adds nothing (a failed read may be tried again)
        break;
      }
      token = page.continuationToken;
    }
  }
  await append(n, [], { kind: "members", team: total }, true, deps);
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
  const keys = buckets.map((b) => b.key);
  let attempt = 0;
  const first = clock.now();
  let continuation = token;
  const gate = deps.credentials;
  const rowKey = `roster:${home.teamId}`;
  for (;;) {
    // While the bot's credentials fail, roster reads wait like sends (one probe when the wait ends).
    if (gate) {
      for (let wait = gate.waitMs(clock.now(), rowKey); wait > 0; wait = gate.waitMs(clock.now(), rowKey)) {
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
    if (gate && !gate.enter(entered, rowKey)) continue; // another request is the probe: wait again
    attempt++;
    const departure = gate?.depart() ?? 0;
    try {
      const page = await deps.connector.getPagedMembers(
        home.serviceUrl,
        home.teamId,
        { pageSize: deps.config.rosterPage, continuationToken: continuation },
        deps.signal,
      );
      // An answer: the credentials work (and a pause ends).
      gate?.succeeded(departure);
      gate?.settled(rowKey);
      return { page };
    } catch (e) {
      const now = clock.now();
      // The bot's credentials fail: wait for them without using up an attempt (credentials.ts). A
      // Connector 401 counts only until the Connector is seen accepting the credentials for others.
      if (gate && isCredentialFailure(e) && (e.source === "token" || gate.judge401(rowKey) === "credentials")) {
        gate.failed(e, departure);
        attempt--;
        continue;
      }
      if (gate) {
        if (authenticatedAnswer(e)) {
          gate.succeeded(departure);
          gate.settled(rowKey);
        } else gate.lost(entered);
      }
      const v = judge(e, { attempt, firstAttemptAt: first, now }, deps.random, deps.config.retry);
      if (v.kind === "aborted") return "aborted";
      if (v.kind === "failed" && continuation !== undefined && (e as { status?: number }).status === 400) {
        continuation = undefined;
        continue;
      }
      if (v.kind !== "retry") {
        // A 429 that ends the read (its Retry-After past the retry time bound) still holds the buckets.
        const until = retryAfterHold(e, now);
        if (until !== undefined) await holdAfter429(limiter, keys, until, deps.logger);
        const why = isCredentialFailure(e)
          ? `the Connector refused the bot's token for this team (401) although it accepted it for other requests: ${v.error.message}`
          : v.error.message;
        return { error: { code: v.error.code || rowCodes.rosterFailed, message: `Reading the team's members failed: ${why}` } };
      }
      // Roster reads of a team go one at a time within its read limit, so a 429 is most likely the tenant's: wait out both.
      if (v.throttled) await holdAfter429(limiter, keys, now + v.delayMs, deps.logger);
      deps.logger.warn({ teamId: home.teamId, attempt, delayMs: v.delayMs, error: v.error.code }, "reading a team roster failed; retrying");
      try {
        await clock.sleep(v.delayMs, deps.signal);
      } catch {
        return "aborted";
      }
    }
  }
}
