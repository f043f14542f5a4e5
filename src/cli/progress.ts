/** Counts of a notification as the API returns them. */
export interface NotificationView {
  id: string;
  status: string;
  total: number;
  counts: Record<string, number>;
  createdAt?: string;
  startedAt?: string | null;
  completedAt?: string | null;
}

const order = ["sent", "pending", "failed", "blocked", "notFound", "optedOut", "canceled", "unknown"];

/** One line of progress: a bar on a terminal, plain `key=value` text otherwise. */
export function progressLine(view: NotificationView, ratePerSecond: number | undefined, tty: boolean, width = 30): string {
  const done = view.total - (view.counts["pending"] ?? 0);
  const share = view.total > 0 ? done / view.total : view.status === "completed" ? 1 : 0;
  const counts = order
    .filter((k) => (view.counts[k] ?? 0) > 0 || k === "sent" || k === "pending")
    .map((k) => `${k}=${view.counts[k] ?? 0}`)
    .join(" ");
  const rate = ratePerSecond === undefined ? "" : ` ${ratePerSecond.toFixed(0)}/s`;
  if (!tty) return `${view.id} ${view.status} total=${view.total} ${counts}${rate}`;
  const filled = Math.round(share * width);
  const bar = `${"█".repeat(filled)}${"░".repeat(width - filled)}`;
  return `${bar} ${(share * 100).toFixed(1).padStart(5)}% ${view.status} ${done}/${view.total} ${counts}${rate}`;
}
