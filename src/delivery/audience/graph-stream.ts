import type { GraphUser } from "../../graph/apps.js";
import { GraphError } from "../../graph/errors.js";
import type { NewDelivery, Notification } from "../model.js";
import type { StoredRecipient } from "../store/port.js";
import { claimRetries, withRetry } from "./blocked-retry.js";
import { failedGroupRow } from "./group-rows.js";
import { canonicalUserId, conversationRow, lookupForms, userRow } from "./rows.js";
import { append, type ExpansionCursor, type ExpansionDeps } from "./stream.js";

/**
 * Audiences read from Microsoft Graph, streamed like team rosters (stream.ts): one page of users
 * at a time, each page written with the `@odata.nextLink` that follows it, so a group of 100,000
 * is never in memory and a crash resumes at the page it was on. Users are keyed like every user
 * row (`user:<tenant>:<id>`), so someone in two groups, or named in a group and found again in
 * the directory, is one recipient.
 */

/** `{groups, tenantId}`: each group's transitive members that are users. */
export async function expandGroups(
  n: Notification,
  audience: { groups: string[]; tenantId: string },
  start: Extract<ExpansionCursor, { kind: "groups" }>,
  deps: ExpansionDeps,
): Promise<void> {
  const { groups, tenantId } = audience;
  for (let i = start.group; i < groups.length; i++) {
    const groupId = groups[i]!;
    const graph = deps.graph;
    if (!graph) {
      const row = failedGroupRow(
        groupId,
        tenantId,
        "HERALD_E_GRAPH_REQUIRED",
        "Group audiences are read through Microsoft Graph: give Herald credentials (and HERALD_GRAPH_URL for an emulator).",
      );
      if (!(await append(n, [row], { kind: "groups", group: i + 1 }, false, deps))) return;
      continue;
    }
    let path = (i === start.group ? start.next : undefined) ?? graph.groupMembersPath(groupId);
    for (;;) {
      const page = await readUserPage(graph, tenantId, path, n, deps, false);
      if (!page) return;
      if ("error" in page) {
        const e = page.error;
        const code = e instanceof GraphError ? `graph/${e.status ?? "network"}${e.graphCode ? `/${e.graphCode}` : ""}` : "HERALD_E_GRAPH";
        const row = failedGroupRow(
          groupId,
          tenantId,
          code,
          `Reading the group's members through Graph failed: ${(e as Error).message}`.slice(0, 600),
        );
        if (!(await append(n, [row], { kind: "groups", group: i + 1 }, false, deps))) return;
        break;
      }
      const next: ExpansionCursor = page.next ? { kind: "groups", group: i, next: page.next } : { kind: "groups", group: i + 1 };
      if (!(await append(n, page.rows, next, false, deps))) return;
      if (!page.next) break;
      path = page.next;
    }
  }
  await append(n, [], { kind: "groups", group: groups.length }, true, deps);
}

/**
 * `{all: true, tenantId, includeUninstalled: true}`, after the stored chats: the tenant's
 * directory users Herald has no usable chat with (never installed, or uninstalled since).
 */
export async function expandDirectory(n: Notification, tenantId: string, start: string | undefined, deps: ExpansionDeps): Promise<void> {
  const graph = deps.graph;
  let path = start ?? graph?.usersPath();
  while (graph && path !== undefined) {
    const page = await readUserPage(graph, tenantId, path, n, deps, true);
    if (!page) return;
    if ("error" in page) {
      deps.logger.warn(
        { tenantId, err: (page.error as Error).message },
        "reading the tenant's directory through Graph failed; its users without a chat are left out",
      );
      break;
    }
    const cursor: ExpansionCursor = { kind: "all", directory: true, next: page.next };
    if (!(await append(n, page.rows, cursor, page.next === undefined, deps))) return;
    if (page.next === undefined) return;
    path = page.next;
  }
  await append(n, [], { kind: "all", directory: true }, true, deps);
}

/**
 * One page of users from Graph at `path`, as rows (userRows with `skipReachable`) and the path of
 * the next page; `{ error }` when Graph failed (the caller decides what that means), undefined
 * when the expansion was stopped (before the request, or while it failed).
 */
async function readUserPage(
  graph: NonNullable<ExpansionDeps["graph"]>,
  tenantId: string,
  path: string,
  n: Notification,
  deps: ExpansionDeps,
  skipReachable: boolean,
): Promise<{ rows: NewDelivery[]; next: string | undefined } | { error: unknown } | undefined> {
  if (deps.signal.aborted) return undefined;
  let page: Awaited<ReturnType<typeof graph.userPage>>;
  try {
    page = await graph.userPage(tenantId, path, deps.signal);
  } catch (e) {
    return deps.signal.aborted ? undefined : { error: e };
  }
  const rows = await userRows(page.users, tenantId, n, deps, skipReachable);
  return { rows, next: page.next };
}

/**
 * Rows for a page of directory users. With `skipReachable` (after the `all` pass over the stored
 * chats) a user whose stored chat can be messaged is not a user row: an active chat gives its
 * conversation row again, under the `conv:<id>` key the `all` pass used, so that it adds nothing
 * where that pass wrote it and reaches the user where it did not (a chat stored, or installed
 * again, after the pass went by); a blocked one stays the pass's to retry or skip. A user with no
 * chat keeps the directory's display name on the row (`${name}`, and the welcome after the
 * install needs no member read from Teams).
 */
async function userRows(
  users: readonly GraphUser[],
  tenantId: string,
  n: Notification,
  deps: ExpansionDeps,
  skipReachable: boolean,
): Promise<NewDelivery[]> {
  const names = new Map(users.map((u) => [canonicalUserId(u.id), u.displayName]));
  const unique = [...new Map(users.map((u) => [canonicalUserId(u.id), u.id])).values()];
  if (unique.length === 0) return [];
  const found = await deps.directory.personalChats(unique.flatMap(lookupForms), tenantId);
  const chats = new Map<string, StoredRecipient>();
  for (const id of unique) {
    const chat = lookupForms(id)
      .map((f) => found.get(f))
      .find((c) => c !== undefined);
    if (chat) chats.set(id, chat);
  }
  const reachable = (c: StoredRecipient | undefined) => c !== undefined && c.status !== "uninstalled" && c.status !== "deleted";
  const wanted = skipReachable ? unique.filter((id) => !reachable(chats.get(id))) : unique;
  const again = skipReachable ? [...chats.values()].filter((c) => c.status === "active") : [];
  if (skipReachable) for (const id of wanted) chats.delete(id);
  const claimed = await claimRetries(chats.values(), deps.directory, { intervalMs: deps.config.blockedRetryMs, now: deps.clock.now() });
  const missing = wanted.filter((id) => !chats.has(id));
  const prefs = missing.length > 0 ? await deps.directory.preferences(tenantId, missing) : new Map();
  const serviceUrl = missing.length > 0 ? ((await deps.directory.serviceUrlOf(tenantId)) ?? deps.config.defaultServiceUrl) : undefined;
  return [
    ...again.map((c) => conversationRow(c, n.category)),
    ...wanted.map((id) =>
      userRow(id, withRetry(chats.get(id), claimed), tenantId, serviceUrl, prefs.get(id), n.category, names.get(canonicalUserId(id))),
    ),
  ];
}
