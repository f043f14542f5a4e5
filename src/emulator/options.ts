import type { Clock } from "../clock.js";
import type { FaultSettings } from "./faults/faults.js";
import type { RouteModule } from "./http/module.js";
import type { RetryAfterFormat } from "./limits/retry-after.js";
import type { OrgSpec } from "./org/generated.js";

/** A client the token endpoint accepts (client-credentials grant). */
export interface ClientCredential {
  id: string;
  secret: string;
}

/** A certificate registered for an app: client assertions signed by its key are accepted for that app. */
export interface AppCertificateRegistration {
  /** The app it is registered for. [the emulator's app id] */
  appId?: string;
  /** PEM text holding the certificate (the public part, as uploaded to the app registration; a key beside it is ignored). */
  certificate: string;
}

/** How a send to a user without the app answers. */
export type UninstalledAnswer = "roster" | "notFound" | "mixed";

/** Options of `startEmulator`. Every field is optional; defaults in brackets. */
export interface EmulatorOptions {
  /** TCP port; 0 = a free port chosen by the OS. [0] */
  port?: number;
  /** Interface to listen on. Keep it on loopback: the emulator has no protection. [127.0.0.1] */
  host?: string;
  /** Seed of every generated id, name and random decision. [1] */
  seed?: number;
  /** Flags of the generated organisation (ignored when `orgFile` or `orgData` is given). [see OrgSpec] */
  org?: OrgSpec;
  /** Path of a YAML/JSON organisation file (see org/file.ts). [none] */
  orgFile?: string;
  /** An organisation given as data (the parsed form of an organisation file). [none] */
  orgData?: unknown;
  /**
   * Path prefix of the Connector API, e.g. `/_connector` (the serviceUrl the bot sees ends
   * with it). [`/`]
   */
  connectorPath?: string;
  /** Apply Teams' rate limits. [true] */
  limits?: boolean;
  /** Time-scale factor of every limit window and Retry-After: 10 = ten times faster. [1] */
  timeScale?: number;
  /** Per-tenant ceiling, requests per second, all conversations together; 0 = none. [50] */
  tenantRps?: number;
  /** `Retry-After` as whole seconds, fractional seconds, or whole only at time scale 1. [auto] */
  retryAfterFormat?: RetryAfterFormat;
  /** Requests this many ms early are not yet violations (in-flight allowance). [0] */
  violationGraceMs?: number;
  /** Require a bearer token from the token endpoint on Connector calls (401 otherwise). [true] */
  auth?: boolean;
  /** Clients the token endpoint accepts; undefined = any client id and secret. [any] */
  clients?: ClientCredential[];
  /**
   * Certificates the token endpoint verifies client assertions (`client_assertion_type=...jwt-bearer`)
   * against; an app with none registered cannot use an assertion. [none]
   */
  appCertificates?: AppCertificateRegistration[];
  /** The bot's Microsoft app id (the bot is `28:<appId>`). [a GUID derived from the seed] */
  appId?: string;
  /** The bot's display name (in mentions and `recipient.name`). [Herald] */
  botName?: string;
  /** Where the emulator posts activities for the bot, e.g. `http://127.0.0.1:3978/api/messages`. [none] */
  botEndpoint?: string;
  /** `iss` of the tokens the emulator signs for the bot. [https://api.botframework.com] */
  tokenIssuer?: string;
  /** Message bodies kept in all conversations together (counts are always kept). [10000] */
  messageCap?: number;
  /** Message bodies kept per conversation. [200] */
  conversationMessageCap?: number;
  /** Earlier versions kept per message (updates, deletes). [20] */
  historyCap?: number;
  /** Largest activity accepted, in bytes of JSON; larger answers 413 MessageSizeTooBig. [28672] */
  maxMessageBytes?: number;
  /** Sends to users without the app: 403 BotNotInConversationRoster, 404 ConversationNotFound, or per-user mix. [roster] */
  uninstalledAnswer?: UninstalledAnswer;
  /** Whether a 1:1 create accepts an Entra object id as member id (Teams' behaviour is unverified). [true] */
  acceptObjectIdMembers?: boolean;
  /** Faults active from the start. [none] */
  faults?: FaultSettings;
  /** Activities the emulator posts to the bot at once during installs. [16] */
  botConcurrency?: number;
  /** Timeout of one post to the bot, in ms. [15000] */
  botTimeoutMs?: number;
  /** Time source. [system clock] */
  clock?: Clock;
  /** More route modules (Graph, web page, ...), registered after the built-in ones. [none] */
  routes?: RouteModule[];
}

export interface ResolvedOptions {
  port: number;
  host: string;
  seed: number;
  org: OrgSpec;
  orgFile: string | undefined;
  orgData: unknown;
  connectorPath: string;
  limits: boolean;
  timeScale: number;
  tenantRps: number;
  retryAfterFormat: RetryAfterFormat;
  violationGraceMs: number;
  auth: boolean;
  clients: ClientCredential[] | undefined;
  appCertificates: AppCertificateRegistration[];
  appId: string | undefined;
  botName: string;
  botEndpoint: string | undefined;
  tokenIssuer: string;
  messageCap: number;
  conversationMessageCap: number;
  historyCap: number;
  maxMessageBytes: number;
  uninstalledAnswer: UninstalledAnswer;
  acceptObjectIdMembers: boolean;
  faults: FaultSettings;
  botConcurrency: number;
  botTimeoutMs: number;
}

function fail(message: string): never {
  throw new Error(`HERALD_E_EMULATOR_OPTIONS: ${message}`);
}

function whole(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) fail(`${name} must be a whole number >= ${min} (got ${value})`);
  return value;
}

function positive(name: string, value: number, allowZero: boolean): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0))
    fail(`${name} must be a number ${allowZero ? ">= 0" : "> 0"} (got ${value})`);
  return value;
}

/** Fill in defaults and check every value; throws HERALD_E_EMULATOR_OPTIONS naming the bad one. */
export function resolveOptions(o: EmulatorOptions): ResolvedOptions {
  if (o.botEndpoint !== undefined) {
    try {
      new URL(o.botEndpoint);
    } catch {
      fail(`botEndpoint must be an absolute URL such as http://127.0.0.1:3978/api/messages (got ${o.botEndpoint})`);
    }
  }
  const answers: UninstalledAnswer[] = ["roster", "notFound", "mixed"];
  if (o.uninstalledAnswer !== undefined && !answers.includes(o.uninstalledAnswer))
    fail(`uninstalledAnswer must be one of ${answers.join(", ")}`);
  const formats: RetryAfterFormat[] = ["auto", "integer", "fractional"];
  if (o.retryAfterFormat !== undefined && !formats.includes(o.retryAfterFormat))
    fail(`retryAfterFormat must be one of ${formats.join(", ")}`);
  return {
    port: whole("port", o.port ?? 0, 0),
    host: o.host ?? "127.0.0.1",
    seed: whole("seed", o.seed ?? 1, 0),
    org: o.org ?? {},
    orgFile: o.orgFile,
    orgData: o.orgData,
    connectorPath: o.connectorPath ?? "/",
    limits: o.limits ?? true,
    timeScale: positive("timeScale", o.timeScale ?? 1, false),
    tenantRps: positive("tenantRps", o.tenantRps ?? 50, true),
    retryAfterFormat: o.retryAfterFormat ?? "auto",
    violationGraceMs: positive("violationGraceMs", o.violationGraceMs ?? 0, true),
    auth: o.auth ?? true,
    clients: o.clients,
    appCertificates: o.appCertificates ?? [],
    appId: o.appId,
    botName: o.botName ?? "Herald",
    botEndpoint: o.botEndpoint,
    tokenIssuer: o.tokenIssuer ?? "https://api.botframework.com",
    messageCap: whole("messageCap", o.messageCap ?? 10_000, 0),
    conversationMessageCap: whole("conversationMessageCap", o.conversationMessageCap ?? 200, 0),
    historyCap: whole("historyCap", o.historyCap ?? 20, 0),
    maxMessageBytes: whole("maxMessageBytes", o.maxMessageBytes ?? 28 * 1024, 1),
    uninstalledAnswer: o.uninstalledAnswer ?? "roster",
    acceptObjectIdMembers: o.acceptObjectIdMembers ?? true,
    faults: o.faults ?? {},
    botConcurrency: whole("botConcurrency", o.botConcurrency ?? 16, 1),
    botTimeoutMs: whole("botTimeoutMs", o.botTimeoutMs ?? 15_000, 1),
  };
}
