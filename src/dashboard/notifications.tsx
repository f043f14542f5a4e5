import type { NotificationView } from "./api.js";
import { PagedTable, when } from "./table.js";

/** Every notification, newest first, each linking to its progress and report. */
export function NotificationList() {
  return (
    <PagedTable<NotificationView>
      title="Notifications"
      path="/v1/notifications?limit=50"
      empty="Nothing sent yet."
      rowKey={(n) => n.id}
      columns={[
        { label: "Id", cell: (n) => <a href={`#/n/${encodeURIComponent(n.id)}`}>{n.id}</a> },
        { label: "Status", cell: (n) => n.status },
        { label: "Recipients", cell: (n) => n.total },
        { label: "Sent", cell: (n) => n.counts["sent"] ?? 0 },
        { label: "Created", cell: (n) => when(n.createdAt) },
      ]}
    />
  );
}
