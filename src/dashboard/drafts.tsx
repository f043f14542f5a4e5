import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Me } from "./api.js";
import { when } from "./table.js";

interface Draft {
  id: string;
  title: string;
  status: "draft" | "submitted" | "returned" | "approved";
  createdBy: string;
  comment: string | null;
  notificationId: string | null;
  updatedAt: string;
  /** The notification request approving sends: shown whole, as text, so an approver sees what they approve. */
  request: Record<string, unknown>;
}

const has = (me: Me, scope: string) => me.scopes.includes(scope) || me.scopes.includes("admin");

/** Drafts awaiting approval: authors submit theirs; approvers approve (it is sent) or send back with a comment. */
export function DraftsPage(props: { me: Me }) {
  const [items, setItems] = useState<Draft[]>([]);
  const [error, setError] = useState("");
  const [reload, setReload] = useState(0);
  const [comments, setComments] = useState<Record<string, string>>({});
  useEffect(() => {
    api<{ items: Draft[] }>("GET", "/v1/drafts").then(
      (r) => setItems(r.items),
      (e) => setError(errorText(e)),
    );
  }, [reload]);
  const act = async (path: string, body?: unknown) => {
    setError("");
    try {
      await api("POST", path, body);
      setReload(reload + 1);
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section>
      <h1>Drafts</h1>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {items.length === 0 && <p>No drafts.</p>}
      <ul class="drafts">
        {items.map((d) => {
          const mine = d.createdBy === props.me.keyId;
          const path = `/v1/drafts/${encodeURIComponent(d.id)}`;
          return (
            <li key={d.id} class="draft" data-testid={`draft-${d.id}`}>
              <h2>{d.title}</h2>
              <p>
                <strong data-testid="draft-status">{d.status}</strong> · by {d.createdBy} · {when(d.updatedAt)}
              </p>
              {d.comment && d.status === "returned" && <p class="comment">Sent back: {d.comment}</p>}
              <details open={d.status === "submitted"}>
                <summary>What approving sends (message, audience, schedule)</summary>
                <pre class="request" data-testid="draft-request">
                  {JSON.stringify(d.request, null, 2)}
                </pre>
              </details>
              {d.notificationId && (
                <p>
                  Sent as <a href={`#/n/${encodeURIComponent(d.notificationId)}`}>{d.notificationId}</a>
                </p>
              )}
              <div class="buttons">
                {mine && has(props.me, "draft") && (d.status === "draft" || d.status === "returned") && (
                  <button type="button" onClick={() => act(`${path}/submit`)}>
                    Submit for approval
                  </button>
                )}
                {!mine && has(props.me, "approve") && d.status === "submitted" && (
                  <>
                    <button type="button" onClick={() => act(`${path}/approve`, { updatedAt: d.updatedAt })}>
                      Approve and send
                    </button>
                    <label for={`comment-${d.id}`}>Comment for the author</label>
                    <textarea
                      id={`comment-${d.id}`}
                      rows={2}
                      value={comments[d.id] ?? ""}
                      onInput={(e) => setComments({ ...comments, [d.id]: e.currentTarget.value })}
                    />
                    <button type="button" class="secondary" onClick={() => act(`${path}/return`, { comment: comments[d.id] ?? "" })}>
                      Send back
                    </button>
                  </>
                )}
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
