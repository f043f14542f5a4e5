import { useMemo, useState } from "preact/hooks";
import { api, errorText, type Me } from "./api.js";
import { type Audience, AudiencePicker } from "./audience.js";
import { type Conversation, fieldsOf } from "./directory.js";
import { previewOf } from "./message-card.js";
import { Preview } from "./preview.js";
import { type AskForm, askFormOf, askMessage, emptyAsk, ResponsesEditor } from "./responses-editor.js";
import { defaultSchedule, type ScheduleForm, SchedulePicker, scheduleOf } from "./schedule-picker.js";
import { type SavedTemplate, TemplateBar, type TemplateContent } from "./templates.js";
import { TestToMyself } from "./test-send.js";

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

/** The text a template sends beside its card, kept as it is (with its own format). */
export interface CardText {
  text: string;
  textFormat?: string | undefined;
}

/** The `message` of `POST /v1/notifications` from the form (throws when the card is not JSON). */
export function messageOf(
  kind: Kind,
  body: string,
  summary: string,
  alert: boolean,
  ask: AskForm = emptyAsk,
  cardText?: CardText,
): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  if (ask.kind !== "survey") {
    // A poll or an acknowledgement may stand alone: blank text is left out, not sent empty.
    if (kind === "card") {
      if (cardText) Object.assign(m, { text: cardText.text }, cardText.textFormat ? { textFormat: cardText.textFormat } : {});
      m["card"] = JSON.parse(body);
    } else if (body.trim() !== "" || ask.kind === "none")
      Object.assign(m, { text: body, textFormat: kind === "text" ? "plain" : "markdown" });
  }
  Object.assign(m, askMessage(ask));
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
  const [urgent, setUrgent] = useState(false);
  /** A template's `footer` and `data`, carried into what is sent. */
  const [carried, setCarried] = useState<Pick<SavedTemplate["options"], "footer" | "data">>({});
  const [ask, setAsk] = useState<AskForm>(emptyAsk);
  /** A template's text beside its card (sent with the card, never merged into it). */
  const [cardText, setCardText] = useState<CardText | undefined>();
  const [schedule, setSchedule] = useState<ScheduleForm>(defaultSchedule);
  const [audience, setAudience] = useState<Audience | undefined>();
  const [previewAs, setPreviewAs] = useState<Conversation>(sampleRecipient);
  const [people, setPeople] = useState<Conversation[]>([]);
  const [status, setStatus] = useState("");
  const [busy, setBusy] = useState(false);
  const fields = useMemo(() => fieldsOf(previewAs), [previewAs]);

  const maySend = props.me.scopes.includes("send") || props.me.scopes.includes("admin");
  const mayDraft = props.me.scopes.includes("draft") || props.me.scopes.includes("admin");

  const message = useMemo((): { message?: Record<string, unknown>; error?: string } => {
    try {
      return { message: messageOf(kind, body, summary, alertOn, ask, cardText) };
    } catch (err) {
      return { error: `The card is not valid JSON: ${(err as Error).message}` };
    }
  }, [kind, body, summary, alertOn, ask, cardText]);
  const shown = useMemo(() => (message.message ? previewOf(message.message) : { kind: "card" as const, body }), [message, body]);
  // The API refuses it too (message.card: cannot be combined with a poll); said here before sending.
  const pollWithCard = ask.kind === "poll" && kind === "card";

  const options = () => {
    const o: Record<string, unknown> = {};
    if (urgent) o["priority"] = "urgent";
    if (carried.footer !== undefined) o["footer"] = carried.footer;
    if (carried.data !== undefined) o["data"] = carried.data;
    return o;
  };
  const current = (): TemplateContent | { error: string } => {
    if (!message.message) return { error: message.error ?? "The message is not complete." };
    return { message: message.message, options: options(), ...(category.trim() ? { category: category.trim() } : {}) };
  };
  const useTemplate = (t: SavedTemplate) => {
    const m = t.message;
    const card = m["card"] as Record<string, unknown> | undefined;
    const text = typeof m["text"] === "string" ? (m["text"] as string) : "";
    if (card) {
      // Text beside a card stays beside it, in its own format (plain stays plain).
      setKind("card");
      setBody(JSON.stringify(card, null, 2));
      setCardText(text ? { text, textFormat: typeof m["textFormat"] === "string" ? (m["textFormat"] as string) : undefined } : undefined);
    } else {
      setKind(m["textFormat"] === "plain" ? "text" : "markdown");
      setBody(text);
      setCardText(undefined);
    }
    setSummary(typeof m["summary"] === "string" ? (m["summary"] as string) : "");
    setAlertOn(m["alert"] === true);
    setAsk(askFormOf(m));
    setCategory(t.category ?? "");
    setUrgent(t.options.priority === "urgent");
    setCarried({ footer: t.options.footer, data: t.options.data });
    if (!title.trim()) setTitle(t.name);
    setStatus("");
  };

  const send = async (e: Event) => {
    e.preventDefault();
    const asDraft = (e as SubmitEvent).submitter?.getAttribute("value") === "draft" || !maySend;
    setStatus("");
    if (!audience) return setStatus("Choose an audience first.");
    if (!message.message) return setStatus(message.error ?? "The message is not complete.");
    const when = scheduleOf(schedule);
    if (when.error) return setStatus(when.error);
    // An approval sends one notification; a series is made by POST /v1/notifications only.
    if (asDraft && schedule.when === "recurring")
      return setStatus("A recurring series cannot go through approval: choose another time, or ask someone who may send to create it.");
    const { data, ...rest } = options();
    const request: Record<string, unknown> = { audience, message: message.message, ...rest };
    if (data !== undefined) request["data"] = data;
    if (category.trim()) request["category"] = category.trim();
    if (when.schedule) request["schedule"] = when.schedule;
    setBusy(true);
    try {
      if (asDraft) {
        await api("POST", "/v1/drafts", { title: title.trim() || summary.trim() || "Untitled", request });
        location.hash = "#/drafts";
        return;
      }
      const created = await api<{ id: string; series?: boolean; nextRunAt?: string | null }>("POST", "/v1/notifications", request);
      if (created.series) {
        setStatus(`Created the recurring series ${created.id}${created.nextRunAt ? `; the first run is at ${created.nextRunAt}` : ""}.`);
        return;
      }
      location.hash = `#/n/${encodeURIComponent(created.id)}`;
    } catch (err) {
      setStatus(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const sendLabel = { now: "Send", at: "Schedule", local: "Schedule", recurring: "Create the series" }[schedule.when];
  return (
    <form class="compose" onSubmit={send}>
      <h1>Compose</h1>
      <div class="columns">
        <div class="editor">
          <TemplateBar current={current} onUse={useTemplate} mayWrite={maySend || mayDraft} />
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
            {kind === "card" && cardText && (
              <p class="note" data-testid="card-text">
                Sent with the card, as the template has it ({cardText.textFormat ?? "markdown"} text): “{cardText.text}”{" "}
                <button type="button" class="secondary" onClick={() => setCardText(undefined)}>
                  Leave this text out
                </button>
              </p>
            )}
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
            <label class="inline">
              <input type="checkbox" checked={urgent} onChange={(e) => setUrgent(e.currentTarget.checked)} /> Urgent (passes quiet hours and
              the frequency cap)
            </label>
          </fieldset>
          <ResponsesEditor value={ask} onChange={setAsk} />
          {pollWithCard && (
            <p role="alert" class="error">
              A poll is its own card: write the message as Plain text or Markdown.
            </p>
          )}
          <AudiencePicker
            tenants={props.me.tenants}
            onChange={setAudience}
            onPreviewAs={(c) => c && setPreviewAs(c)}
            onPeople={setPeople}
          />
          <SchedulePicker value={schedule} onChange={setSchedule} />
          <div class="buttons">
            {maySend && (
              <button type="submit" value="send" disabled={busy}>
                {sendLabel}
              </button>
            )}
            {mayDraft && (
              <button type="submit" value="draft" class={maySend ? "secondary" : ""} disabled={busy}>
                Save as draft for approval
              </button>
            )}
          </div>
          {status && (
            <p role="alert" class="error">
              {status}
            </p>
          )}
          {!maySend && mayDraft && (
            <p class="note">
              A test to yourself is a real message sent without approval, so it needs the "send" scope: check the message in the preview, or
              ask an admin for "send".
            </p>
          )}
          {maySend && (
            <TestToMyself
              me={props.me}
              people={people}
              message={() => message}
              extras={() => {
                const { data, footer } = options() as { data?: Record<string, unknown>; footer?: boolean };
                return { ...(data ? { data } : {}), ...(footer !== undefined ? { footer } : {}) };
              }}
            />
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
          {shown.kind === "error" ? (
            <p role="alert" class="error">
              {shown.error}
            </p>
          ) : (
            <Preview kind={shown.kind} body={shown.body} fields={fields} />
          )}
        </div>
      </div>
    </form>
  );
}
