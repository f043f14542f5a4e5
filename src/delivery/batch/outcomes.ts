import { retryTable } from "../retry.js";
import type { BatchOutcome, BatchRow } from "./port.js";

/**
 * Pure pieces of the batch path: whom a row names to Teams, how rows are grouped into requests,
 * and what a failed entry or an ended operation means for a row.
 */

/** The id a batch names the row's recipient by, and which endpoint; undefined when a batch cannot name it. */
export function memberOf(row: BatchRow): { kind: "users" | "channels"; id: string } | undefined {
  if (row.kind === "channel") {
    const id = row.targetId ?? row.conversationId;
    return id ? { kind: "channels", id } : undefined;
  }
  if (row.userId?.startsWith("29:")) return { kind: "users", id: row.userId };
  if (row.targetId?.startsWith("29:")) return { kind: "users", id: row.targetId };
  return undefined;
}

/** Rows that go in one request: same tenant, serviceUrl and endpoint. */
export interface BatchGroup {
  tenantId: string;
  serviceUrl: string;
  kind: "users" | "channels";
  /** Member id → row seq (one row per member: a second row naming the same member is a duplicate). */
  members: Map<string, number>;
  /** Rows naming a member another row of this batch already names. */
  duplicates: number[];
  /** Row seq → its stored conversation, when it has one (to mark it blocked or uninstalled). */
  conversations: Map<number, string>;
}

/** Group rows by tenant, serviceUrl (the row's, else `fallback(tenant)`) and endpoint. */
export function groupRows(rows: readonly BatchRow[], fallback: (tenantId: string) => string): BatchGroup[] {
  const groups = new Map<string, BatchGroup>();
  for (const row of rows) {
    const m = memberOf(row);
    if (!m) continue;
    const serviceUrl = row.serviceUrl ?? fallback(row.tenantId);
    const key = `${row.tenantId}\u0000${serviceUrl}\u0000${m.kind}`;
    let g = groups.get(key);
    if (!g) {
      g = { tenantId: row.tenantId, serviceUrl, kind: m.kind, members: new Map(), duplicates: [], conversations: new Map() };
      groups.set(key, g);
    }
    if (g.members.has(m.id)) g.duplicates.push(row.seq);
    else g.members.set(m.id, row.seq);
    if (row.conversationId !== undefined) g.conversations.set(row.seq, row.conversationId);
  }
  return [...groups.values()];
}

/** What a sent row says: it was sent, and why it has no activity id. */
export function sentOutcome(operationId: string): BatchOutcome {
  return {
    status: "sent",
    code: "batch/sent",
    message: `Sent by Teams batch operation ${operationId}. Teams returns no activity id for batch sends, so this copy cannot be edited or recalled.`,
  };
}

/** A failed entry's Teams code (e.g. `MessageWritesBlocked`) as a row outcome, through the retry table's codes. */
export function failedEntryOutcome(error: string): BatchOutcome {
  const want = error.toLowerCase();
  const row = retryTable.find((r) => r.code?.toLowerCase() === want);
  const code = row ? `${row.status}/${error}` : `batch/${error}`;
  const message = `Teams' batch operation could not deliver to this recipient (${error})${row ? `: ${row.why}` : ""}.`;
  if (row?.outcome === "blocked") return { status: "blocked", code, message };
  if (row?.outcome === "notFound") return { status: "notFound", code, message };
  return { status: "failed", code, message };
}

/**
 * Rows of an operation that ended without finishing (canceled, failed, or forgotten by Teams):
 * Teams may or may not have delivered them. `why`: what Teams' report lacked, when it says so.
 */
export function unfinishedOutcome(operationId: string, state: string, why?: string): BatchOutcome {
  return {
    status: "unknown",
    code: `batch/${state}`,
    message: `Teams' batch operation ${operationId} ended ${state} before reporting this recipient${why ? ` (${why})` : ""}; it may or may not have received the message.`,
  };
}

/** Delivered and failed entries as the state's status counts say (`counted`: it carries any count at all). */
export function statusTotals(statusMap: Readonly<Record<string, number>>): { counted: boolean; delivered: number; failed: number } {
  let delivered = 0;
  let failed = 0;
  for (const [status, n] of Object.entries(statusMap)) {
    if (status.startsWith("2")) delivered += n;
    else failed += n;
  }
  return { counted: Object.keys(statusMap).length > 0, delivered, failed };
}

/**
 * Whether the failed entries of an ended operation must be read (every page) before its rows
 * are written: unless its status counts are there and add up to `submitted` deliveries with no
 * failure, they are the only word on which recipients failed. An answer without counts (`{}`,
 * which the protocol allows) or with fewer deliveries than recipients submitted says nothing
 * about who got it, so the entries are read whatever the state.
 */
export function mustReadFailures(state: { statusMap: Readonly<Record<string, number>> }, submitted: number): boolean {
  const t = statusTotals(state.statusMap);
  return !t.counted || t.failed > 0 || t.delivered !== submitted;
}

/** Teams' words for an operation that is still working. */
export function isRunningState(state: string): boolean {
  const s = state.toLowerCase();
  return s === "inprogress" || s === "notstarted" || s === "running" || s === "queued";
}

/** What an ended operation means for its rows: the failed entries' outcomes by row, and every other row's. */
export interface OperationOutcomes {
  /** Row seq → the outcome of its failed entry. */
  outcomes: Map<number, BatchOutcome>;
  /** The outcome of the operation's rows no failed entry names. */
  rest: BatchOutcome;
}

const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * The rows of an operation, once it ended (`state` undefined = Teams forgot it). Each failed
 * entry goes to the row of its member. The other rows:
 * - `Completed`: `sent`, unless Teams' report does not add up (a failed entry names a member
 *   Herald did not send, the status counts more failures than the entries name, or fewer
 *   deliveries than the rows no entry names): then Herald
 *   cannot tell which rows the unaccounted failures were, and none claims `sent`: `unknown`,
 *   saying why and naming the operation;
 * - ended otherwise (`Canceled`, `Failed`...): when the report adds up and counts no delivery at
 *   all, a canceled operation Herald asked to cancel (`recalled`) sent them nothing: `canceled`;
 *   when it counts exactly one delivery per such row, they were all delivered: `sent`; anything
 *   else `unknown` (they may or may not have received it).
 * A state without status counts (`{}`) confirms nothing: the rows no failed entry names end
 * `unknown` whatever the state (`batch/unconfirmed` when it says `Completed`; a canceled one may
 * have sent some copies before it stopped), never `sent` nor `canceled`.
 */
export function operationOutcomes(
  operationId: string,
  state: { state: string; statusMap: Record<string, number> } | undefined,
  entries: readonly { id: string; error: string }[] | undefined,
  members: ReadonlyMap<string, number>,
  recalled: boolean,
): OperationOutcomes {
  const outcomes = new Map<number, BatchOutcome>();
  // No state, or failed entries Teams no longer has (404): which rows failed is unknown.
  if (!state || !entries) return { outcomes, rest: unfinishedOutcome(operationId, "Forgotten") };
  const strangers: string[] = [];
  for (const e of entries) {
    const seq = members.get(e.id);
    if (seq === undefined) strangers.push(e.id);
    else outcomes.set(seq, failedEntryOutcome(e.error));
  }
  const { counted, delivered, failed } = statusTotals(state.statusMap);
  let why: string | undefined;
  if (strangers.length > 0)
    why = `${plural(strangers.length, "of its failed entries names", "of its failed entries name")} no recipient Herald sent it (${strangers.slice(0, 3).join(", ")}${strangers.length > 3 ? ", ..." : ""})`;
  else if (failed > outcomes.size)
    why = `its status counts ${failed} failed but its failed entries name only ${outcomes.size} of Herald's recipients`;
  const unreported = members.size - outcomes.size;
  const ended = state.state.toLowerCase();
  // No counts: Teams reported no delivery at all, so none is confirmed (nor, for a canceled
  // operation, that it sent nothing: it may have sent some copies before it stopped).
  if (!counted) {
    const none = "its state carries no status counts, so no delivery is confirmed";
    if (ended === "completed")
      return {
        outcomes,
        rest: unconfirmedOutcome(
          operationId,
          why ?? none,
          why ? undefined : "Herald read its failed entries (their recipients end with their error) but cannot confirm the others",
        ),
      };
    return { outcomes, rest: unfinishedOutcome(operationId, state.state, why ?? none) };
  }
  // A status map that counts anything must count a delivery for each recipient it reports no failure for.
  if (!why && ended === "completed" && delivered < unreported)
    why = `its status counts ${delivered} delivered for ${unreported} recipients it reports no failure for`;
  if (ended === "completed") return { outcomes, rest: why ? unconfirmedOutcome(operationId, why) : sentOutcome(operationId) };
  if (!why && delivered === 0 && recalled && ended === "canceled")
    return {
      outcomes,
      rest: {
        status: "canceled",
        code: "batch/Canceled",
        message: `Recalled: Teams' batch operation ${operationId} was canceled before it sent this copy (Teams counts no delivery of it).`,
      },
    };
  if (!why && delivered > 0 && delivered === unreported) return { outcomes, rest: sentOutcome(operationId) };
  return { outcomes, rest: unfinishedOutcome(operationId, state.state) };
}

/**
 * Rows of a completed operation whose report does not add up (or carries no counts): Herald
 * cannot confirm they were delivered. `then`: what Herald could not tell (default: which
 * recipients the unaccounted failures were).
 */
export function unconfirmedOutcome(operationId: string, why: string, then?: string): BatchOutcome {
  return {
    status: "unknown",
    code: "batch/unconfirmed",
    message: `Teams' batch operation ${operationId} completed, but its report does not add up: ${why}. ${then ?? "Herald cannot tell which recipients those failures were"}, so this one may or may not have received the message.`,
  };
}
