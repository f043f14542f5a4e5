import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Clock } from "../../clock.js";
import type { ConnectorClient } from "../../connector/client.js";
import type { Logger } from "../../log.js";
import type { DeliveryConfig } from "../config.js";
import type { CredentialGate } from "../dispatch/credentials.js";
import type { TeamReach } from "../install/team-reach.js";
import type { RateLimiter } from "../limits/index.js";
import type { NewDelivery, Notification } from "../model.js";
import type { Policies } from "../policies.js";
import type { ChatWindow, DeliveryStore, RecipientDirectory, StoredRecipient } from "../store/port.js";
import { type BlockedRetry, claimRetries, withRetry } from "./blocked-retry.js";
import type { DirectoryGraph } from "./directory-graph.js";
import { expandDirectory, expandGroups } from "./graph-stream.js";
import { conversationRow } from "./rows.js";
import { expandMembers, expandTeamChannels } from "./team-stream.js";

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

type AllCursor = {
  kind: "all";
  upTo?: number | undefined;
  afterId?: string | undefined;
  after?: number | undefined;
  directory?: boolean | undefined;
  next?: string | undefined;
};

/** Where a streaming expansion resumes after a crash (stored with each page, in its transaction). */
export type ExpansionCursor =
  /**
   * The stored chats, in two walks (022_personal_id_order):
   * - `upTo` set: the chats stored when the expansion began (`seq` ≤ `upTo`), in conversation-id
   *   order after `afterId`: a broadcast's rows then reach the indexes keyed by conversation id
   *   in their order, instead of one random page each;
   * - then `after`: the chats stored since (`seq` > `after`), in insertion order, to the end. A
   *   chat stored during the first walk is read here, whatever its id. This is the cursor of
   *   versions before 022, which walked everything this way: theirs resume here as they were.
   *   An older process given a cursor of the first walk (no `after`) starts again from the first
   *   chat; the rows already written are skipped by their recipient keys.
   * `directory`: the stored chats are done; the tenant's directory (includeUninstalled) resumes at `next`.
   */
  | AllCursor
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
 * - `all`: active personal chats, `expansionPage` at a time: those stored when it began in
 *   conversation-id order, then those stored since in insertion order (`AllCursor`);
 * - teams with `deliverTo: "members"`: each roster through `pagedmembers` and its continuation
 *   tokens (rate-limited like any request to Teams, retried per the retry table); members without
 *   a chat get one created when their row is sent.
 */
export async function runExpansion(n: Notification, stored: unknown, deps: ExpansionDeps): Promise<void> {
  const cursor = stored as ExpansionCursor | undefined;
  if ("all" in n.audience) {
    const c = cursor?.kind === "all" ? cursor : undefined;
    const tenantId = n.audience.tenantId;
    if (!c?.directory && !(await expandAll(n, tenantId, c, deps, n.audience.includeUninstalled === true))) return;
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
  /** A window of the walk by id whose other active chats the store writes itself (`DeliveryStore.appendDeliveries`). */
  window?: ChatWindow,
): Promise<boolean> {
  const placed = deps.placeRows && rows.length > 0 ? await deps.placeRows(n, rows) : rows;
  const r = await deps.store.appendDeliveries(n.id, deps.owner, placed, { cursor, done }, deps.clock.now(), window);
  if (r.tenants.length > 0) deps.announce(n.id, r.tenants);
  return r.accepted;
}

/** The stored chats; with `more` (the directory follows) the last page does not end the expansion. Returns whether it finished. */
async function expandAll(
  n: Notification,
  tenantId: string | undefined,
  start: AllCursor | undefined,
  deps: ExpansionDeps,
  more = false,
): Promise<boolean> {
  let at: AllCursor = start ?? { kind: "all", upTo: await deps.directory.lastSeq() };
  const size = deps.config.expansionPage;
  for (;;) {
    // SQLite answers synchronously: without this the whole expansion is one chain of microtasks,
    // and a 1,000,000-chat broadcast kept the event loop (HTTP requests, sends, timers) for minutes.
    await yieldToEventLoop();
    if (deps.signal.aborted) return false;
    let items: StoredRecipient[];
    let next: AllCursor;
    let window: ChatWindow | undefined;
    if (at.upTo !== undefined && n.schedule === undefined) {
      // The store writes the window's rows itself (chat-window.ts); only the chats that need a
      // decision in code cross over. A local-time schedule places each row by its user's zone:
      // that notification reads its pages, below.
      const w = await deps.directory.personalWindow(tenantId, at.afterId, at.upTo, size);
      items = w.decide;
      window = w.window;
      next = nextById(at.upTo, w.count, size, w.window?.last);
    } else if (at.upTo !== undefined) {
      const page = await deps.directory.personalPageById(tenantId, at.afterId, at.upTo, size);
      items = page.items;
      next = nextById(at.upTo, page.items.length, size, page.last);
    } else {
      const page = await deps.directory.personalPage(tenantId, at.after, size);
      items = page.items;
      next = { kind: "all", after: page.last ?? at.after };
    }
    const done = at.upTo === undefined && items.length < size;
    // Blocked chats are read too: those due for a retry are sent, the others skipped as before.
    const claimed = await claimRetries(items, deps.directory, blockedRetry(deps));
    const rows = items
      .filter((r) => r.status !== "blocked" || claimed.has(r.conversationId))
      .map((r) => conversationRow(withRetry(r, claimed) ?? r, n.category));
    const cursor: ExpansionCursor = done && more ? { ...next, directory: true } : next;
    if (!(await append(n, rows, cursor, done && !more, deps, window))) return false;
    if (done) return true;
    at = next;
  }
}

/** After a page of the walk by id: its next page, or when it was short, the walk by seq of the chats stored since (from a little before `upTo`, see `seqOverlap`). */
function nextById(upTo: number, count: number, size: number, last: string | undefined): AllCursor {
  return count < size ? { kind: "all", after: Math.max(0, upTo - seqOverlap) } : { kind: "all", upTo, afterId: last };
}

/**
 * How far before `upTo` the walk by seq starts. On PostgreSQL a seq is taken when a chat's insert
 * begins and seen when it commits: `upTo` (the highest seq seen) can pass a lower one still
 * uncommitted, whose chat the walk by id then misses if its id sorts behind the walk. One seq per
 * insert in flight: this is more than the connections of any deployment. Chats read twice add
 * nothing (recipient keys are unique); on SQLite, where writes commit in seq order, this costs one
 * page read again.
 */
const seqOverlap = 1_000;

export const blockedRetry = (deps: ExpansionDeps): BlockedRetry => ({ intervalMs: deps.config.blockedRetryMs, now: deps.clock.now() });
