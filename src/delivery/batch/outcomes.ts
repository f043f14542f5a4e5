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

/** Rows of an operation that ended without finishing (canceled, failed, or forgotten by Teams): Teams may or may not have delivered them. */
export function unfinishedOutcome(operationId: string, state: string): BatchOutcome {
  return {
    status: "unknown",
    code: `batch/${state}`,
    message: `Teams' batch operation ${operationId} ended ${state} before reporting this recipient; it may or may not have received the message.`,
  };
}

/** Teams' words for an operation that is still working. */
export function isRunningState(state: string): boolean {
  const s = state.toLowerCase();
  return s === "inprogress" || s === "notstarted" || s === "running" || s === "queued";
}
