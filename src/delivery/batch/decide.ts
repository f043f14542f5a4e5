/**
 * Which path a notification takes, as pure functions over the request: Teams' batch API (one
 * request per up to `batchSize` recipients, no activity ids) or one send per recipient (each
 * with its activity id, so it can be edited and recalled). See docs/batch.md for the numbers.
 */

/** `delivery.mode` of a request: `individual` (default), `batch` or `auto`. */
export type DeliveryMode = "auto" | "batch" | "individual";
export const deliveryModes: readonly DeliveryMode[] = ["auto", "batch", "individual"];

/** The path chosen. */
export type DeliveryPath = "batch" | "individual";

/**
 * `auto` takes the batch path from this many listed recipients (users, conversations, channels);
 * `all` and team rosters count as large. Measured by bench/batch.js (limits on, 50 requests/s per
 * tenant): 100 recipients took 1.4 s one by one and 0.9 s as one batch (100 requests against 3);
 * 1,000 took 8.0 s against 0.5 s; 10,000 took 55.6 s against 2.9 s. Below 100 the time saved is
 * under a second, not worth giving up the activity ids that edit and recall need.
 */
export const AUTO_BATCH_FROM = 100;

/** What a request must not ask for on the batch path, with the field that asks for it. */
export interface BatchBlocker {
  /** Dotted path of the field, e.g. `message.poll`. */
  path: (string | number)[];
  why: string;
}

/** The parts of a request the decision reads (the parsed `POST /v1/notifications` body). */
export interface BatchRequestView {
  audience: {
    users?: unknown[];
    conversations?: unknown[];
    channels?: unknown[];
    teams?: unknown[];
    deliverTo?: string;
    groups?: unknown[];
    all?: true;
    includeUninstalled?: true;
  };
  message: { text?: string; summary?: string; card?: unknown; poll?: unknown; ack?: unknown; survey?: unknown };
  data?: unknown;
  schedule?: unknown;
}

const templated = (s: unknown): boolean => (typeof s === "string" ? s.includes("${") : JSON.stringify(s ?? null).includes("${"));

/**
 * Why the batch path cannot carry this request: per-recipient content (`${...}`), answers that
 * need each recipient's activity id (poll, ack, survey), each recipient's own local time, or
 * recipients reached through Graph (groups, includeUninstalled: installed one by one first).
 * Empty = the batch path can carry it.
 */
export function batchBlockers(r: BatchRequestView): BatchBlocker[] {
  const out: BatchBlocker[] = [];
  const m = r.message;
  const personal = "is personalised per recipient (${...}); a batch sends the same activity to everyone";
  if (templated(m.text)) out.push({ path: ["message", "text"], why: personal });
  if (templated(m.summary)) out.push({ path: ["message", "summary"], why: personal });
  if (m.card !== undefined && templated(m.card)) out.push({ path: ["message", "card"], why: personal });
  for (const f of ["poll", "ack", "survey"] as const)
    if (m[f] !== undefined)
      out.push({
        path: ["message", f],
        why: "needs each recipient's activity id to record answers and update the card; a batch returns none",
      });
  const s = r.schedule;
  if (typeof s === "object" && s !== null && "localTime" in s)
    out.push({ path: ["schedule", "localTime"], why: "sends at each recipient's own local time; a batch sends to everyone at once" });
  if (r.audience.groups !== undefined)
    out.push({ path: ["audience", "groups"], why: "group members are installed and messaged one by one through Graph" });
  if (r.audience.includeUninstalled !== undefined)
    out.push({ path: ["audience", "includeUninstalled"], why: "users without the app are installed one by one through Graph" });
  return out;
}

/** The path for a request: `individual` and `batch` are taken as asked (blockers refused earlier); `auto` decides by size. */
export function choosePath(mode: DeliveryMode, r: BatchRequestView, autoFrom = AUTO_BATCH_FROM): DeliveryPath {
  if (mode === "individual") return "individual";
  if (batchBlockers(r).length > 0) return "individual";
  if (mode === "batch") return "batch";
  const a = r.audience;
  if (a.all !== undefined || (a.teams !== undefined && a.deliverTo === "members")) return "batch";
  const listed = a.users?.length ?? a.conversations?.length ?? a.channels?.length ?? 0;
  return listed >= autoFrom ? "batch" : "individual";
}
