import { useEffect, useMemo, useState } from "preact/hooks";
import { api, errorText } from "./api.js";
import { type Conversation, loadConversations, peopleFromCsv } from "./directory.js";

type Kind = "all" | "teams" | "channels" | "users";
/** The `audience` of `POST /v1/notifications`. */
export type Audience = Record<string, unknown>;

interface Estimate {
  recipients: number | null;
  skipped: number;
  exact: boolean;
  note?: string;
}

function audienceOf(kind: Kind, tenantId: string, picked: string[], deliverTo: string): Audience | undefined {
  if (kind === "all") return tenantId ? { all: true, tenantId } : { all: true };
  if (picked.length === 0) return undefined;
  if (kind === "teams") return { teams: picked, deliverTo };
  if (kind === "channels") return { channels: picked };
  return tenantId ? { users: picked, tenantId } : { users: picked };
}

/** Who gets the message: everyone (of a tenant), teams, channels or people (search, or a CSV), with an estimate. */
export function AudiencePicker(props: {
  /** The signed-in key's tenants (null = every tenant): a limited key lists each of its tenants. */
  tenants: string[] | null;
  onChange: (a: Audience | undefined) => void;
  onPreviewAs: (c: Conversation | undefined) => void;
  /** The people found (for the preview's "as" choice). */
  onPeople?: (people: Conversation[]) => void;
}) {
  const [kind, setKind] = useState<Kind>("users");
  const [tenantId, setTenantId] = useState("");
  const [deliverTo, setDeliverTo] = useState("channel");
  const [picked, setPicked] = useState<string[]>([]);
  const [query, setQuery] = useState("");
  const [people, setPeople] = useState<Conversation[]>([]);
  const [channels, setChannels] = useState<Conversation[]>([]);
  const [estimate, setEstimate] = useState<Estimate | undefined>();
  const [error, setError] = useState("");

  useEffect(() => {
    const each = (kind: "personal" | "channel") =>
      Promise.all((props.tenants ?? [undefined]).map((t) => loadConversations(kind, t))).then((lists) => lists.flat());
    each("personal").then(
      (found) => {
        setPeople(found);
        props.onPeople?.(found);
      },
      (e) => setError(errorText(e)),
    );
    each("channel").then(setChannels, () => undefined);
  }, []);
  const audience = useMemo(() => audienceOf(kind, tenantId.trim(), picked, deliverTo), [kind, tenantId, picked, deliverTo]);
  useEffect(() => {
    props.onChange(audience);
    setEstimate(undefined);
    if (!audience) return;
    const t = setTimeout(() => {
      api<Estimate>("POST", "/v1/audiences/estimate", { audience }).then(
        (r) => {
          setEstimate(r);
          setError("");
        },
        (e) => setError(errorText(e)),
      );
    }, 250);
    return () => clearTimeout(t);
  }, [audience]);

  const options = useMemo((): { id: string; label: string; conv?: Conversation }[] => {
    if (kind === "users")
      return people
        .filter((p) => p.user)
        .map((p) => ({ id: p.user?.id ?? "", label: `${p.user?.name ?? p.user?.id} (${p.tenantId})`, conv: p }));
    const seen = new Map<string, string>();
    for (const c of channels) {
      if (kind === "teams" && c.team) seen.set(c.team.id, c.team.name ?? c.team.id);
      if (kind === "channels") seen.set(c.id, `${c.team?.name ?? ""} › ${c.channel?.name ?? "General"}`);
    }
    return [...seen].map(([id, label]) => ({ id, label }));
  }, [kind, people, channels]);
  const q = query.trim().toLowerCase();
  const matches = q ? options.filter((o) => o.label.toLowerCase().includes(q) && !picked.includes(o.id)).slice(0, 8) : [];
  const labelOf = (id: string) => options.find((o) => o.id === id)?.label ?? id;
  const add = (id: string) => {
    setPicked([...picked, id]);
    setQuery("");
    const conv = options.find((o) => o.id === id)?.conv;
    if (conv) props.onPreviewAs(conv);
  };
  const upload = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (file) setPicked([...new Set([...picked, ...peopleFromCsv(await file.text())])]);
  };

  return (
    <fieldset class="audience">
      <legend>Audience</legend>
      <div class="radios" role="radiogroup" aria-label="Send to">
        {(
          [
            ["users", "People"],
            ["teams", "Teams"],
            ["channels", "Channels"],
            ["all", "Everyone"],
          ] as const
        ).map(([k, label]) => (
          <label key={k}>
            <input
              type="radio"
              name="audience-kind"
              value={k}
              checked={kind === k}
              onChange={() => {
                setKind(k);
                setPicked([]);
              }}
            />{" "}
            {label}
          </label>
        ))}
      </div>
      {(kind === "all" || kind === "users") && (
        <>
          <label for="tenant">Tenant id {kind === "all" ? "(empty: every tenant)" : "(optional)"}</label>
          <input id="tenant" value={tenantId} onInput={(e) => setTenantId(e.currentTarget.value)} />
        </>
      )}
      {kind === "teams" && (
        <div class="radios" role="radiogroup" aria-label="Deliver to">
          <label>
            <input type="radio" name="deliver" checked={deliverTo === "channel"} onChange={() => setDeliverTo("channel")} /> A post in the
            team's General channel
          </label>
          <label>
            <input type="radio" name="deliver" checked={deliverTo === "members"} onChange={() => setDeliverTo("members")} /> A 1:1 chat to
            every member
          </label>
        </div>
      )}
      {kind !== "all" && (
        <div class="search">
          <label for="who">Search {kind === "users" ? "people" : kind}</label>
          <input
            id="who"
            aria-describedby="who-help"
            autocomplete="off"
            value={query}
            onInput={(e) => setQuery(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && matches[0]) {
                e.preventDefault();
                add(matches[0].id);
              }
            }}
          />
          <p id="who-help" class="help">
            Type to search; Enter adds the first match.
          </p>
          {matches.length > 0 && (
            <ul class="options" aria-label="Matches">
              {matches.map((m) => (
                <li key={m.id}>
                  <button type="button" class="link" onClick={() => add(m.id)}>
                    {m.label}
                  </button>
                </li>
              ))}
            </ul>
          )}
          {kind === "users" && (
            <>
              <label for="csv">Or upload a CSV of people (a column id, aadObjectId, email or upn)</label>
              <input id="csv" type="file" accept=".csv,text/csv" onChange={upload} />
            </>
          )}
          <ul class="chips" aria-label="Chosen">
            {picked.map((id) => (
              <li key={id}>
                {labelOf(id)}{" "}
                <button
                  type="button"
                  class="link"
                  aria-label={`Remove ${labelOf(id)}`}
                  onClick={() => setPicked(picked.filter((p) => p !== id))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      <p class="estimate" aria-live="polite" data-testid="estimate">
        {estimate
          ? estimate.recipients === null
            ? (estimate.note ?? "Unknown until sending starts.")
            : `About ${estimate.exact ? "" : "at least "}${estimate.recipients.toLocaleString()} recipient${estimate.recipients === 1 ? "" : "s"}${estimate.skipped ? ` (${estimate.skipped} skipped: blocked, uninstalled, opted out or unknown)` : ""}.`
          : audience
            ? "Estimating…"
            : "Choose who gets the message."}
      </p>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </fieldset>
  );
}
