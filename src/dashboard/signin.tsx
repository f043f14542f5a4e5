import { useEffect, useState } from "preact/hooks";
import { api, errorText, type Me } from "./api.js";

/** Sign in with an API key: the server keeps the key and gives this browser an HttpOnly session cookie. */
export function SignIn(props: { onSignedIn: (me: Me) => void }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState(false);
  useEffect(() => {
    api<{ oidc: boolean }>("GET", "/dashboard/sign-in-options").then(
      (o) => setOidc(o.oidc),
      () => setOidc(false),
    );
  }, []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      props.onSignedIn(await api<Me>("POST", "/dashboard/session", { apiKey: key }));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>Herald</h1>
      {oidc && (
        <p>
          {/* A plain link: the server sends the browser on to the organisation's sign-in page. */}
          <a class="button" href="/dashboard/oidc/start">
            Sign in with your organisation
          </a>
        </p>
      )}
      <p>
        {oidc ? "Or sign in with an API key." : "Sign in with an API key."} The page can do what the key's scopes allow, and nothing more.
      </p>
      <form onSubmit={submit}>
        <label for="apikey">API key</label>
        <input
          id="apikey"
          type="password"
          autocomplete="current-password"
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
