import { createHash } from "node:crypto";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type EmulatorHandle, startEmulator } from "../../src/emulator/index.js";

/** The emulator's OIDC subset as a client sees it over HTTP: code + PKCE, loopback redirects only, single-use codes. */

let emulator: EmulatorHandle;
let tenant: string;
const redirect = "http://127.0.0.1:9/callback";
const verifier = "a-pkce-verifier-that-is-long-enough-0123456789abcdef";
const challenge = createHash("sha256").update(verifier).digest("base64url");

beforeAll(async () => {
  emulator = await startEmulator({ org: { tenants: 1, users: 1 } });
  tenant = emulator.org.tenants[0]!.id;
  const res = await fetch(`${emulator.url}/_emulator/oidc`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      clientId: "c1",
      clientSecret: "s1",
      people: [{ sub: "s-ana", name: "Ana", username: "ana@x.test", roles: ["R"], groups: ["G"] }],
    }),
  });
  expect(res.status).toBe(204);
});
afterAll(async () => {
  await emulator?.close();
});

const authorize = (params: Record<string, string>) =>
  fetch(
    `${emulator.url}/${tenant}/oauth2/v2.0/authorize?${new URLSearchParams({
      client_id: "c1",
      redirect_uri: redirect,
      response_type: "code",
      scope: "openid profile",
      state: "st",
      nonce: "no",
      code_challenge: challenge,
      code_challenge_method: "S256",
      ...params,
    })}`,
    { redirect: "manual" },
  );

const token = (code: string, codeVerifier = verifier) =>
  fetch(`${emulator.url}/${tenant}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirect,
      code_verifier: codeVerifier,
      client_id: "c1",
      client_secret: "s1",
    }),
  });

const codeOf = async (res: Response): Promise<string> => {
  expect(res.status).toBe(302);
  const to = new URL(res.headers.get("location") ?? "");
  expect(to.searchParams.get("state")).toBe("st");
  return to.searchParams.get("code") ?? "";
};

it("issues an ID token signed with the keys of its JWKS, carrying nonce, roles and groups; a code works once", async () => {
  const code = await codeOf(await authorize({ login_hint: "ana@x.test" }));
  const res = await token(code);
  expect(res.status).toBe(200);
  const idToken = ((await res.json()) as { id_token: string }).id_token;
  const discovery = (await (await fetch(`${emulator.url}/${tenant}/v2.0/.well-known/openid-configuration`)).json()) as {
    issuer: string;
    jwks_uri: string;
  };
  const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(discovery.jwks_uri)), {
    issuer: discovery.issuer,
    audience: "c1",
  });
  expect(payload).toMatchObject({ sub: "s-ana", nonce: "no", preferred_username: "ana@x.test", roles: ["R"], groups: ["G"], tid: tenant });
  expect((await token(code)).status).toBe(400);
});

it("refuses a wrong PKCE verifier, a wrong secret, a non-loopback redirect, and shows a chooser without login_hint", async () => {
  const bad = await token(await codeOf(await authorize({ login_hint: "s-ana" })), "another-verifier-0123456789-0123456789-abcdef");
  expect(bad.status).toBe(400);
  expect(JSON.stringify(await bad.json())).toContain("code_verifier");
  const far = await authorize({ redirect_uri: "https://evil.example/callback", login_hint: "s-ana" });
  expect(far.status).toBe(400);
  expect(await far.text()).toContain("loopback");
  const chooser = await authorize({});
  expect(chooser.status).toBe(200);
  expect(await chooser.text()).toContain("Sign in as Ana");
  const code = await codeOf(await authorize({ login_hint: "s-ana" }));
  const wrongSecret = await fetch(`${emulator.url}/${tenant}/oauth2/v2.0/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirect,
      code_verifier: verifier,
      client_id: "c1",
      client_secret: "nope",
    }),
  });
  expect(wrongSecret.status).toBe(401);
});
