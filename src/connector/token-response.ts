import { sanitize } from "../log.js";
import { type ErrorFacts, parseErrorBody } from "./error-body.js";

/**
 * Token endpoint answers, pure. Entra ID (v2 endpoint) answers
 * `{token_type, expires_in: 3599, access_token}`; IMDS answers `expires_in` as a string
 * (`"86399"`) next to `expires_on` (epoch seconds). Errors are OAuth's
 * `{error: "invalid_client", error_description: "AADSTS7000215: Invalid client secret ...", error_codes: [7000215]}`.
 */

export interface TokenAnswer {
  token: string;
  expiresInMs: number;
}

/**
 * Read a successful token answer; undefined when it has no access token or no lifetime.
 * @param nowMs the clock's now, for `expires_on` (absolute epoch seconds)
 */
export function readTokenAnswer(json: unknown, nowMs: number): TokenAnswer | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const o = json as Record<string, unknown>;
  if (typeof o.access_token !== "string" || o.access_token === "") return undefined;
  const expiresIn = seconds(o.expires_in);
  if (expiresIn !== undefined) return { token: o.access_token, expiresInMs: expiresIn * 1000 };
  const expiresOn = seconds(o.expires_on);
  if (expiresOn !== undefined) return { token: o.access_token, expiresInMs: Math.max(0, expiresOn * 1000 - nowMs) };
  return undefined;
}

/** Read a failed token answer: OAuth's `error`/`error_description`/`error_codes`, else the Connector shapes. */
export function readTokenError(body: string): ErrorFacts {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return parseErrorBody(body);
  }
  const o = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  if (typeof o.error !== "string") return parseErrorBody(body);
  const codes = Array.isArray(o.error_codes) ? o.error_codes : [];
  const first = codes[0];
  // The description's first line names the AADSTS error; the rest is trace and correlation ids.
  const description = typeof o.error_description === "string" ? o.error_description.split(/\r?\n/)[0] : undefined;
  return {
    code: o.error,
    subCode: undefined,
    errorCode: typeof first === "number" && Number.isInteger(first) ? first : undefined,
    message: description ? sanitize(description.trim(), 300) : undefined,
  };
}

function seconds(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === "string" && /^\d+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}
