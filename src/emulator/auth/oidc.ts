import { createHash, randomBytes } from "node:crypto";
import { SignJWT } from "jose";
import { z } from "zod";
import type { EmulatorContext } from "../context.js";
import { parseJsonBody, sendEmpty, sendJson, sendText } from "../http/io.js";
import type { Call, Router } from "../http/router.js";
import { createKeyPair, type EmulatorKeyPair } from "./keys.js";

/**
 * A small OpenID Connect provider standing in for Entra ID's sign-in of people (issue 12): the
 * authorization code flow with PKCE, as login.microsoftonline.com answers it, for the loopback
 * redirect URIs of tests and the demo only.
 *
 * - `PUT /_emulator/oidc {clientId, clientSecret, people: [{sub, name, username, email?, roles?, groups?}]}`
 *   registers the one client and the people who may sign in; `GET` shows it (without the secret).
 * - `PUT /_emulator/oidc/fault {fault}` spoils the next sign-in once: `badState` (the redirect
 *   carries another state), `badNonce`, `expired`, `forged` (signed with a key not in the JWKS),
 *   `wrongAudience` (the ID token's). `DELETE` clears it.
 * - `GET /{tenant}/oauth2/v2.0/authorize?client_id&redirect_uri&response_type=code&scope=openid…&state&nonce&code_challenge&code_challenge_method=S256[&login_hint]`:
 *   signs in the person named by `login_hint` (username or sub) at once, else shows a tiny page
 *   with one "Sign in as …" button per person; then redirects to redirect_uri with code and state.
 * - `POST /{tenant}/oauth2/v2.0/token` with `grant_type=authorization_code` (routes.ts sends it
 *   here): checks the client, the code (single use, 5 minutes), redirect_uri and the PKCE
 *   verifier, and answers an ID token signed with the emulator's Entra key (the JWKS at
 *   `/{tenant}/discovery/v2.0/keys`) carrying `nonce`, `tid`, `oid`, `name`,
 *   `preferred_username`, `email`, `roles` and `groups`.
 */

const personSchema = z.strictObject({
  sub: z.string().min(1).max(200),
  name: z.string().min(1).max(200),
  username: z.string().min(1).max(200),
  email: z.string().min(1).max(200).optional(),
  roles: z.array(z.string().min(1).max(200)).max(100).optional(),
  groups: z.array(z.string().min(1).max(200)).max(200).optional(),
});
const setupSchema = z.strictObject({
  clientId: z.string().min(1).max(200),
  clientSecret: z.string().min(1).max(500),
  people: z.array(personSchema).min(1).max(100),
});
export const oidcFaults = ["badState", "badNonce", "expired", "forged", "wrongAudience"] as const;
const faultSchema = z.strictObject({ fault: z.enum(oidcFaults) });

/** A person who may sign in at the emulator's OIDC provider. */
export type OidcPerson = z.infer<typeof personSchema>;
/** The registered client and its people (`PUT /_emulator/oidc`). */
export type OidcSetup = z.infer<typeof setupSchema>;
export type OidcFault = (typeof oidcFaults)[number];

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce: string | undefined;
  person: OidcPerson;
  tenant: string;
  expiresAt: number;
  fault: OidcFault | undefined;
}

const codeLifetimeMs = 5 * 60_000;

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch);

/** Only loopback redirect URIs: the emulator never sends a code anywhere else. */
function loopbackUri(raw: string | null): URL | undefined {
  if (!raw) return undefined;
  try {
    const u = new URL(raw);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const loopback = host === "127.0.0.1" || host === "::1" || host === "localhost" || /^127\./.test(host);
    return loopback && (u.protocol === "http:" || u.protocol === "https:") ? u : undefined;
  } catch {
    return undefined;
  }
}

/** The emulator's OIDC provider state: one client, its people, issued codes, a one-shot fault. */
export class EmulatorOidc {
  private setup: OidcSetup | undefined;
  private fault: OidcFault | undefined;
  private readonly codes = new Map<string, IssuedCode>();
  private forger: EmulatorKeyPair | undefined;

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly signing: EmulatorKeyPair,
  ) {}

  /** The control and authorize routes (the token grant comes through `token`). */
  register(router: Router): void {
    router.add("PUT", "/_emulator/oidc", (call) => {
      const parsed = setupSchema.safeParse(parseJsonBody(call.body));
      if (!parsed.success) return sendJson(call.res, 400, { error: `body: ${z.prettifyError(parsed.error)}` });
      this.setup = parsed.data;
      sendEmpty(call.res, 204);
    });
    router.add("GET", "/_emulator/oidc", (call) =>
      sendJson(call.res, 200, this.setup ? { clientId: this.setup.clientId, people: this.setup.people, fault: this.fault ?? null } : null),
    );
    router.add("PUT", "/_emulator/oidc/fault", (call) => {
      const parsed = faultSchema.safeParse(parseJsonBody(call.body));
      if (!parsed.success) return sendJson(call.res, 400, { error: `fault: one of ${oidcFaults.join(", ")}` });
      this.fault = parsed.data.fault;
      sendEmpty(call.res, 204);
    });
    router.add("DELETE", "/_emulator/oidc/fault", (call) => {
      this.fault = undefined;
      sendEmpty(call.res, 204);
    });
    router.add("GET", "/:tenant/oauth2/v2.0/authorize", (call) => this.authorize(call));
  }

  /** What is wrong with an authorization request, or undefined. */
  private problem(q: URLSearchParams): string | undefined {
    if (!this.setup) return "no OIDC client is registered: PUT /_emulator/oidc {clientId, clientSecret, people} first.";
    if (q.get("client_id") !== this.setup.clientId) return `client_id: unknown client "${q.get("client_id") ?? ""}".`;
    if (!loopbackUri(q.get("redirect_uri"))) return "redirect_uri: the emulator redirects only to loopback http(s) addresses.";
    if (q.get("response_type") !== "code") return "response_type: only `code` is supported.";
    if (!(q.get("scope") ?? "").split(" ").includes("openid")) return "scope: must include openid.";
    if (!q.get("code_challenge") || q.get("code_challenge_method") !== "S256")
      return "code_challenge with code_challenge_method=S256 is required.";
    return undefined;
  }

  private authorize(call: Call): void {
    const q = new URLSearchParams(call.query);
    const problem = this.problem(q);
    const redirect = loopbackUri(q.get("redirect_uri"));
    const challenge = q.get("code_challenge");
    if (problem !== undefined || !this.setup || !redirect || !challenge) {
      sendText(call.res, 400, "text/plain; charset=utf-8", `AADSTS900144: ${problem ?? "invalid request"}`);
      return;
    }
    const hint = q.get("login_hint");
    const person = hint ? this.setup.people.find((p) => p.username === hint || p.sub === hint) : undefined;
    if (!person) {
      this.chooser(call, q);
      return;
    }
    const fault = this.fault;
    this.fault = undefined;
    const code = randomBytes(24).toString("base64url");
    this.codes.set(code, {
      clientId: this.setup.clientId,
      redirectUri: q.get("redirect_uri") ?? "",
      challenge,
      nonce: q.get("nonce") ?? undefined,
      person,
      tenant: call.params[0] ?? "common",
      expiresAt: this.ctx.clock.now() + codeLifetimeMs,
      fault,
    });
    redirect.searchParams.set("code", code);
    const state = q.get("state");
    if (state !== null) redirect.searchParams.set("state", fault === "badState" ? `${state}-tampered` : state);
    call.res.writeHead(302, { location: redirect.toString(), "cache-control": "no-store" });
    call.res.end();
  }

  /** The tiny sign-in page: one button per person, each repeating the request with its login_hint. */
  private chooser(call: Call, q: URLSearchParams): void {
    const hidden = [...q.entries()]
      .filter(([k]) => k !== "login_hint")
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join("");
    const buttons = (this.setup?.people ?? [])
      .map(
        (p) =>
          `<li><form method="get">${hidden}<input type="hidden" name="login_hint" value="${escapeHtml(p.username)}"><button type="submit">Sign in as ${escapeHtml(p.name)}</button></form></li>`,
      )
      .join("");
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in (Teams emulator)</title></head><body><main><h1>Sign in to your organisation</h1><p>Teams emulator: choose a test person.</p><ul>${buttons}</ul></main></body></html>`;
    sendText(call.res, 200, "text/html; charset=utf-8", html);
  }

  /** `grant_type=authorization_code` at the token endpoint. */
  async token(call: Call, form: URLSearchParams, clientId: string | undefined, secret: string | undefined): Promise<void> {
    const fail = (status: number, error: string, description: string) =>
      sendJson(call.res, status, { error, error_description: description }, { "cache-control": "no-store" });
    if (!this.setup || clientId !== this.setup.clientId || secret !== this.setup.clientSecret)
      return fail(401, "invalid_client", "AADSTS7000215: Invalid client secret provided, or unknown client.");
    const code = form.get("code") ?? "";
    const issued = this.codes.get(code);
    this.codes.delete(code);
    if (!issued || issued.expiresAt < this.ctx.clock.now() || issued.clientId !== clientId)
      return fail(400, "invalid_grant", "AADSTS70008: The provided authorization code is expired, used or unknown.");
    if (form.get("redirect_uri") !== issued.redirectUri)
      return fail(400, "invalid_grant", "AADSTS50011: redirect_uri does not match the one of the authorization request.");
    const verifier = form.get("code_verifier") ?? "";
    if (createHash("sha256").update(verifier).digest("base64url") !== issued.challenge)
      return fail(400, "invalid_grant", "AADSTS501481: The code_verifier does not match the code_challenge.");
    const idToken = await this.idToken(issued);
    sendJson(
      call.res,
      200,
      {
        token_type: "Bearer",
        scope: "openid profile email",
        expires_in: 3600,
        access_token: randomBytes(24).toString("base64url"),
        id_token: idToken,
      },
      { "cache-control": "no-store" },
    );
  }

  private async idToken(issued: IssuedCode): Promise<string> {
    const { person, fault } = issued;
    const now = Math.floor(this.ctx.clock.now() / 1000);
    const iat = fault === "expired" ? now - 7200 : now;
    const claims: Record<string, unknown> = {
      tid: issued.tenant,
      oid: person.sub,
      name: person.name,
      preferred_username: person.username,
      ver: "2.0",
    };
    if (person.email) claims["email"] = person.email;
    if (person.roles) claims["roles"] = person.roles;
    if (person.groups) claims["groups"] = person.groups;
    if (issued.nonce !== undefined) claims["nonce"] = fault === "badNonce" ? "not-the-nonce-that-was-sent" : issued.nonce;
    let key = this.signing;
    if (fault === "forged") {
      this.forger ??= await createKeyPair(this.signing.kid);
      key = this.forger;
    }
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: key.kid, typ: "JWT" })
      .setIssuer(this.ctx.auth.issuer(issued.tenant))
      .setAudience(fault === "wrongAudience" ? "00000000-0000-0000-0000-000000000000" : issued.clientId)
      .setSubject(person.sub)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + 3600)
      .sign(key.privateKey);
  }
}

/** True when a token request body is the authorization-code grant. */
export const isCodeGrant = (form: URLSearchParams): boolean => form.get("grant_type") === "authorization_code";
