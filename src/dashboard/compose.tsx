import { useMemo, useState } from "preact/hooks";
import { api, errorText, type Me } from "./api.js";
import { type Audience, AudiencePicker } from "./audience.js";
import { type Conversation, fieldsOf } from "./directory.js";
import { Preview } from "./preview.js";

type Kind = "text" | "markdown" | "card";

const sampleCard = JSON.stringify(
  {
    type: "AdaptiveCard",
    version: "1.5",
    body: [
      { type: "TextBlock", text: "Hello ${givenName}", size: "Large", weight: "Bolder", wrap: true },
      { type: "TextBlock", text: "The office is closed on **Friday**.", wrap: true },
    ],
  },
  null,
  2,
);

const sampleRecipient: Conversation = { id: "", kind: "personal", tenantId: "", status: "active", user: { id: "", name: "Ada Lovelace" } };

/** The `message` of `POST /v1/notifications` from the form. */
export function messageOf(kind: Kind, body: string, summary: string, alert: boolean): Record<string, unknown> {
  const m: Record<string, unknown> =
    kind === "card" ? { card: JSON.parse(body) } : { text: body, textFormat: kind === "text" ? "plain" : "markdown" };
  if (summary.trim()) m["summary"] = summary.trim();
  if (alert) m["alert"] = true;
  return m;
}

/** Compose a message, preview it as a recipient, pick an audience and a time, and send. */
export function Compose(props: { me: Me }) {
  const [kind, setKind] = useState<Kind>("card");
  const [body, setBody] = useState(sampleCard);
  const [summary, setSummary] = useState("");
  const [title, setTitle] = useState("");
  const [category, setCategory] = useState("");
  const [alertOn, setAlertOn] = useState(false);
  const [when, setWhen] = useState<"now" | "at">("now");
  const [at, setAt] = useState("");
  const [audience, setAudience] = useState<Audience | undefined>();
  const [previewAs, setPreviewAs] = useState<Conversation>(sampleRecipient);
  const [people, setPeople] = useState<Conversation[]>([]);
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const fields = useMemo(() => fieldsOf(previewAs), [previewAs]);

  const maySend = props.me.scopes.includes("send") || props.me.scopes.includes("admin");
  const mayDraft = props.me.scopes.includes("draft") || props.me.scopes.includes("admin");
  const send = async (e: Event) => {
    e.preventDefault();
    const asDraft = (e as SubmitEvent).submitter?.getAttribute("value") === "draft" || !maySend;
    setStatus("");
    if (!audience) return setStatus("Choose an audience first.");
    let request: Record<string, unknown>;
    try {
      request = { audience, message: messageOf(kind, body, summary, alertOn) };
    } catch (err) {
      return setStatus(`The card is not valid JSON: ${(err as Error).message}`);
    }
    if (category.trim()) request["category"] = category.trim();
    if (when === "at") {
      if (!at) return setStatus("Choose the time to send at.");
      request["schedule"] = { at: new Date(at).toISOString() };
    }
    setBusy(true);
    try {
      if (asDraft) {
        await api("POST", "/v1/drafts", { title: title.trim() || summary.trim() || "Untitled", request });
        location.hash = "#/drafts";
        return;
      }
      const created = await api<{ id: string }>("POST", "/v1/notifications", request);
      location.hash = `#/n/${encodeURIComponent(created.id)}`;
    } catch (err) {
      setStatus(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="compose" onSubmit={send}>
      <h1>Compose</h1>
      <div class="columns">
        <div class="editor">
          <fieldset>
            <legend>Message</legend>
            <div class="radios" role="radiogroup" aria-label="Format">
              {(
                [
                  ["text", "Plain text"],
                  ["markdown", "Markdown"],
                  ["card", "Adaptive Card (JSON)"],
                ] as const
              ).map(([k, label]) => (
                <label key={k}>
                  <input
                    type="radio"
                    name="format"
                    checked={kind === k}
                    onChange={() => {
                      setKind(k);
                      if (k !== "card" && body === sampleCard) setBody("Hello ${givenName}, the office is closed on **Friday**.");
                      if (k === "card" && body.trim() === "") setBody(sampleCard);
                    }}
                  />{" "}
                  {label}
                </label>
              ))}
            </div>
            <label for="body">
              {kind === "card" ? "Card JSON" : "Text"} (use ${"{givenName}"}, ${"{name}"}… for each person)
            </label>
            <textarea
              id="body"
              rows={kind === "card" ? 14 : 6}
              spellcheck={kind !== "card"}
              value={body}
              onInput={(e) => setBody(e.currentTarget.value)}
            />
            {mayDraft && (
              <>
                <label for="title">Title (for the approvers' list)</label>
                <input id="title" value={title} onInput={(e) => setTitle(e.currentTarget.value)} />
              </>
            )}
            <label for="summary">Summary (the notification's preview line in Teams' activity feed)</label>
            <input id="summary" value={summary} onInput={(e) => setSummary(e.currentTarget.value)} />
            <label for="category">Category (people who opted out of it are skipped)</label>
            <input id="category" value={category} onInput={(e) => setCategory(e.currentTarget.value)} />
            <label class="inline">
              <input type="checkbox" checked={alertOn} onChange={(e) => setAlertOn(e.currentTarget.checked)} /> Alert (show in the activity
              feed)
            </label>
          </fieldset>
          <AudiencePicker
            tenants={props.me.tenants}
            onChange={setAudience}
            onPreviewAs={(c) => c && setPreviewAs(c)}
            onPeople={setPeople}
          />
          <fieldset>
            <legend>When</legend>
            <div class="radios" role="radiogroup" aria-label="When">
              <label>
                <input type="radio" name="when" checked={when === "now"} onChange={() => setWhen("now")} /> Now
              </label>
              <label>
                <input type="radio" name="when" checked={when === "at"} onChange={() => setWhen("at")} /> At a time
              </label>
            </div>
            {when === "at" && (
              <>
                <label for="at">Send at (your local time)</label>
                <input id="at" type="datetime-local" value={at} onInput={(e) => setAt(e.currentTarget.value)} />
              </>
            )}
          </fieldset>
          <div class="buttons">
            {maySend && (
              <button type="submit" value="send" disabled={busy}>
                {when === "at" ? "Schedule" : "Send"}
              </button>
            )}
            {mayDraft && (
              <button type="submit" value="draft" class={maySend ? "secondary" : ""} disabled={busy}>
                Save as draft for approval
              </button>
            )}
            <button
              type="button"
              class="secondary"
              onClick={() =>
                setStatus(
                  `The API key ${props.me.keyId} is not linked to a Teams user, so Herald cannot send a test to you: pick yourself under People and send.`,
                )
              }
            >
              Send a test to myself
            </button>
          </div>
          {status && (
            <p role="alert" class="error">
              {status}
            </p>
          )}
        </div>
        <div class="side">
          <label for="preview-as">Preview as</label>
          <select
            id="preview-as"
            value={previewAs.id}
            onChange={(e) => setPreviewAs(people.find((p) => p.id === e.currentTarget.value) ?? sampleRecipient)}
          >
            <option value="">{sampleRecipient.user?.name} (a sample person)</option>
            {people.slice(0, 200).map((p) => (
              <option key={p.id} value={p.id}>
                {p.user?.name ?? p.id}
              </option>
            ))}
          </select>
          <Preview kind={kind} body={body} fields={fields} />
        </div>
      </div>
    </form>
  );
}
