import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Page } from "./api.js";
import { TableWrap, when } from "./table.js";

/** `GET /v1/installations/{id}` (src/api/installations.ts installationView). */
export interface InstallationJob {
  id: string;
  status: "running" | "completed" | "failed";
  tenantId: string;
  total: number;
  counts: { installed: number; alreadyInstalled: number; refused: number; failed: number };
  error: string | null;
  createdAt: string;
  completedAt: string | null;
}

type Kind = "users" | "groups" | "all";

/** The lines of a text box as ids (commas and spaces separate too), blanks dropped. */
export const idsOf = (text: string): string[] =>
  text
    .split(/[\s,;]+/)
    .map((s) => s.trim())
    .filter((s) => s !== "");

/**
 * Installation jobs (`/v1/installations`, admin): start one for users, groups' members or a
 * whole tenant; every job with its live counts (polled while one runs) and its CSV.
 */
export function InstallationsPage() {
  const [jobs, setJobs] = useState<InstallationJob[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState("");
  const [tenants, setTenants] = useState<string[]>([]);
  const [tenantId, setTenantId] = useState("");
  const [kind, setKind] = useState<Kind>("users");
  const [ids, setIds] = useState("");
  const [reload, setReload] = useState(0);
  const running = jobs.some((j) => j.status === "running");
  const [installed, setInstalled] = useState<{ recipients: number | null; skipped: number } | undefined>();

  useEffect(() => {
    api<{ items: { tenantId: string }[] }>("GET", "/v1/tenants").then(
      (r) => setTenants(r.items.map((t) => t.tenantId)),
      () => undefined,
    );
  }, []);
  useEffect(() => {
    let stop = false;
    api<Page<InstallationJob>>("GET", "/v1/installations?limit=50").then(
      (page) => {
        if (stop) return;
        setJobs(page.items);
        setNext(page.nextCursor ?? null);
        setLoaded(true);
      },
      (e) => !stop && setError(errorText(e)),
    );
    return () => {
      stop = true;
    };
  }, [reload]);
  // While a job runs, its counts move: ask again each second until none runs.
  useEffect(() => {
    if (!running) return;
    const t = setTimeout(() => setReload((r) => r + 1), 1000);
    return () => clearTimeout(t);
  }, [running, jobs]);

  // The tenant's installs as Herald knows them: its stored 1:1 chats (`all` of the tenant, estimated
  // as a send would count them), asked again when a job ends.
  const ended = jobs.filter((j) => j.status !== "running").length;
  useEffect(() => {
    if (tenantId === "") return setInstalled(undefined);
    let stop = false;
    const t = setTimeout(() => {
      api<{ recipients: number | null; skipped: number }>("POST", "/v1/audiences/estimate", { audience: { all: true, tenantId } }).then(
        (e) => !stop && setInstalled(e),
        () => !stop && setInstalled(undefined),
      );
    }, 300);
    return () => {
      stop = true;
      clearTimeout(t);
    };
  }, [tenantId, ended]);

  const more = async () => {
    if (!next) return;
    try {
      const page = await api<Page<InstallationJob>>("GET", `/v1/installations?limit=50&cursor=${encodeURIComponent(next)}`);
      setJobs((j) => [...j, ...page.items]);
      setNext(page.nextCursor ?? null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const start = async (e: Event) => {
    e.preventDefault();
    setError("");
    const list = idsOf(ids);
    if (kind !== "all" && list.length === 0) return setError(`Name at least one ${kind === "users" ? "user" : "group"}, one a line.`);
    const body = kind === "all" ? { all: true, tenantId } : { [kind]: list, tenantId };
    try {
      await api("POST", "/v1/installations", body);
      setIds("");
      setReload((r) => r + 1);
    } catch (err) {
      setError(errorText(err));
    }
  };

  return (
    <section>
      <h1>Installations</h1>
      <p class="help">
        Install the app through Microsoft Graph ahead of a broadcast, so every person has a chat with the bot. Each job counts who got it,
        who already had it, and who could not (with Teams' reason in the CSV).
      </p>
      <form class="inline-form" onSubmit={start}>
        <label for="inst-tenant">Tenant id</label>
        <input id="inst-tenant" required list="inst-tenants" value={tenantId} onInput={(e) => setTenantId(e.currentTarget.value.trim())} />
        <datalist id="inst-tenants">
          {tenants.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
        {installed && installed.recipients !== null && (
          <p class="help" data-testid="installed-now" aria-live="polite">
            Herald has a chat with {installed.recipients.toLocaleString()} {installed.recipients === 1 ? "person" : "people"} in this tenant
            {installed.skipped > 0 ? ` (and ${installed.skipped.toLocaleString()} who uninstalled or blocked the bot)` : ""}.
          </p>
        )}
        <fieldset class="radios">
          <legend>Install for</legend>
          {(
            [
              ["users", "People"],
              ["groups", "Groups' members"],
              ["all", "Everyone in the tenant"],
            ] as const
          ).map(([k, label]) => (
            <label key={k}>
              <input type="radio" name="inst-kind" checked={kind === k} onChange={() => setKind(k)} /> {label}
            </label>
          ))}
        </fieldset>
        {kind !== "all" && (
          <>
            <label for="inst-ids">
              {kind === "users" ? "People (object ids, UPNs or emails), one a line" : "Entra group ids, one a line"}
            </label>
            <textarea id="inst-ids" rows={4} value={ids} onInput={(e) => setIds(e.currentTarget.value)} />
          </>
        )}
        <button type="submit">Start installing</button>
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {loaded && jobs.length === 0 ? (
        <p>No installation jobs yet.</p>
      ) : (
        <TableWrap label="Installation jobs">
          <table>
            <caption class="help">Jobs, newest first{running ? " (updating while one runs)" : ""}</caption>
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Tenant</th>
                <th scope="col">Status</th>
                <th scope="col">People</th>
                <th scope="col">Installed</th>
                <th scope="col">Already had it</th>
                <th scope="col">Refused</th>
                <th scope="col">Failed</th>
                <th scope="col">Outcomes</th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id} data-testid={`job-${j.id}`}>
                  <td>{when(j.createdAt)}</td>
                  <td>{j.tenantId}</td>
                  <td data-testid="job-status">
                    {j.status}
                    {j.error ? `: ${j.error}` : ""}
                  </td>
                  <td>{j.total}</td>
                  <td>{j.counts.installed}</td>
                  <td>{j.counts.alreadyInstalled}</td>
                  <td>{j.counts.refused}</td>
                  <td>{j.counts.failed}</td>
                  <td>
                    <a href={`/v1/installations/${encodeURIComponent(j.id)}/items?format=csv`} download={`installation-${j.id}.csv`}>
                      CSV<span class="visually-hidden"> of job {j.id}</span>
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      )}
      {next && (
        <button type="button" class="secondary" onClick={more}>
          More
        </button>
      )}
    </section>
  );
}
