import { type FooterPolicy, parseFooterPolicy } from "../preferences/footer.js";
import { type FrequencyCap, parseFrequencyCap } from "../preferences/hours.js";
import { readAppCertificate, showSettingValue } from "./certificate.js";
import { type CloudName, cloudNames, clouds } from "./clouds.js";
import { type OidcRoleMap, parseOidcRoles } from "./oidc-roles.js";

/** How the bot authenticates to Entra (HERALD_APP_TYPE). */
export type AppType = "SingleTenant" | "MultiTenant" | "UserAssignedMSI";
/** HERALD_INBOUND_AUTH: verify the Connector's JWT, or not (loopback emulators only). */
export type InboundAuth = "jwt" | "off";
/** HERALD_LOG_LEVEL: the least severe level written. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** HERALD_IN_FLIGHT_POLICY: what to do with a send in flight when the process died. */
export type InFlightPolicy = "unknown" | "resend";

/**
 * Herald's configuration: every setting is an environment variable `HERALD_*` and a matching
 * flag (`HERALD_DATABASE_URL` ↔ `--database-url`). `loadConfig` validates all of them at once
 * into one frozen value; any bad value stops start-up with a message naming the setting, the
 * value and what is accepted. Defaults are in `settings`.
 */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  apiKey: string | undefined;
  appId: string | undefined;
  appPassword: string | undefined;
  /** Path of a PEM file (private key + certificate) that signs client assertions instead of a password. */
  appCertificate: string | undefined;
  appTenantId: string | undefined;
  appType: AppType;
  cloud: CloudName;
  openIdMetadataUrl: string | undefined;
  tokenIssuer: string | undefined;
  tokenEndpoint: string | undefined;
  trustedHosts: readonly string[];
  inboundAuth: InboundAuth;
  /** Per-tenant send ceiling in requests per second; 0 = no tenant limit. */
  tenantRps: number;
  /** Requests to one tenant that may leave together, in ticks of the tenant's window (1 = one by one). */
  tenantTick: number;
  logLevel: LogLevel;
  /** Redis for shared rate-limit buckets when several processes send; unset = in-process buckets. */
  redisUrl: string | undefined;
  /** A JSON file with the welcome message (`{text?, card?}` for personal and/or team). */
  welcomeFile: string | undefined;
  /** What happens to a send that was in flight when the process died: report `unknown` or send again. */
  inFlightPolicy: InFlightPolicy;
  /** How long rows of a tenant whose admin disabled the bot wait before they end `failed`, in ms; 0 = until resumed. */
  tenantDisabledTimeoutMs: number;
  /** A conversation that blocked the bot is tried again by a later notification at most once per this interval, in ms; 0 = never. */
  blockedRetryMs: number;
  /** A survey nobody answers ends (`expired`) this long after its last question was asked, in ms. */
  surveyTimeoutMs: number;
  /** Known notification categories (HERALD_CATEGORIES); undefined = any category is accepted. */
  categories: readonly string[] | undefined;
  /** Which notifications end with how to stop them (HERALD_UNSUBSCRIBE_FOOTER). */
  unsubscribeFooter: FooterPolicy;
  /** At most this many non-urgent messages per person per window (HERALD_FREQUENCY_CAP); undefined = no cap. */
  frequencyCap: FrequencyCap | undefined;
  /** Microsoft Graph's base URL (without `/v1.0`); unset = the cloud's Graph host. Emulators set it. */
  graphUrl: string | undefined;
  /** The app's id in the tenant's app catalog; unset = looked up by externalId = HERALD_APP_ID. */
  teamsAppId: string | undefined;
  /** Install the app through Graph for recipients Herald has no chat with; unset = on when Herald has credentials. */
  autoInstall: "on" | "off" | undefined;
  /** Teams' bulk (batch) API for `delivery.mode` `batch` / `auto` (docs/batch.md); off by default while it lacks what docs/batch.md lists. */
  batchSend: "on" | "off";
  /** The OpenID Connect issuer people sign in to the dashboard with (Entra ID: `https://login.microsoftonline.com/<tenant>/v2.0`); unset = no OIDC sign-in. */
  oidcIssuer: string | undefined;
  /** The dashboard's client (application) id at the issuer. */
  oidcClientId: string | undefined;
  /** Its client secret. */
  oidcClientSecret: string | undefined;
  /** Where the issuer sends people back; unset = `<the dashboard's origin>/dashboard/oidc/callback`. */
  oidcRedirectUrl: string | undefined;
  /** Which ID-token `roles`/`groups` values give which Herald scopes and guardrails (HERALD_OIDC_ROLES). */
  oidcRoles: OidcRoleMap | undefined;
}

/** Every invalid setting at once (`problems`), each naming the setting, the value and what is accepted. */
export class ConfigError extends Error {
  readonly code = "HERALD_E_CONFIG";
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Parse<T> = (raw: string) => { ok: true; value: T } | { ok: false; expected: string };

/** One setting: its Config key, environment variable, flag, help text, default and parser. */
export interface Setting<K extends keyof Config = keyof Config> {
  key: K;
  env: string;
  flag: string;
  description: string;
  /** Raw default (shown in help); undefined = unset. */
  default: string | undefined;
  parse: Parse<Config[K]>;
  secret?: boolean;
}

const ok = <T>(value: T) => ({ ok: true as const, value });
const bad = (expected: string) => ({ ok: false as const, expected });

const text: Parse<string> = (raw) => (raw.trim() === "" ? bad("a non-empty string") : ok(raw.trim()));
const optionalText: Parse<string | undefined> = (raw) => (raw.trim() === "" ? ok(undefined) : ok(raw.trim()));
function oneOf<T extends string>(values: readonly T[]): Parse<T> {
  return (raw) => {
    const found = values.find((v) => v.toLowerCase() === raw.trim().toLowerCase());
    return found ? ok(found) : bad(`one of ${values.join(", ")}`);
  };
}
/** A duration: `0`, or a number with a unit (`500ms`, `30s`, `15m`, `24h`, `7d`), in milliseconds. */
export const duration: Parse<number> = (raw) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  if (!m?.[1] || (m[2] === undefined && Number(m[1]) !== 0)) return bad("a duration such as 30s, 15m, 24h or 7d (0 = never)");
  return ok(Math.round(Number(m[1]) * unit[(m[2] ?? "ms") as keyof typeof unit]));
};
const url: Parse<string | undefined> = (raw) => {
  if (raw.trim() === "") return ok(undefined);
  try {
    const u = new URL(raw.trim());
    return u.protocol === "http:" || u.protocol === "https:" ? ok(u.toString()) : bad("an http(s) URL");
  } catch {
    return bad("an absolute http(s) URL");
  }
};

function setting<K extends keyof Config>(
  key: K,
  env: string,
  description: string,
  def: string | undefined,
  parse: Parse<Config[K]>,
  secret = false,
): Setting<K> {
  const flag = `--${env
    .replace(/^HERALD_/, "")
    .toLowerCase()
    .replace(/_/g, "-")}`;
  return { key, env, flag, description, default: def, parse, secret };
}

/** Every setting, in the order the README lists them. */
export const settings: readonly Setting[] = [
  setting("port", "HERALD_PORT", "TCP port of the bot endpoint, API and dashboard.", "3978", (raw) => {
    // Digits only: Number("") is 0, so an empty HERALD_PORT would silently mean "any free port".
    const n = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
    return Number.isInteger(n) && n >= 0 && n <= 65535 ? ok(n) : bad("an integer from 0 to 65535 (0 = any free port)");
  }),
  setting("host", "HERALD_HOST", "Interface to listen on.", "127.0.0.1", text),
  setting(
    "databaseUrl",
    "HERALD_DATABASE_URL",
    "`sqlite:<path>` (a file, created if missing) or `postgres://user@host:port/db`.",
    "sqlite:./data/herald.db",
    (raw) => {
      const v = raw.trim();
      if (/^sqlite:.+/.test(v)) return ok(v);
      if (/^postgres(ql)?:\/\/.+/.test(v)) return ok(v);
      return bad("sqlite:<path> or postgres://user@host:port/database");
    },
  ),
  setting(
    "apiKey",
    "HERALD_API_KEY",
    "Admin API key accepted by the HTTP API (at least 16 characters).",
    undefined,
    (raw) => {
      const v = raw.trim();
      if (v === "") return ok(undefined);
      return v.length >= 16 ? ok(v) : bad("a key of at least 16 characters (e.g. `openssl rand -hex 24`)");
    },
    true,
  ),
  setting("appId", "HERALD_APP_ID", "The bot's Microsoft App ID (Entra application client id).", undefined, optionalText),
  setting(
    "appPassword",
    "HERALD_APP_PASSWORD",
    "The bot's client secret. Unset = Connector requests carry no token.",
    undefined,
    optionalText,
    true,
  ),
  setting(
    "appCertificate",
    "HERALD_APP_CERTIFICATE",
    "A PEM file with the bot's private key and certificate; signs the client assertion instead of a password.",
    undefined,
    (raw) => {
      const path = raw.trim();
      if (path === "") return ok(undefined);
      try {
        readAppCertificate(path);
        return ok(path);
      } catch (error) {
        return bad(`a readable PEM file with an RSA private key and its certificate: ${(error as Error).message}`);
      }
    },
  ),
  setting("appTenantId", "HERALD_APP_TENANT_ID", "The bot's home tenant (required for SingleTenant).", undefined, optionalText),
  setting(
    "appType",
    "HERALD_APP_TYPE",
    "How the bot authenticates.",
    "SingleTenant",
    oneOf(["SingleTenant", "MultiTenant", "UserAssignedMSI"] as const),
  ),
  setting("cloud", "HERALD_CLOUD", "Which Microsoft cloud the bot lives in.", "public", oneOf(cloudNames)),
  setting(
    "openIdMetadataUrl",
    "HERALD_OPENID_METADATA_URL",
    "Override of the cloud's OpenID metadata URL for inbound tokens.",
    undefined,
    url,
  ),
  setting("tokenIssuer", "HERALD_TOKEN_ISSUER", "Override of the cloud's inbound token issuer.", undefined, optionalText),
  setting("tokenEndpoint", "HERALD_TOKEN_ENDPOINT", "Override of the OAuth token endpoint for outbound tokens.", undefined, url),
  setting(
    "trustedHosts",
    "HERALD_TRUSTED_HOSTS",
    "Extra hosts allowed as serviceUrl, comma separated (`*.example.com` allowed).",
    "",
    (raw) => {
      const hosts = raw
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h !== "");
      const wrong = hosts.find((h) => !/^(\*\.)?[a-z0-9.-]+$|^\[?[0-9a-f:]+\]?$/.test(h));
      if (wrong) return bad(`host names without scheme or port (got "${wrong}")`);
      // `*.com` would trust every .com host: a wildcard needs at least a registrable domain under it.
      const broad = hosts.find((h) => h.startsWith("*.") && h.split(".").length < 3);
      return broad ? bad(`a wildcard under a registrable domain, like *.example.com (got "${broad}")`) : ok(Object.freeze(hosts));
    },
  ),
  setting(
    "inboundAuth",
    "HERALD_INBOUND_AUTH",
    "`jwt` verifies every inbound activity; `off` only for local emulators on loopback.",
    "jwt",
    oneOf(["jwt", "off"] as const),
  ),
  setting("tenantRps", "HERALD_TENANT_RPS", "Per-tenant send ceiling (requests/second); 0 = no tenant limit.", "50", (raw) => {
    const n = Number(raw);
    return raw.trim() !== "" && Number.isFinite(n) && n >= 0 ? ok(n) : bad("a number ≥ 0 (0 = no tenant limit)");
  }),
  setting(
    "tenantTick",
    "HERALD_TENANT_TICK",
    "Requests to one tenant that may leave together (1 = one by one); see README, Deployment and engines.",
    "1",
    (raw) => {
      const n = Number(raw);
      return /^\d+$/.test(raw.trim()) && n >= 1 && n <= 10 ? ok(n) : bad("a whole number from 1 to 10 (1 = one by one)");
    },
  ),
  setting("logLevel", "HERALD_LOG_LEVEL", "Least severe log level written.", "info", oneOf(["debug", "info", "warn", "error"] as const)),
  setting("redisUrl", "HERALD_REDIS_URL", "Redis for rate-limit buckets shared by several Herald processes.", undefined, (raw) => {
    const v = raw.trim();
    if (v === "") return ok(undefined);
    return /^rediss?:\/\/.+/.test(v) ? ok(v) : bad("redis://host:port");
  }),
  setting("welcomeFile", "HERALD_WELCOME_FILE", "JSON file with the welcome messages (see README).", undefined, optionalText),
  setting(
    "inFlightPolicy",
    "HERALD_IN_FLIGHT_POLICY",
    "A send that may have reached Teams unanswered (in flight when the process died, or timed out / reset after it was written): `unknown` (report it) or `resend`.",
    "unknown",
    oneOf(["unknown", "resend"] as const),
  ),
  setting(
    "tenantDisabledTimeoutMs",
    "HERALD_TENANT_DISABLED_TIMEOUT",
    "A tenant whose admin disabled the bot: its rows wait this long for a resume, then end `failed` (0 = wait until resumed).",
    "24h",
    duration,
  ),
  setting(
    "blockedRetryMs",
    "HERALD_BLOCKED_RETRY_INTERVAL",
    "A conversation that blocked the bot is tried again by a later notification at most once per this interval (0 = never).",
    "7d",
    duration,
  ),
  setting(
    "surveyTimeoutMs",
    "HERALD_SURVEY_TIMEOUT",
    "A survey question left unanswered this long ends the survey as `expired` (the next waiting or interrupted survey goes on); at least 1m.",
    "24h",
    (raw) => {
      const r = duration(raw);
      if (r.ok && r.value < 60_000) return { ok: false, expected: "a duration of at least 1m, such as 30m, 24h or 7d" };
      return r;
    },
  ),
  setting(
    "categories",
    "HERALD_CATEGORIES",
    "Known notification categories, comma separated (e.g. `alerts,news`); a request or a person naming another is refused. Unset = any.",
    undefined,
    (raw) => {
      const names = raw
        .split(",")
        .map((c) => c.trim())
        .filter((c) => c !== "");
      if (names.length === 0) return ok(undefined);
      const wrong = names.find((c) => !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(c) || c.toLowerCase() === "all");
      if (wrong) return bad(`category names of letters, digits, _ . - (at most 100, not "all"); got "${wrong}"`);
      return ok(Object.freeze([...new Set(names)]));
    },
  ),
  setting(
    "unsubscribeFooter",
    "HERALD_UNSUBSCRIBE_FOOTER",
    "Which notifications end with how to stop them: `broadcasts` (everyone, team members), `on`, `off`; then `,<category>=on|off` overrides.",
    "broadcasts",
    (raw) => {
      const policy = parseFooterPolicy(raw);
      return policy ? ok(policy) : bad("on, off or broadcasts, optionally followed by ,<category>=on|off (e.g. broadcasts,alerts=off)");
    },
  ),
  setting(
    "frequencyCap",
    "HERALD_FREQUENCY_CAP",
    "At most N non-urgent messages per person per period (`3/day`, `10/week`, `2/hour`, `5/12h`); later ones wait. Unset = no cap.",
    undefined,
    (raw) => {
      if (raw.trim() === "") return ok(undefined);
      const cap = parseFrequencyCap(raw);
      return cap ? ok(cap) : bad("N/day, N/hour, N/week or N/<hours>h with N ≥ 1 (e.g. 3/day)");
    },
  ),
  setting(
    "graphUrl",
    "HERALD_GRAPH_URL",
    "Microsoft Graph's base URL (the emulator's address for local runs); default: the cloud's Graph (https://graph.microsoft.com for public).",
    undefined,
    url,
  ),
  setting(
    "teamsAppId",
    "HERALD_TEAMS_APP_ID",
    "The app's id in the tenant's Teams app catalog; unset = looked up by externalId = HERALD_APP_ID.",
    undefined,
    optionalText,
  ),
  setting(
    "autoInstall",
    "HERALD_AUTO_INSTALL",
    "`on`: install the app through Graph for recipients Herald has no chat with, then message them; `off`: they end notFound. Default: on when Herald has credentials.",
    undefined,
    (raw) => (raw.trim() === "" ? ok(undefined) : oneOf(["on", "off"] as const)(raw)),
  ),
  setting(
    "batchSend",
    "HERALD_BATCH",
    "`on` (default): `delivery.mode` `batch` and `auto` may send through Teams' bulk API (a notification that asks for neither, `individual` being the default mode, is sent one request per recipient as without it); `off`: every notification goes one request per recipient (`batch` is refused, `auto` goes one by one) and no batch recovery sweep runs. See docs/batch.md for what a batch notification cannot do (edit, recall of delivered copies).",
    "on",
    oneOf(["on", "off"] as const),
  ),
  setting(
    "oidcIssuer",
    "HERALD_OIDC_ISSUER",
    'OpenID Connect issuer for the dashboard\'s "Sign in with your organisation" (Entra ID: https://login.microsoftonline.com/<tenant-id>/v2.0). Unset = API-key sign-in only.',
    undefined,
    url,
  ),
  setting(
    "oidcClientId",
    "HERALD_OIDC_CLIENT_ID",
    "The dashboard's client (application) id at HERALD_OIDC_ISSUER.",
    undefined,
    optionalText,
  ),
  setting(
    "oidcClientSecret",
    "HERALD_OIDC_CLIENT_SECRET",
    "The client secret of HERALD_OIDC_CLIENT_ID (sent only to the issuer's token endpoint).",
    undefined,
    optionalText,
    true,
  ),
  setting(
    "oidcRedirectUrl",
    "HERALD_OIDC_REDIRECT_URL",
    "The redirect URI registered for the client; unset = <the dashboard's origin>/dashboard/oidc/callback.",
    undefined,
    url,
  ),
  setting(
    "oidcRoles",
    "HERALD_OIDC_ROLES",
    'Which ID-token app roles and groups give which scopes and guardrails: JSON or YAML mapping "roles:<value>" or "groups:<object id>" to {scopes, tenants?, teams?, groups?}, or file:<path> of one. A person gets the grants of every entry they match; none = refused.',
    undefined,
    parseOidcRoles,
  ),
];

/** Whether Herald holds credentials to ask for tokens (password, certificate or managed identity). */
export function hasCredentials(config: Pick<Config, "appPassword" | "appCertificate" | "appType">): boolean {
  return Boolean(config.appPassword || config.appCertificate || config.appType === "UserAssignedMSI");
}

/**
 * Whether Herald talks to Microsoft Graph: it has credentials, and the Graph it would call fits
 * its token endpoint. With HERALD_TOKEN_ENDPOINT (an emulator's) and no HERALD_GRAPH_URL the
 * tokens could never be valid for the cloud's real Graph, so Herald does not call it (and no
 * token from an emulator ever leaves for graph.microsoft.com).
 */
export function graphEnabled(config: Pick<Config, "appPassword" | "appCertificate" | "appType" | "graphUrl" | "tokenEndpoint">): boolean {
  return hasCredentials(config) && (config.graphUrl !== undefined || config.tokenEndpoint === undefined);
}

/** HERALD_AUTO_INSTALL resolved: explicit `on`/`off`, else on exactly when Herald can use Graph (`graphEnabled`). */
export function autoInstallEnabled(
  config: Pick<Config, "autoInstall" | "appPassword" | "appCertificate" | "appType" | "graphUrl" | "tokenEndpoint">,
): boolean {
  return config.autoInstall === undefined ? graphEnabled(config) : config.autoInstall === "on" && graphEnabled(config);
}

/** HERALD_GRAPH_URL against HERALD_TRUSTED_HOSTS: plain http only for an operator-listed host (an emulator). */
function graphUrlProblems(config: Config): string[] {
  const problems: string[] = [];
  if (config.graphUrl) {
    const u = new URL(config.graphUrl);
    const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, "");
    if (u.protocol === "http:" && !config.trustedHosts.includes(host))
      problems.push(
        `HERALD_GRAPH_URL=${config.graphUrl} uses plain http on a host not in HERALD_TRUSTED_HOSTS: tokens would leave unprotected. Use https, or add ${host} to HERALD_TRUSTED_HOSTS (local emulators only).`,
      );
    // Graph tokens go to this host: only the configured cloud's Graph, or a host the operator listed.
    else if (host !== new URL(clouds[config.cloud].graphUrl).hostname && !config.trustedHosts.includes(host))
      problems.push(
        `HERALD_GRAPH_URL=${config.graphUrl}: ${host} is not the cloud's Graph host (${clouds[config.cloud].graphUrl}); Graph tokens would go to it. Fix the URL, or add ${host} to HERALD_TRUSTED_HOSTS if it is yours (an emulator or a proxy).`,
      );
    if (/\/(v1\.0|beta)\/?$/.test(u.pathname))
      problems.push(`HERALD_GRAPH_URL=${config.graphUrl} ends with a version: give the base URL (Herald appends /v1.0).`);
  }
  if (config.autoInstall === "on" && !hasCredentials(config))
    problems.push(
      "HERALD_AUTO_INSTALL=on needs credentials for Graph tokens (HERALD_APP_PASSWORD, HERALD_APP_CERTIFICATE or HERALD_APP_TYPE=UserAssignedMSI); set one or use HERALD_AUTO_INSTALL=off.",
    );
  else if (config.autoInstall === "on" && !graphEnabled(config))
    problems.push(
      "HERALD_AUTO_INSTALL=on with HERALD_TOKEN_ENDPOINT needs HERALD_GRAPH_URL: tokens from that endpoint are not valid for the cloud's Graph. Set HERALD_GRAPH_URL (e.g. the emulator's URL) or unset HERALD_TOKEN_ENDPOINT.",
    );
  return problems;
}

/** The OIDC settings go together, and the issuer is https unless it is loopback or a trusted host (an emulator). */
function oidcProblems(config: Config): string[] {
  const set = [config.oidcIssuer, config.oidcClientId, config.oidcClientSecret, config.oidcRoles, config.oidcRedirectUrl];
  if (set.every((v) => v === undefined)) return [];
  const missing = (
    [
      ["HERALD_OIDC_ISSUER", config.oidcIssuer],
      ["HERALD_OIDC_CLIENT_ID", config.oidcClientId],
      ["HERALD_OIDC_CLIENT_SECRET", config.oidcClientSecret],
      ["HERALD_OIDC_ROLES", config.oidcRoles],
    ] as const
  )
    .filter(([, v]) => v === undefined)
    .map(([name]) => name);
  const problems: string[] = [];
  if (missing.length > 0)
    problems.push(
      `OpenID Connect sign-in needs HERALD_OIDC_ISSUER, HERALD_OIDC_CLIENT_ID, HERALD_OIDC_CLIENT_SECRET and HERALD_OIDC_ROLES together: ${missing.join(", ")} ${missing.length === 1 ? "is" : "are"} not set. Set ${missing.length === 1 ? "it" : "them"}, or unset the others to sign in with API keys only.`,
    );
  if (config.oidcIssuer) {
    const host = new URL(config.oidcIssuer).hostname.toLowerCase().replace(/^\[|\]$/g, "");
    if (new URL(config.oidcIssuer).protocol === "http:" && !isLoopback(host) && !config.trustedHosts.includes(host))
      problems.push(
        `HERALD_OIDC_ISSUER=${config.oidcIssuer} uses plain http on a host that is not loopback nor in HERALD_TRUSTED_HOSTS: the client secret and ID tokens would travel unprotected. Use https.`,
      );
  }
  return problems;
}

function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "::1" || host === "localhost" || /^127\./.test(host);
}

/** How HERALD_APP_CERTIFICATE fits the other credentials (the file itself is checked by its parser). */
function certificateProblems(config: Config): string[] {
  if (!config.appCertificate) return [];
  if (config.appPassword)
    return [
      "HERALD_APP_PASSWORD and HERALD_APP_CERTIFICATE are both set: choose one credential (the certificate is the stronger); unset the other.",
    ];
  if (config.appType === "UserAssignedMSI")
    return [
      "HERALD_APP_CERTIFICATE is set with HERALD_APP_TYPE=UserAssignedMSI, which takes its tokens from the managed identity: unset one of them.",
    ];
  const problems: string[] = [];
  if (!config.appId) problems.push("HERALD_APP_CERTIFICATE is set but HERALD_APP_ID is not: both are needed to get Connector tokens.");
  if (config.appType === "SingleTenant" && !config.appTenantId && !config.tokenEndpoint)
    problems.push(
      "HERALD_APP_TENANT_ID is required for HERALD_APP_TYPE=SingleTenant with a certificate: tokens come from the bot's own tenant. Set it, or use HERALD_APP_TYPE=MultiTenant for a legacy multi-tenant bot.",
    );
  return problems;
}

/**
 * Read every setting from flags (which win) and the environment, validate all of them and
 * return one frozen Config. Throws ConfigError listing every problem.
 * @param env usually `process.env`
 * @param flags values keyed by Config key (from the CLI), undefined = not given
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  flags: Partial<Record<keyof Config, string | undefined>> = {},
): Readonly<Config> {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const s of settings) {
    const fromFlag = flags[s.key];
    const raw = fromFlag ?? env[s.env] ?? s.default;
    if (raw === undefined) {
      out[s.key] = undefined;
      continue;
    }
    const parsed = s.parse(raw);
    if (parsed.ok) out[s.key] = parsed.value;
    else {
      const shown = s.secret ? "(hidden)" : showSettingValue(raw);
      const source = fromFlag !== undefined ? s.flag : s.env;
      problems.push(`${source}=${shown} is invalid: expected ${parsed.expected}.`);
    }
  }
  const config = out as unknown as Config;
  if (problems.length === 0) {
    if (config.inboundAuth === "off" && !isLoopback(config.host)) {
      problems.push(
        `HERALD_INBOUND_AUTH=off is refused while HERALD_HOST=${config.host}: unauthenticated inbound activities are only allowed on loopback. Set HERALD_HOST=127.0.0.1 or HERALD_INBOUND_AUTH=jwt.`,
      );
    }
    if (config.inboundAuth === "jwt" && !config.appId) {
      problems.push(
        "HERALD_APP_ID is required when HERALD_INBOUND_AUTH=jwt (the token's audience is the app id). Set it, or use HERALD_INBOUND_AUTH=off with a local emulator.",
      );
    }
    if (config.appType === "SingleTenant" && config.appPassword && !config.appTenantId && !config.tokenEndpoint) {
      problems.push(
        "HERALD_APP_TENANT_ID is required for HERALD_APP_TYPE=SingleTenant with a password: tokens come from the bot's own tenant. Set it, or use HERALD_APP_TYPE=MultiTenant for a legacy multi-tenant bot.",
      );
    }
    if (config.appPassword && !config.appId) {
      problems.push("HERALD_APP_PASSWORD is set but HERALD_APP_ID is not: both are needed to get Connector tokens.");
    }
    problems.push(...certificateProblems(config));
    problems.push(...graphUrlProblems(config));
    problems.push(...oidcProblems(config));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
