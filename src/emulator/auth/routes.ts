import type { EmulatorContext } from "../context.js";
import { sendJson } from "../http/io.js";
import type { Router } from "../http/router.js";
import { C } from "../store/counters.js";
import { jwtBearerAssertionType } from "./client-assertion.js";
import type { ClientProof } from "./connector-auth.js";
import { connectorOpenIdDocuments, type EmulatorKeyPair, jwksPath, openIdMetadataPath } from "./keys.js";
import { EmulatorOidc, isCodeGrant } from "./oidc.js";
import { TokenFaults } from "./token-faults.js";

/** Keys the emulator signs with: one for activities to the bot, one for Entra-style tokens. */
export interface EmulatorKeys {
  /** Signs activities sent to the bot; published with endorsements ["msteams"]. */
  bot: EmulatorKeyPair;
  /** Signs access tokens from the token endpoint. */
  aad: EmulatorKeyPair;
}

/** The Bot Framework OpenID documents of a running emulator. */
export function botOpenId(ctx: EmulatorContext, keys: EmulatorKeys) {
  return connectorOpenIdDocuments(ctx.urls.base, ctx.options.tokenIssuer, [keys.bot]);
}

/**
 * Login-side routes:
 * - `POST /{tenant}/oauth2/v2.0/token`: client-credentials grant (form body: grant_type,
 *   client_id, client_secret, scope), as login.microsoftonline.com answers it; or with a
 *   certificate: client_assertion_type (jwt-bearer) and client_assertion instead of the secret,
 *   checked against the app's certificates (option `appCertificates`, client-assertion.ts);
 * - `GET /v1/.well-known/openidconfiguration` and `/v1/.well-known/keys`: the Bot Framework
 *   documents that verify what the emulator sends the bot (HERALD_OPENID_METADATA_URL);
 * - `GET /{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/discovery/v2.0/keys`:
 *   Entra-style documents for the access tokens;
 * - `/_emulator/token-faults`: make the token endpoint refuse (token-faults.ts);
 * - `GET /{tenant}/oauth2/v2.0/authorize`, the token endpoint's `authorization_code` grant and
 *   `/_emulator/oidc`: people signing in with OpenID Connect (oidc.ts).
 */
export function registerAuth(router: Router, ctx: EmulatorContext, keys: EmulatorKeys): void {
  const faults = new TokenFaults();
  faults.register(router);
  const oidc = new EmulatorOidc(ctx, keys.aad);
  oidc.register(router);
  router.add("POST", "/:tenant/oauth2/v2.0/token", async (call) => {
    if (faults.answer(call)) return;
    const form = new URLSearchParams(call.body.toString("utf8"));
    let clientId = form.get("client_id") ?? undefined;
    let secret = form.get("client_secret") ?? undefined;
    const basic = call.req.headers.authorization;
    if (basic?.startsWith("Basic ")) {
      const [id, ...rest] = Buffer.from(basic.slice(6), "base64").toString("utf8").split(":");
      clientId ??= id;
      secret ??= rest.join(":");
    }
    // People signing in (oidc.ts): the authorization-code grant with PKCE.
    if (isCodeGrant(form)) return oidc.token(call, form, clientId, secret);
    if (form.get("grant_type") !== "client_credentials") {
      sendJson(call.res, 400, {
        error: "unsupported_grant_type",
        error_description: "AADSTS70003: The app requested an unsupported grant type; use client_credentials.",
      });
      return;
    }
    const assertionType = form.get("client_assertion_type");
    const assertion = form.get("client_assertion");
    let proof: ClientProof = { secret };
    if (assertionType !== null || assertion !== null) {
      if (assertionType !== jwtBearerAssertionType || !assertion) {
        sendJson(call.res, 400, {
          error: "invalid_request",
          error_description: `AADSTS50027: client_assertion_type must be ${jwtBearerAssertionType}, with client_assertion holding the signed JWT.`,
        });
        return;
      }
      if (secret !== undefined) {
        sendJson(call.res, 400, {
          error: "invalid_request",
          error_description:
            "AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented together; send one.",
        });
        return;
      }
      proof = { assertion, tokenUrl: `${ctx.urls.base}${call.path}` };
    }
    const result = await ctx.auth.issue(clientId, proof, call.params[0]!, form.get("scope") ?? undefined);
    if ("error" in result) {
      const { status, ...body } = result;
      sendJson(call.res, status, body);
      return;
    }
    ctx.counters.inc(-1, C.tokensIssued);
    sendJson(call.res, 200, result, { "cache-control": "no-store" });
  });

  router.add("GET", openIdMetadataPath, (call) => sendJson(call.res, 200, botOpenId(ctx, keys).metadata));
  router.add("GET", jwksPath, (call) => sendJson(call.res, 200, botOpenId(ctx, keys).jwks));

  router.add("GET", "/:tenant/v2.0/.well-known/openid-configuration", (call) => {
    const tenant = call.params[0]!;
    sendJson(call.res, 200, {
      issuer: ctx.auth.issuer(tenant),
      authorization_endpoint: `${ctx.urls.base}/${tenant}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${ctx.urls.base}/${tenant}/oauth2/v2.0/logout`,
      token_endpoint: `${ctx.urls.base}/${tenant}/oauth2/v2.0/token`,
      jwks_uri: `${ctx.urls.base}/${tenant}/discovery/v2.0/keys`,
      id_token_signing_alg_values_supported: ["RS256"],
      token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic", "private_key_jwt"],
      grant_types_supported: ["client_credentials", "authorization_code"],
      response_types_supported: ["code"],
      code_challenge_methods_supported: ["S256"],
      scopes_supported: ["openid", "profile", "email"],
      subject_types_supported: ["pairwise"],
      claims_supported: ["sub", "oid", "tid", "name", "preferred_username", "email", "nonce", "roles", "groups"],
    });
  });
  // MSAL's instance discovery, so MSAL-based clients accept the emulator as an authority.
  router.add("GET", "/common/discovery/instance", (call) => {
    const host = new URL(ctx.urls.base).host;
    const authority = new URLSearchParams(call.query).get("authorization_endpoint") ?? `${ctx.urls.base}/common/oauth2/v2.0/authorize`;
    const tenant = new URL(authority, ctx.urls.base).pathname.split("/").filter(Boolean)[0] ?? "common";
    sendJson(call.res, 200, {
      tenant_discovery_endpoint: `${ctx.urls.base}/${tenant}/v2.0/.well-known/openid-configuration`,
      "api-version": "1.1",
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  });
  router.add("GET", "/:tenant/discovery/v2.0/keys", (call) => sendJson(call.res, 200, { keys: [keys.aad.publicJwk] }));
}
