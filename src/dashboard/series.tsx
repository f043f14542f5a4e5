import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Me, type Page } from "./api.js";
import { TableWrap, when } from "./table.js";

/** A recurring series as `GET /v1/series` shows it (src/api/series.ts seriesView). */
export interface SeriesView {
  id: string;
  state: "active" | "paused" | "canceled" | "ended";
  schedule: { cron: string; timeZone: string; localTime?: true; until?: string };
  message: { text?: string; summary?: string; card?: unknown; poll?: { question: string } };
  category?: string;
  runs: number;
  nextRunAt: string | null;
  lastRunAt: string | null;
  lastNotificationId: string | null;
  createdAt: string;
  recentRuns?: { runAt: string; notificationId: string; status: string; total: number; sent: number }[];
}

/** A line saying what a series sends. */
export function describeMessage(m: SeriesView["message"]): string {
  const text = m.summary ?? m.poll?.question ?? m.text ?? (m.card ? "(an Adaptive Card)" : "");
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** One series: its runs, each linking to that run's notification report. */
function Runs(props: { id: string }) {
  const [s, setS] = useState<SeriesView | undefined>();
  const [error, setError] = useState("");
  useEffect(() => {
    api<SeriesView>("GET", `/v1/series/${encodeURIComponent(props.id)}`).then(setS, (e) => setError(errorText(e)));
  }, [props.id]);
  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  if (!s) return <p>Loading…</p>;
  const runs = s.recentRuns ?? [];
  if (runs.length === 0) return <p>No runs yet.</p>;
  return (
    <ul>
      {runs.map((r) => (
        <li key={r.notificationId}>
          <a href={`#/n/${encodeURIComponent(r.notificationId)}`}>{when(r.runAt)}</a>: {r.status}, {r.sent} of {r.total} sent
        </li>
      ))}
    </ul>
  );
}

/**
 * Recurring series (`/v1/series`): what each sends and when, pause, resume and cancel
 * (the `send` scope), and each run linked to its notification's report.
 */
export function SeriesPage(props: { me: Me }) {
  const [items, setItems] = useState<SeriesView[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState("");
  const [open, setOpen] = useState<string | undefined>();
  const [reload, setReload] = useState(0);
  const maySend = props.me.scopes.includes("send") || props.me.scopes.includes("admin");
  useEffect(() => {
    api<Page<SeriesView>>("GET", "/v1/series?limit=100").then(
      (p) => {
        setItems(p.items);
        setNext(p.nextCursor ?? null);
        setLoaded(true);
      },
      (e) => setError(errorText(e)),
    );
  }, [reload]);
  const more = async () => {
    if (!next) return;
    try {
      const p = await api<Page<SeriesView>>("GET", `/v1/series?limit=100&cursor=${encodeURIComponent(next)}`);
      setItems((i) => [...i, ...p.items]);
      setNext(p.nextCursor ?? null);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const act = async (s: SeriesView, action: "pause" | "resume" | "cancel") => {
    setError("");
    if (action === "cancel" && !confirm(`Cancel series ${s.id}? It sends nothing more, and cannot be resumed.`)) return;
    try {
      const changed = await api<SeriesView>(
        action === "cancel" ? "DELETE" : "POST",
        `/v1/series/${encodeURIComponent(s.id)}${action === "cancel" ? "" : `/${action}`}`,
      );
      setItems((list) => list.map((x) => (x.id === s.id ? { ...x, ...changed } : x)));
    } catch (e) {
      setError(errorText(e));
      setReload((r) => r + 1);
    }
  };
  return (
    <section>
      <h1>Recurring series</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {loaded && items.length === 0 ? (
        <p>No recurring series. Schedule one with a cron when composing.</p>
      ) : (
        <TableWrap label="Recurring series">
          <table>
            <thead>
              <tr>
                <th scope="col">Message</th>
                <th scope="col">Schedule</th>
                <th scope="col">State</th>
                <th scope="col">Runs</th>
                <th scope="col">Next run</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {items.flatMap((s) => {
                const row = (
                  <tr key={s.id} data-testid={`series-${s.id}`}>
                    <td>
                      {describeMessage(s.message)}
                      <br />
                      <code class="help">{s.id}</code>
                    </td>
                    <td>
                      <code>{s.schedule.cron}</code> {s.schedule.timeZone}
                      {s.schedule.localTime ? " (each person's own time)" : ""}
                      {s.schedule.until ? `, until ${when(s.schedule.until)}` : ""}
                    </td>
                    <td data-testid="series-state">{s.state}</td>
                    <td>
                      {s.runs}
                      {s.lastNotificationId && (
                        <>
                          {" "}
                          (<a href={`#/n/${encodeURIComponent(s.lastNotificationId)}`}>last run's report</a>)
                        </>
                      )}
                    </td>
                    <td>{s.state === "active" ? when(s.nextRunAt) : ""}</td>
                    <td class="row-actions">
                      <button
                        type="button"
                        class="secondary"
                        aria-expanded={open === s.id}
                        onClick={() => setOpen(open === s.id ? undefined : s.id)}
                      >
                        Runs<span class="visually-hidden"> of {s.id}</span>
                      </button>
                      {maySend && s.state === "active" && (
                        <button type="button" onClick={() => act(s, "pause")}>
                          Pause<span class="visually-hidden"> {s.id}</span>
                        </button>
                      )}
                      {maySend && s.state === "paused" && (
                        <button type="button" onClick={() => act(s, "resume")}>
                          Resume<span class="visually-hidden"> {s.id}</span>
                        </button>
                      )}
                      {maySend && (s.state === "active" || s.state === "paused") && (
                        <button type="button" class="danger" onClick={() => act(s, "cancel")}>
                          Cancel<span class="visually-hidden"> {s.id}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                );
                return open === s.id
                  ? [
                      row,
                      <tr key={`${s.id}-runs`}>
                        <td colSpan={6}>
                          <Runs id={s.id} />
                        </td>
                      </tr>,
                    ]
                  : [row];
              })}
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
