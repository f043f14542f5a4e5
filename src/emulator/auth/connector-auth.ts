import { jwtVerify, SignJWT } from "jose";
import type { Clock } from "../../clock.js";
import type { ClientCredential } from "../options.js";
import { checkClientAssertion, type RegisteredCertificate, registerCertificates } from "./client-assertion.js";
import type { EmulatorKeyPair } from "./keys.js";

/** Audiences of Connector tokens in every cloud (scope without `/.default`). */
export const connectorAudiences = ["https://api.botframework.com", "https://api.botframework.us", "https://api.botframework.azure.cn"];

/** Tenant id of Microsoft's `botframework.com` tenant (legacy multi-tenant bots). */
export const botFrameworkTenantId = "d6d49420-f39b-4df7-a1dc-d59a935871db";

/** Lifetime of issued tokens in seconds, as Entra issues them. */
export const tokenLifetimeSeconds = 3599;

export interface IssuedToken {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  ext_expires_in: number;
}

export type TokenRefusal = { error: string; error_description: string; status: number };

/** How the client proved who it is: a secret, or a signed assertion (certificate credential). */
export type ClientProof = { secret: string | undefined } | { assertion: string; tokenUrl: string };

const CACHE_MAX = 10_000;

/**
 * The emulator's stand-in for Entra ID's client-credentials flow, and the check the Connector
 * makes on each call. Verified tokens are cached (token → expiry), so the hot path costs a Map
 * lookup, not an RSA verification.
 */
export class ConnectorAuth {
  private readonly verified = new Map<string, { exp: number; aud: string }>();
  private readonly certificates: RegisteredCertificate[];
  /** Base URL for the `iss` of issued tokens; set once the server listens. */
  baseUrl = "";

  constructor(
    private readonly keys: EmulatorKeyPair,
    private readonly clock: Clock,
    public enabled: boolean,
    private readonly clients: readonly ClientCredential[] | undefined,
    appCertificates: readonly { appId: string; certificate: string }[] = [],
  ) {
    this.certificates = registerCertificates(appCertificates);
  }

  /** Issuer of tokens for a tenant path segment (GUID or domain as given). */
  issuer(tenant: string): string {
    return `${this.baseUrl}/${tenant}/v2.0`;
  }

  /** Client-credentials grant: a signed token for `scope`, or the OAuth error Entra would give. */
  async issue(
    clientIdParam: string | undefined,
    proof: ClientProof,
    tenant: string,
    scope: string | undefined,
  ): Promise<IssuedToken | TokenRefusal> {
    let clientId = clientIdParam;
    if ("assertion" in proof) {
      const checked = await checkClientAssertion({
        assertion: proof.assertion,
        clientId,
        tokenUrl: proof.tokenUrl,
        certificates: this.certificates,
        now: this.clock.now(),
      });
      if ("error" in checked) return checked;
      clientId = checked.appId;
    }
    if (!clientId)
      return {
        status: 400,
        error: "invalid_request",
        error_description: "AADSTS900144: The request body must contain the parameter 'client_id'.",
      };
    if (!scope)
      return {
        status: 400,
        error: "invalid_request",
        error_description: "AADSTS900144: The request body must contain the parameter 'scope'.",
      };
    if (!scope.endsWith("/.default"))
      return {
        status: 400,
        error: "invalid_scope",
        error_description: `AADSTS1002012: The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`,
      };
    if (this.clients) {
      const known = this.clients.find((c) => c.id === clientId);
      if (!known)
        return {
          status: 400,
          error: "unauthorized_client",
          error_description: `AADSTS700016: Application with identifier '${clientId}' was not found in the directory.`,
        };
      if (!("assertion" in proof) && known.secret !== proof.secret)
        return { status: 401, error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret provided." };
    }
    const now = Math.floor(this.clock.now() / 1000);
    const tid = tenant === "botframework.com" ? botFrameworkTenantId : tenant;
    const token = await new SignJWT({ appid: clientId, azp: clientId, tid, ver: "2.0", idtyp: "app" })
      .setProtectedHeader({ alg: "RS256", kid: this.keys.kid, typ: "JWT" })
      .setIssuer(this.issuer(tid))
      .setAudience(scope.slice(0, -"/.default".length))
      .setSubject(clientId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + tokenLifetimeSeconds)
      .sign(this.keys.privateKey);
    return { access_token: token, token_type: "Bearer", expires_in: tokenLifetimeSeconds, ext_expires_in: tokenLifetimeSeconds };
  }

  /**
   * Whether an Authorization header carries a valid token for one of `audiences`: `true` or
   * `false` at once from the cache, or a promise on the first sight of a token.
   */
  check(header: string | undefined, audiences: readonly string[] = connectorAudiences): boolean | Promise<boolean> {
    if (!this.enabled) return true;
    if (!header || header.length < 8 || !header.startsWith("Bearer ")) return false;
    const token = header.slice(7);
    const hit = this.verified.get(token);
    const now = this.clock.now();
    if (hit) return hit.exp > now && audiences.includes(hit.aud);
    return this.verify(token, audiences, now);
  }

  private async verify(token: string, audiences: readonly string[], now: number): Promise<boolean> {
    try {
      const { payload } = await jwtVerify(token, this.keys.publicKey, {
        algorithms: ["RS256"],
        currentDate: new Date(now),
        clockTolerance: 300,
      });
      const aud = typeof payload.aud === "string" ? payload.aud : "";
      if (this.verified.size >= CACHE_MAX) this.verified.clear();
      this.verified.set(token, { exp: (payload.exp ?? 0) * 1000, aud });
      return audiences.includes(aud);
    } catch {
      return false;
    }
  }
}
