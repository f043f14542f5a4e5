import { useRef, useState } from "preact/hooks";
import { ApiError, api, errorText, type Me } from "./api.js";
import type { Conversation } from "./directory.js";

/** Who "myself" is in Teams: a person of the directory. */
interface Myself {
  userId: string;
  tenantId: string;
  name: string;
}

/** A random idempotency key (getRandomValues: randomUUID needs HTTPS, and Herald may be served over HTTP). */
const newKey = () => `test-${Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("")}`;

const storageKey = (keyId: string) => `herald.myself.${keyId}`;

function remembered(keyId: string): Myself | undefined {
  try {
    const v = JSON.parse(localStorage.getItem(storageKey(keyId)) ?? "null") as Myself | null;
    return v && typeof v.userId === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * "Send a test to myself": the composed message, now, to the signed-in person only
 * (`POST /v1/notifications/test`: one person, a notification of its own, never the broadcast).
 * An API-key session names no person, so the author says once who they are in Teams (a person
 * of the directory), remembered in this browser for this key; a session that carries a Teams or
 * Entra user id (`me.userId`, e.g. after an organisation sign-in) uses that instead. Shown only to
 * keys that may send (the API refuses a draft-only key). Each click sends one test: a click while
 * one is on its way does nothing, and each carries an `idempotencyKey` (kept when the answer was
 * lost, so trying again after a network error cannot send twice).
 */
export function TestToMyself(props: {
  me: Me;
  people: Conversation[];
  message: () => { message?: Record<string, unknown>; error?: string };
  extras: () => Record<string, unknown>;
}) {
  const sessionUser = (props.me as Me & { userId?: string }).userId;
  const [myself, setMyself] = useState<Myself | undefined>(() =>
    sessionUser ? { userId: sessionUser, tenantId: "", name: "you" } : remembered(props.me.keyId),
  );
  const [note, setNote] = useState<{ text: string; id?: string; error: boolean } | undefined>();
  const [busy, setBusy] = useState(false);
  /** A test is on its way: set at once, where `busy` disables the button only after a render. */
  const sending = useRef(false);
  /** The idempotencyKey of a test whose answer did not arrive, reused by the next click of the same test. */
  const unanswered = useRef<{ body: string; key: string } | undefined>();
  const choose = (userId: string) => {
    const c = props.people.find((p) => p.user?.id === userId);
    const next = c?.user ? { userId: c.user.id, tenantId: c.tenantId, name: c.user.name ?? c.user.id } : undefined;
    setMyself(next);
    if (next) localStorage.setItem(storageKey(props.me.keyId), JSON.stringify(next));
    else localStorage.removeItem(storageKey(props.me.keyId));
  };
  const send = async () => {
    if (!myself) return setNote({ text: "Choose who you are in Teams first.", error: true });
    const m = props.message();
    if (!m.message) return setNote({ text: m.error ?? "The message is not complete.", error: true });
    if (sending.current) return;
    sending.current = true;
    setBusy(true);
    const body = {
      userId: myself.userId,
      ...(myself.tenantId ? { tenantId: myself.tenantId } : {}),
      message: m.message,
      ...props.extras(),
    };
    const same = JSON.stringify(body);
    const key = unanswered.current?.body === same ? unanswered.current.key : newKey();
    unanswered.current = { body: same, key };
    try {
      const r = await api<{ id: string }>("POST", "/v1/notifications/test", { ...body, idempotencyKey: key });
      unanswered.current = undefined;
      setNote({ text: `Test sent to ${myself.name} only (notification ${r.id}).`, id: r.id, error: false });
    } catch (e) {
      // A refusal (4xx) settles this test; after a network error or a 5xx it may have been sent.
      if (e instanceof ApiError && e.status < 500) unanswered.current = undefined;
      setNote({ text: errorText(e), error: true });
    } finally {
      sending.current = false;
      setBusy(false);
    }
  };
  return (
    <fieldset style={{ marginTop: "1rem" }}>
      <legend>Test</legend>
      {!sessionUser && (
        <>
          <label for="myself">You in Teams (remembered in this browser)</label>
          <select id="myself" value={myself?.userId ?? ""} onChange={(e) => choose(e.currentTarget.value)}>
            <option value="">Choose yourself…</option>
            {props.people
              .filter((p) => p.user?.id)
              .slice(0, 2000)
              .map((p) => (
                // selected on the option too: the list arrives after the remembered choice.
                <option key={p.id} value={p.user?.id} selected={p.user?.id === myself?.userId}>
                  {p.user?.name ?? p.user?.id}
                </option>
              ))}
          </select>
        </>
      )}
      <div class="buttons">
        <button type="button" class="secondary" onClick={() => send()} disabled={busy}>
          Send a test to myself
        </button>
      </div>
      {note && (
        <p role={note.error ? "alert" : "status"} class={note.error ? "error" : undefined}>
          {note.text} {note.id && <a href={`#/n/${encodeURIComponent(note.id)}`}>Watch it</a>}
        </p>
      )}
    </fieldset>
  );
}
