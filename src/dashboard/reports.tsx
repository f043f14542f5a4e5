import { useState } from "preact/hooks";
import { api, errorText } from "./api.js";
import { PagedTable, when } from "./table.js";

interface Blocked {
  conversationId: string;
  tenantId: string;
  status: string;
  code: string | null;
  at: string | null;
  userName: string | null;
  teamName: string | null;
}

/** Who blocked or uninstalled the bot (`GET /v1/reports/blocked`), with its CSV. */
export function BlockedPage() {
  return (
    <PagedTable<Blocked>
      title="Blocked and uninstalled"
      path="/v1/reports/blocked?limit=100"
      empty="Nobody has blocked or uninstalled the bot."
      rowKey={(b) => b.conversationId}
      columns={[
        { label: "Who", cell: (b) => b.userName ?? b.teamName ?? b.conversationId },
        { label: "Tenant", cell: (b) => b.tenantId },
        { label: "Status", cell: (b) => b.status },
        { label: "Teams code", cell: (b) => b.code ?? "" },
        { label: "When", cell: (b) => when(b.at) },
      ]}
    >
      <p>
        <a href="/v1/reports/blocked?format=csv" download="blocked.csv">
          Download (CSV)
        </a>
      </p>
    </PagedTable>
  );
}

interface Key {
  id: string;
  name: string;
  scopes: string[];
  tenants: string[] | null;
  teams?: string[] | null;
  groups?: string[] | null;
  createdAt: string;
  revokedAt: string | null;
}

/** A comma- or space-separated list as typed; undefined when empty (no limit). */
const listOf = (text: string): string[] | undefined => {
  const items = text.split(/[\s,]+/).filter((x) => x !== "");
  return items.length > 0 ? items : undefined;
};

/** API keys (`/v1/keys`): create one (its secret is shown once), revoke one. */
export function KeysPage() {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<string[]>(["read"]);
  const [limits, setLimits] = useState({ tenants: "", teams: "", groups: "" });
  const [secret, setSecret] = useState("");
  const [error, setError] = useState("");
  const [reload, setReload] = useState(0);
  const create = async (e: Event) => {
    e.preventDefault();
    setError("");
    try {
      // Guardrails: what the key may reach (left empty: no limit of that kind; see POST /v1/keys).
      const reach = { tenants: listOf(limits.tenants), teams: listOf(limits.teams), groups: listOf(limits.groups) };
      const k = await api<{ key: string }>("POST", "/v1/keys", { name, scopes, ...JSON.parse(JSON.stringify(reach)) });
      setSecret(k.key);
      setReload(reload + 1);
    } catch (err) {
      setError(errorText(err));
    }
  };
  const revoke = async (id: string) => {
    if (!confirm(`Revoke ${id}? Everything using it stops working.`)) return;
    try {
      await api("DELETE", `/v1/keys/${encodeURIComponent(id)}`);
      setReload(reload + 1);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <PagedTable<Key>
      title="API keys"
      path="/v1/keys"
      reload={reload}
      empty="No keys created through the API (the HERALD_API_KEY admin key is not listed)."
      rowKey={(k) => k.id}
      columns={[
        { label: "Name", cell: (k) => k.name },
        { label: "Id", cell: (k) => k.id },
        { label: "Scopes", cell: (k) => k.scopes.join(", ") },
        { label: "Tenants", cell: (k) => k.tenants?.join(", ") ?? "all" },
        { label: "Teams and groups", cell: (k) => [...(k.teams ?? []), ...(k.groups ?? [])].join(", ") || "any" },
        { label: "Created", cell: (k) => when(k.createdAt) },
        {
          label: "Revoked",
          cell: (k) =>
            k.revokedAt ? (
              when(k.revokedAt)
            ) : (
              <button type="button" class="link" onClick={() => revoke(k.id)}>
                Revoke
              </button>
            ),
        },
      ]}
    >
      <form class="inline-form" onSubmit={create}>
        <label for="keyname">New key's name</label>
        <input id="keyname" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <fieldset>
          <legend>Scopes</legend>
          {["send", "read", "admin", "draft", "approve"].map((s) => (
            <label key={s} class="inline">
              <input
                type="checkbox"
                checked={scopes.includes(s)}
                onChange={(e) => setScopes(e.currentTarget.checked ? [...scopes, s] : scopes.filter((x) => x !== s))}
              />{" "}
              {s}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>May reach (empty: no limit)</legend>
          {(
            [
              ["tenants", "Tenant ids"],
              ["teams", "Team ids"],
              ["groups", "Entra group ids"],
            ] as const
          ).map(([field, label]) => (
            <label key={field} class="inline">
              {label}{" "}
              <input
                value={limits[field]}
                placeholder="comma separated"
                onInput={(e) => setLimits({ ...limits, [field]: e.currentTarget.value })}
              />
            </label>
          ))}
        </fieldset>
        <button type="submit">Create key</button>
        {secret && (
          <p role="status">
            The new key (shown once): <code>{secret}</code>
          </p>
        )}
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </PagedTable>
  );
}

interface AuditRow {
  at: string;
  actor: string | null;
  action: string;
  target: string;
}

/** Every write through the API, newest first (`GET /v1/audit`). */
export function AuditPage() {
  return (
    <PagedTable<AuditRow>
      title="Audit log"
      path="/v1/audit?limit=100"
      empty="No writes yet."
      rowKey={(a, i) => `${a.at}-${i}`}
      columns={[
        { label: "When", cell: (a) => when(a.at) },
        { label: "Who", cell: (a) => a.actor ?? "(a wider key)" },
        { label: "What", cell: (a) => a.action },
        { label: "On", cell: (a) => a.target },
      ]}
    />
  );
}
