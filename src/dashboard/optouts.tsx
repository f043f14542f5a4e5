import { useEffect, useState } from "preact/hooks";
import { api, errorText } from "./api.js";
import { BarChart } from "./chart.js";
import { loadConversations } from "./directory.js";
import { PagedTable, when } from "./table.js";

interface OptOut {
  tenantId: string;
  userId: string;
  optedOut: boolean;
  categories: string[];
  updatedAt: string;
}

interface OptOutCount {
  tenantId: string;
  category: string;
  count: number;
}

/** The category `*` is "every notification". */
const categoryLabel = (c: string) => (c === "*" ? "everything" : c);

/**
 * Who opted out (`GET /v1/reports/opt-outs`): counts per tenant and category as a chart, the
 * people (named from the stored 1:1 chats where known), and the CSV.
 */
export function OptOutsPage() {
  const [counts, setCounts] = useState<OptOutCount[] | undefined>();
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [error, setError] = useState("");
  useEffect(() => {
    api<{ counts: OptOutCount[] }>("GET", "/v1/reports/opt-outs?limit=1").then(
      (r) => setCounts(r.counts),
      (e) => setError(errorText(e)),
    );
    // Names are a nicety: a key that may not list conversations still sees the ids.
    loadConversations("personal").then(
      (cs) => setNames(new Map(cs.flatMap((c) => (c.user?.id && c.user.name ? [[c.user.id, c.user.name] as const] : [])))),
      () => undefined,
    );
  }, []);
  const tenants = new Set((counts ?? []).map((c) => c.tenantId));
  return (
    <PagedTable<OptOut>
      title="Opt-outs"
      path="/v1/reports/opt-outs?limit=100"
      empty="Nobody has opted out."
      rowKey={(o) => `${o.tenantId}/${o.userId}`}
      columns={[
        { label: "Who", cell: (o) => names.get(o.userId) ?? o.userId },
        { label: "Tenant", cell: (o) => o.tenantId },
        { label: "Opted out of", cell: (o) => (o.optedOut ? "everything" : o.categories.map(categoryLabel).join(", ")) },
        { label: "When", cell: (o) => when(o.updatedAt) },
      ]}
    >
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {counts && counts.length > 0 && (
        <BarChart
          testId="opt-out-chart"
          title="People opted out, per category"
          bars={counts.map((c) => ({
            label: tenants.size > 1 ? `${categoryLabel(c.category)} (${c.tenantId.slice(0, 8)})` : categoryLabel(c.category),
            value: c.count,
          }))}
        />
      )}
      <p>
        <a href="/v1/reports/opt-outs?format=csv" download="opt-outs.csv">
          Download (CSV)
        </a>
      </p>
    </PagedTable>
  );
}
