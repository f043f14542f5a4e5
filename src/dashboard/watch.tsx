import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Me, type NotificationView, type Page } from "./api.js";
import { OutcomeChart, TimelineChart } from "./chart.js";
import { ResponsesReport } from "./responses-report.js";
import { TableWrap } from "./table.js";

interface DeliveryRow {
  seq: number;
  recipient: string;
  userName: string | null;
  status: string;
  lastErrorCode: string | null;
  sentAt: string | null;
  readAt?: string | null;
}

const finished = (n: NotificationView) =>
  (n.status === "completed" || n.status === "canceled") &&
  !n.expanding &&
  !(n.edit && n.edit.pending > 0) &&
  !(n.recall && n.recall.pending > 0);

/** The outcome counts (they add up to the total): `read` is counted among `sent`, so it is shown with the answers. */
export const outcomes = (counts: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(counts).filter(([k]) => k !== "read"));

/** Messages a second since sending started (what the progress bar's rate shows). */
export function rateOf(n: NotificationView, now: number): number {
  if (!n.startedAt) return 0;
  const end = n.completedAt ? Date.parse(n.completedAt) : now;
  const done = n.total - (n.counts["pending"] ?? 0);
  const s = Math.max(0.001, (end - Date.parse(n.startedAt)) / 1000);
  return done / s;
}

/** One notification: live progress until it is done, then its report; edit and recall. */
export function Watch(props: { id: string; me: Me }) {
  const [n, setN] = useState<NotificationView | undefined>();
  const [rows, setRows] = useState<DeliveryRow[]>([]);
  const [error, setError] = useState("");
  const [edit, setEdit] = useState<string | undefined>();
  const [tick, setTick] = useState(0);
  const path = `/v1/notifications/${encodeURIComponent(props.id)}`;

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const view = await api<NotificationView>("GET", path);
        if (stop) return;
        setN(view);
        if (finished(view)) {
          const page = await api<Page<DeliveryRow>>("GET", `${path}/deliveries?limit=1000`);
          if (!stop) setRows(page.items);
          return;
        }
      } catch (e) {
        if (!stop) setError(errorText(e));
      }
      if (!stop) timer = setTimeout(poll, 500);
    };
    void poll();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [path, tick]);

  if (!n) return <p>{error || "Loading…"}</p>;
  const pending = n.counts["pending"] ?? 0;
  const done = n.total - pending;
  const pct = n.total === 0 ? (n.expanding ? 0 : 100) : Math.floor((done / n.total) * 100);
  const maySend = props.me.scopes.includes("send") || props.me.scopes.includes("admin");
  const act = async (method: "PATCH" | "DELETE", body?: unknown) => {
    setError("");
    try {
      setN(await api<NotificationView>(method, path, body));
      setEdit(undefined);
      setTick(tick + 1);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const saveEdit = () => {
    const text = edit ?? "";
    let message: unknown;
    try {
      message = text.trim().startsWith("{") ? { card: JSON.parse(text) } : { text, textFormat: "markdown" };
    } catch (e) {
      return setError(`The card is not valid JSON: ${(e as Error).message}`);
    }
    void act("PATCH", { message });
  };

  return (
    <article class="watch">
      <h1>
        Notification <code>{n.id}</code>
      </h1>
      <p>
        Status: <strong data-testid="status">{n.status}</strong>
        {n.category ? ` · category ${n.category}` : ""} · version {n.messageVersion}
        {n.scheduledAt ? ` · scheduled for ${new Date(n.scheduledAt).toLocaleString()}` : ""}
      </p>
      <div class="progress">
        <label for="progress">
          {done.toLocaleString()} of {n.total.toLocaleString()}
          {n.expanding ? "+ (still reading the audience)" : ""} done · <span data-testid="percent">{pct}%</span> ·{" "}
          {rateOf(n, Date.now()).toFixed(1)} messages/s
        </label>
        <progress id="progress" max={100} value={pct} />
      </div>
      {n.edit && (
        <p>
          Edit: {n.edit.done} updated, {n.edit.pending} to go, {n.edit.failed} failed.
        </p>
      )}
      {n.recall && (
        <p data-testid="recall">
          Recall: {n.recall.done} deleted, {n.recall.pending} to go, {n.recall.failed} failed.
        </p>
      )}
      <section aria-labelledby="outcomes">
        <h2 id="outcomes">Outcomes</h2>
        <OutcomeChart counts={outcomes(n.counts)} title="Recipients by outcome" />
        {rows.length > 0 && (
          <>
            <h3>Sent over time{rows.length < n.total ? ` (first ${rows.length})` : ""}</h3>
            <TimelineChart sentAt={rows.flatMap((r) => (r.sentAt ? [r.sentAt] : []))} title="Messages sent over time" />
          </>
        )}
        <p>
          <a href={`${path}/deliveries?format=csv`} download={`${n.id}-deliveries.csv`}>
            Download deliveries (CSV)
          </a>
        </p>
      </section>
      {finished(n) && <ResponsesReport n={n} reload={tick} onRefresh={() => setTick(tick + 1)} />}
      {maySend && (
        <section aria-labelledby="actions" class="actions">
          <h2 id="actions">Edit or recall</h2>
          {edit === undefined ? (
            <div class="buttons">
              <button type="button" onClick={() => setEdit("")} disabled={n.status === "canceled"}>
                Edit message
              </button>
              <button
                type="button"
                class="danger"
                disabled={n.status === "canceled"}
                onClick={() => confirm("Recall this message from everyone who got it?") && act("DELETE")}
              >
                Recall
              </button>
            </div>
          ) : (
            <div>
              <label for="edit">New message (Markdown text, or Adaptive Card JSON)</label>
              <textarea id="edit" rows={6} value={edit} onInput={(e) => setEdit(e.currentTarget.value)} />
              <div class="buttons">
                <button type="button" onClick={saveEdit}>
                  Save edit everywhere
                </button>
                <button type="button" class="secondary" onClick={() => setEdit(undefined)}>
                  Cancel
                </button>
              </div>
            </div>
          )}
        </section>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {rows.length > 0 && (
        <section aria-labelledby="deliveries">
          <h2 id="deliveries">Deliveries (first {Math.min(rows.length, 100)})</h2>
          <TableWrap label="Deliveries">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Recipient</th>
                  <th scope="col">Status</th>
                  <th scope="col">Code</th>
                  <th scope="col">Sent</th>
                  <th scope="col">Read</th>
                </tr>
              </thead>
              <tbody>
                {rows.slice(0, 100).map((r) => (
                  <tr key={r.seq}>
                    <td>{r.seq}</td>
                    <td>{r.userName ?? r.recipient}</td>
                    <td>{r.status}</td>
                    <td>{r.lastErrorCode ?? ""}</td>
                    <td>{r.sentAt ? new Date(r.sentAt).toLocaleTimeString() : ""}</td>
                    <td>{r.readAt ? new Date(r.readAt).toLocaleTimeString() : ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </section>
      )}
    </article>
  );
}
