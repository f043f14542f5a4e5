import { useEffect, useState } from "preact/hooks";
import { ApiError, api, errorText, type Me, useSession } from "./api.js";
import { Compose } from "./compose.js";
import { DraftsPage } from "./drafts.js";
import { InstallationsPage } from "./installations.js";
import { NotificationList } from "./notifications.js";
import { OptOutsPage } from "./optouts.js";
import { AuditPage, BlockedPage, KeysPage } from "./reports.js";
import { SeriesPage } from "./series.js";
import { SignIn } from "./signin.js";
import { Watch } from "./watch.js";

/** A page of the dashboard: one per capability, so polls, schedules or installations add their own. */
interface Section {
  path: string;
  label: string;
  /** The scopes that show the page (any one; admin sees everything). */
  scopes: string[];
}

const sections: Section[] = [
  { path: "compose", label: "Compose", scopes: ["send", "draft"] },
  { path: "drafts", label: "Drafts", scopes: ["draft", "approve"] },
  { path: "notifications", label: "Notifications", scopes: ["read"] },
  { path: "series", label: "Series", scopes: ["read"] },
  { path: "blocked", label: "Blocked", scopes: ["read"] },
  { path: "opt-outs", label: "Opt-outs", scopes: ["read"] },
  { path: "installations", label: "Installations", scopes: ["admin"] },
  { path: "keys", label: "API keys", scopes: ["admin"] },
  { path: "audit", label: "Audit log", scopes: ["admin"] },
];

const may = (me: Me, scopes: string[]) => scopes.some((s) => me.scopes.includes(s)) || me.scopes.includes("admin");

function useHash(): string {
  const [hash, setHash] = useState(location.hash.slice(2));
  useEffect(() => {
    const on = () => setHash(location.hash.slice(2));
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

/** The whole dashboard: sign-in, then a navigation bar and the page the URL's hash names. */
export function App() {
  const [me, setMe] = useState<Me | undefined | null>(undefined);
  const hash = useHash();
  useEffect(() => {
    api<Me>("GET", "/dashboard/session").then(
      (m) => {
        useSession(m);
        setMe(m);
      },
      () => setMe(null),
    );
  }, []);
  if (me === undefined) return <p class="loading">Loading…</p>;
  if (me === null)
    return (
      <SignIn
        onSignedIn={(m) => {
          useSession(m);
          setMe(m);
        }}
      />
    );
  const signOut = async () => {
    try {
      await api("DELETE", "/dashboard/session");
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
    }
    useSession(undefined);
    setMe(null);
  };
  const visible = sections.filter((s) => may(me, s.scopes));
  const [page, id] = hash.split("/");
  const current = page || visible[0]?.path || "notifications";
  return (
    <div class="layout">
      <header class="top">
        <span class="brand">Herald</span>
        <nav aria-label="Sections">
          <ul>
            {visible.map((s) => (
              <li key={s.path}>
                <a href={`#/${s.path}`} aria-current={current === s.path ? "page" : undefined}>
                  {s.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {me.person?.name ?? me.keyId} <span class="scopes">({me.scopes.join(", ")})</span>
        </span>
        <button type="button" class="secondary" onClick={() => signOut().catch((e) => alert(errorText(e)))}>
          Sign out
        </button>
      </header>
      <main id="main">{pageFor(current, id, me)}</main>
    </div>
  );
}

function pageFor(page: string, id: string | undefined, me: Me) {
  if (page === "compose") return <Compose me={me} />;
  if (page === "n" && id) return <Watch id={decodeURIComponent(id)} me={me} />;
  if (page === "drafts") return <DraftsPage me={me} />;
  if (page === "blocked") return <BlockedPage />;
  if (page === "series") return <SeriesPage me={me} />;
  if (page === "opt-outs") return <OptOutsPage />;
  if (page === "installations") return <InstallationsPage />;
  if (page === "keys") return <KeysPage />;
  if (page === "audit") return <AuditPage />;
  return <NotificationList />;
}
