import { Agent, request } from "undici";
import type { Clock } from "../../clock.js";
import { type EmulatorKeyPair, signConnectorToken } from "../auth/keys.js";

export interface BotAnswer {
  status: number;
  /** Parsed JSON body, the text when not JSON, or undefined when empty. */
  body: unknown;
}

/** Lifetime of the tokens the emulator signs, as the Connector issues them (seconds). */
const TOKEN_LIFETIME = 3600;
/** Sign a fresh token when the cached one has less than this left (ms). */
const REFRESH_MARGIN = 5 * 60_000;

/**
 * Posts activities to the bot's endpoint, each with `Authorization: Bearer <JWT>` signed by
 * the emulator's key (iss = tokenIssuer, aud = app id, serviceurl = the activity's
 * serviceUrl). Like the Connector, it reuses one token per serviceUrl until shortly before
 * it expires, so a 100,000-user install signs once, not 200,000 times.
 */
export class BotClient {
  private readonly agent: Agent;
  private cached: { serviceUrl: string; token: string; expires: number } | undefined;

  constructor(
    private readonly endpoint: string,
    private readonly keys: EmulatorKeyPair,
    private readonly issuer: string,
    private readonly appId: string,
    private readonly clock: Clock,
    private readonly timeoutMs: number,
    connections: number,
  ) {
    this.agent = new Agent({ connections, keepAliveTimeout: 30_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  }

  private async token(serviceUrl: string): Promise<string> {
    const now = this.clock.now();
    const c = this.cached;
    if (c && c.serviceUrl === serviceUrl && c.expires - REFRESH_MARGIN > now) return c.token;
    const token = await signConnectorToken(this.keys, {
      issuer: this.issuer,
      audience: this.appId,
      serviceUrl,
      lifetimeSeconds: TOKEN_LIFETIME,
      now,
    });
    this.cached = { serviceUrl, token, expires: now + TOKEN_LIFETIME * 1000 };
    return token;
  }

  /** POST one activity; network errors reject. */
  async post(activity: Record<string, unknown>): Promise<BotAnswer> {
    const token = await this.token(String(activity["serviceUrl"]));
    const res = await request(this.endpoint, {
      method: "POST",
      dispatcher: this.agent,
      headers: { "content-type": "application/json; charset=utf-8", authorization: `Bearer ${token}` },
      body: JSON.stringify(activity),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.body.text();
    let body: unknown;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    return { status: res.statusCode, body };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
