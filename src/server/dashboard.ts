import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Context, Hono } from "hono";
import type { ApiKeyVerifier } from "../api/auth.js";
import { errorResponse, readJson } from "../http/errors.js";
import { type DashboardSession, type DashboardSessions, isPersonToken, sameToken } from "./dashboard-sessions.js";
import { type OidcSignIn, SignInRefused } from "./oidc.js";

/** The session cookie's name. */
export const sessionCookie = "herald_session";
/** The header a cookie-authenticated state-changing request carries its CSRF token in. */
export const csrfHeader = "x-csrf-token";

/**
 * No inline script, no inline style sheet, nothing from another origin, no framing. The
 * Adaptive Cards renderer and Preact set styles through the CSSOM (`element.style`), which
 * style-src does not govern, so no 'unsafe-inline' is needed.
 */
export const dashboardCsp =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const securityHeaders: Record<string, string> = {
  "content-security-policy": dashboardCsp,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  // The one-time sign-in link carries its token in the URL: never send it on as a Referer.
  "referrer-policy": "no-referrer",
};

interface Asset {
  body: Buffer;
  type: string;
  version: string;
}

/**
 * The bundled UI (scripts/build-dashboard.mjs writes dist/dashboard/app.js and app.css):
 * beside this file once built (dist/server → dist/dashboard), or the package's dist when run
 * from the sources (tests).
 */
function findAssets(): Map<string, Asset> {
  const candidates = [new URL("../dashboard/", import.meta.url), new URL("../../dist/dashboard/", import.meta.url)];
  const dir = candidates.find((u) => existsSync(fileURLToPath(new URL("app.js", u))));
  const assets = new Map<string, Asset>();
  if (!dir) return assets;
  for (const [name, type] of [
    ["app.js", "text/javascript; charset=utf-8"],
    ["app.css", "text/css; charset=utf-8"],
  ] as const) {
    const path = fileURLToPath(new URL(name, dir));
    if (!existsSync(path)) continue;
    const body = readFileSync(path);
    assets.set(name, { body, type, version: createHash("sha256").update(body).digest("hex").slice(0, 16) });
  }
  return assets;
}

function shell(assets: Map<string, Asset>): string {
  const v = (name: string) => assets.get(name)?.version ?? "0";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald</title><link rel="stylesheet" href="/dashboard/assets/app.css?v=${v("app.css")}"></head>
<body><div id="app"><noscript>The Herald dashboard needs JavaScript.</noscript></div>
<script type="module" src="/dashboard/assets/app.js?v=${v("app.js")}"></script></body></html>`;
}

const cookieOf = (req: Request, name: string): string | undefined => {
  for (const part of (req.headers.get("cookie") ?? "").split(";")) {
    const [k, ...rest] = part.trim().split("=");
    if (k === name) return rest.join("=");
  }
  return undefined;
};

/** Behind https (directly, or a proxy that says so): the cookie gets `Secure`. */
const isHttps = (req: Request): boolean =>
  new URL(req.url).protocol === "https:" || (req.headers.get("x-forwarded-proto") ?? "").split(",")[0]?.trim() === "https";

function setCookie(c: Context, req: Request, value: string, maxAgeS: number): void {
  const secure = isHttps(req) ? "; Secure" : "";
  c.header("set-cookie", `${sessionCookie}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`);
}

/**
 * A request from a page of another origin (browsers send Origin on every cross-origin request).
 * Behind a TLS-terminating proxy the request reaches Herald as http while the page's origin is
 * https: the origin compared is the one the browser sees (a forged x-forwarded-proto only
 * changes the scheme Herald expects, and a cross-site page cannot set it without a preflight).
 */
const foreignOrigin = (req: Request): boolean => {
  const origin = req.headers.get("origin");
  const url = new URL(req.url);
  return origin !== null && origin !== `${isHttps(req) ? "https:" : url.protocol}//${url.host}`;
};

const unsafe = (method: string): boolean => !["GET", "HEAD", "OPTIONS"].includes(method);

export interface DashboardDeps {
  sessions: DashboardSessions;
  /** The API's own key verifier: a session has what its key has, checked on every request. */
  keys: ApiKeyVerifier;
  /** Sign-in with the organisation's OpenID Connect provider; undefined = API keys only. */
  oidc?: OidcSignIn | undefined;
}

/** The pending OpenID Connect sign-in's cookie (its state, nonce and PKCE verifier stay on the server). */
export const oidcCookie = "herald_oidc";

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch);

/** The origin the browser sees (https behind a TLS-terminating proxy that says so). */
const originOf = (req: Request): string => `${isHttps(req) ? "https:" : new URL(req.url).protocol}//${new URL(req.url).host}`;

/**
 * `GET /` (the page), `GET /dashboard/assets/*`, and the session endpoints:
 * `POST /dashboard/session {apiKey}` signs in, `GET /dashboard/session` says who is signed in
 * (and gives the CSRF token), `DELETE /dashboard/session` signs out,
 * `GET /dashboard/sign-in?token=` redeems a one-time link from `herald demo`;
 * `GET /dashboard/sign-in-options` says whether OpenID Connect sign-in is on, and
 * `GET /dashboard/oidc/start` → the issuer → `GET /dashboard/oidc/callback` signs a person in.
 */
export function dashboardRoutes(deps: DashboardDeps): Hono {
  const app = new Hono();
  const assets = findAssets();
  const html = shell(assets);
  app.use("/dashboard/*", async (c, next) => {
    await next();
    for (const [k, v] of Object.entries(securityHeaders)) c.res.headers.set(k, v);
  });

  app.get("/", (c) => {
    if (!assets.has("app.js"))
      return errorResponse(
        c,
        503,
        "HERALD_E_DASHBOARD_NOT_BUILT",
        "The dashboard is not built: run `npm run build` (it bundles dist/dashboard).",
      );
    return c.html(html, 200, { ...securityHeaders, "cache-control": "no-store" });
  });

  app.get("/dashboard/assets/:name", (c) => {
    const asset = assets.get(c.req.param("name"));
    if (!asset) return errorResponse(c, 404, "HERALD_E_NOT_FOUND", "No such dashboard file.");
    // The page names each file with its content hash, so a named version never changes.
    const cache = c.req.query("v") === asset.version ? "public, max-age=31536000, immutable" : "no-cache";
    return c.body(new Uint8Array(asset.body), 200, { "content-type": asset.type, "cache-control": cache, etag: `"${asset.version}"` });
  });

  const describe = async (c: Context, s: DashboardSession) => {
    const principal = await deps.keys.verify(s.apiKey);
    if (!principal) {
      deps.sessions.destroy(s.id);
      return errorResponse(c, 401, "HERALD_E_UNAUTHENTICATED", "The API key of this session was revoked; sign in again.");
    }
    const expiresAt = new Date(s.createdAt + deps.sessions.times.absoluteMs).toISOString();
    c.header("cache-control", "no-store");
    return c.json({
      keyId: principal.keyId,
      scopes: principal.scopes,
      tenants: principal.tenants ?? null,
      teams: principal.teams ?? null,
      groups: principal.groups ?? null,
      person: principal.person ?? null,
      csrf: s.csrf,
      expiresAt,
    });
  };

  // Which sign-ins the page offers (no session needed).
  app.get("/dashboard/sign-in-options", (c) => c.json({ oidc: deps.oidc !== undefined }, 200, { "cache-control": "no-store" }));

  const oidcPage = (c: Context, status: 400 | 401 | 403 | 502, message: string) => {
    c.header("set-cookie", `${oidcCookie}=; Path=/dashboard/oidc; HttpOnly; SameSite=Lax; Max-Age=0`, { append: true });
    return c.html(
      `<!doctype html><html lang="en"><title>Herald</title><main><h1>Sign-in with your organisation failed</h1><p role="alert">${escapeHtml(message)}</p><p><a href="/">Back to sign-in</a></p></main></html>`,
      status,
      { ...securityHeaders, "cache-control": "no-store" },
    );
  };

  app.get("/dashboard/oidc/start", async (c) => {
    const oidc = deps.oidc;
    if (!oidc) return errorResponse(c, 404, "HERALD_E_OIDC_OFF", "Sign-in with the organisation is not configured (HERALD_OIDC_ISSUER).");
    try {
      const { url, login } = await oidc.begin(originOf(c.req.raw));
      const id = deps.sessions.startLogin(login);
      const secure = isHttps(c.req.raw) ? "; Secure" : "";
      // Lax, not Strict: the issuer sends the browser back with a cross-site top-level GET.
      c.header("set-cookie", `${oidcCookie}=${id}; Path=/dashboard/oidc; HttpOnly; SameSite=Lax; Max-Age=600${secure}`);
      c.header("cache-control", "no-store");
      return c.redirect(url, 302);
    } catch (e) {
      if (e instanceof SignInRefused) return oidcPage(c, e.status, e.message);
      throw e;
    }
  });

  app.get("/dashboard/oidc/callback", async (c) => {
    const oidc = deps.oidc;
    if (!oidc) return errorResponse(c, 404, "HERALD_E_OIDC_OFF", "Sign-in with the organisation is not configured (HERALD_OIDC_ISSUER).");
    const login = deps.sessions.takeLogin(cookieOf(c.req.raw, oidcCookie));
    if (!login) return oidcPage(c, 400, "This sign-in was not started in this browser, was already used, or has expired. Start again.");
    const query = new URL(c.req.url).searchParams;
    const error = query.get("error");
    if (error) return oidcPage(c, 401, `The organisation's sign-in answered ${error}: ${query.get("error_description") ?? ""}`);
    try {
      const person = await oidc.finish(query, login);
      const s = deps.sessions.createForPerson(person);
      setCookie(c, c.req.raw, s.id, Math.floor(deps.sessions.times.absoluteMs / 1000));
      c.header("set-cookie", `${oidcCookie}=; Path=/dashboard/oidc; HttpOnly; SameSite=Lax; Max-Age=0`, { append: true });
      return c.redirect("/", 303);
    } catch (e) {
      if (e instanceof SignInRefused) return oidcPage(c, e.status, e.message);
      throw e;
    }
  });

  app.post("/dashboard/session", async (c) => {
    if (foreignOrigin(c.req.raw)) return errorResponse(c, 403, "HERALD_E_CSRF", "Sign-in from another site is refused.");
    // JSON only: a cross-site form cannot send application/json without a CORS preflight.
    if (!/^application\/json\b/i.test(c.req.header("content-type") ?? ""))
      return errorResponse(c, 415, "HERALD_E_CONTENT_TYPE", "Send {apiKey} as application/json.");
    const body = await readJson(c.req.raw, 4096);
    if (!body.ok) return errorResponse(c, body.status, body.code, body.message);
    const key = (body.value as { apiKey?: unknown } | null)?.apiKey;
    if (typeof key !== "string" || key.length === 0 || key.length > 500)
      return errorResponse(c, 400, "HERALD_E_INVALID_REQUEST", "apiKey: give the API key as a string.");
    // A person session's internal token is no API key: it never makes a session of its own.
    if (isPersonToken(key) || !(await deps.keys.verify(key)))
      return errorResponse(c, 401, "HERALD_E_UNAUTHENTICATED", "That API key is not valid (unknown or revoked).");
    const s = deps.sessions.create(key);
    setCookie(c, c.req.raw, s.id, Math.floor(deps.sessions.times.absoluteMs / 1000));
    return describe(c, s);
  });

  app.get("/dashboard/session", async (c) => {
    const s = deps.sessions.get(cookieOf(c.req.raw, sessionCookie));
    if (!s) return errorResponse(c, 401, "HERALD_E_UNAUTHENTICATED", "Not signed in.");
    return describe(c, s);
  });

  app.delete("/dashboard/session", (c) => {
    const s = deps.sessions.get(cookieOf(c.req.raw, sessionCookie));
    if (s && !sameToken(c.req.header(csrfHeader) ?? "", s.csrf))
      return errorResponse(c, 403, "HERALD_E_CSRF", `Send the session's CSRF token in ${csrfHeader}.`);
    if (s) deps.sessions.destroy(s.id);
    setCookie(c, c.req.raw, "", 0);
    return c.body(null, 204);
  });

  app.get("/dashboard/sign-in", async (c) => {
    const key = deps.sessions.redeem(c.req.query("token") ?? "");
    if (!key || !(await deps.keys.verify(key)))
      return c.html(
        '<!doctype html><title>Herald</title><p>This sign-in link was already used or has expired. <a href="/">Sign in with an API key</a>.</p>',
        401,
        { ...securityHeaders, "cache-control": "no-store" },
      );
    const s = deps.sessions.create(key);
    setCookie(c, c.req.raw, s.id, Math.floor(deps.sessions.times.absoluteMs / 1000));
    return c.redirect("/", 303);
  });

  return app;
}

/**
 * Lets the dashboard call the API with its cookie: a `/v1/` request with no Authorization
 * header and a live session cookie is sent on with the session's key as its bearer token (so
 * the API's own scope and tenant checks decide), after a CSRF check on every state-changing
 * method (the `x-csrf-token` header must equal the session's token, and a foreign Origin is
 * refused). Anything else passes through unchanged.
 */
export function withSessionAuth(
  sessions: DashboardSessions,
  next: (req: Request) => Response | Promise<Response>,
): (req: Request) => Response | Promise<Response> {
  const refuse = (status: number, code: string, message: string) =>
    Response.json({ error: { code, message } }, { status, headers: { "cache-control": "no-store" } });
  return (req) => {
    // A person session's token (`hp_…`) rides only on requests this wrapper forwards: one a client
    // sends itself (leaked from a log or a proxy) is refused, so only the session cookie + CSRF
    // token act as the person.
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "")?.[1];
    if (presented !== undefined && isPersonToken(presented))
      return refuse(
        401,
        "HERALD_E_UNAUTHENTICATED",
        "A dashboard session's internal token is not accepted from a client; send an API key as `Authorization: Bearer <key>`.",
      );
    if (req.headers.has("authorization") || !new URL(req.url).pathname.startsWith("/v1/")) return next(req);
    const session = sessions.get(cookieOf(req, sessionCookie));
    if (!session) return next(req);
    if (unsafe(req.method)) {
      if (foreignOrigin(req)) return refuse(403, "HERALD_E_CSRF", "A request from another site is refused.");
      if (!sameToken(req.headers.get(csrfHeader) ?? "", session.csrf))
        return refuse(403, "HERALD_E_CSRF", `Send the session's CSRF token (GET /dashboard/session) in ${csrfHeader}.`);
    }
    const headers = new Headers(req.headers);
    headers.set("authorization", `Bearer ${session.apiKey}`);
    headers.delete("cookie");
    const init: RequestInit & { duplex?: "half" } = { method: req.method, headers, signal: req.signal };
    if (req.body) {
      init.body = req.body;
      init.duplex = "half";
    }
    return next(new Request(req.url, init));
  };
}
