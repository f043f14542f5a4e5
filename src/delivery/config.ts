import { defaultFooterPolicy, type FooterPolicy } from "../preferences/footer.js";
import { type CredentialBackoff, defaultCredentialBackoff } from "./dispatch/credentials.js";
import type { InFlightPolicy } from "./model.js";
import { defaultRetryPolicy, type RetryPolicy } from "./retry.js";

/**
 * Settings of the delivery engine. Every field has a default; the composition root fills
 * `tenantRps`, `inFlightPolicy` and `appId` from the validated configuration (HERALD_TENANT_RPS,
 * HERALD_IN_FLIGHT_POLICY, HERALD_APP_ID).
 */
export interface DeliveryConfig {
  /** Requests per second per tenant, all conversations together (HERALD_TENANT_RPS); 0 = no tenant limit. Default 50. */
  tenantRps: number;
  /**
   * Requests to one tenant that may leave together (HERALD_TENANT_TICK): the tenant's window is then
   * handed out in ticks of up to this many (tenantPolicy). Default 1: one by one.
   */
  tenantTick: number;
  /**
   * Divide every limit window by this (emulators running time-scaled; benchmarks). Must match the
   * emulator's `timeScale`. Default 1 (Teams' real windows).
   */
  timeScale: number;
  /**
   * What a send that may have reached Teams unanswered becomes (in flight when its process died,
   * or timed out / reset after its request was written): `unknown` (default) or sent again (`resend`).
   */
  inFlightPolicy: InFlightPolicy;
  /** The bot's Microsoft app id; the bot account `28:<appId>` is stored with chats Herald creates. Default none. */
  appId: string | undefined;
  /** Where to create chats in a tenant Herald has no conversation in yet. Default public Teams. */
  defaultServiceUrl: string;
  /** Bounds and curve of retries (retry.ts). Default 12 attempts within 30 min, 0.5 s … 5 min. */
  retry: RetryPolicy;
  /**
   * Requests to Teams in flight at once, all tenants together. Default 64, the Connector client's
   * connections per host: more would only queue inside the HTTP pool, after the rate limiter let
   * them go, which bunches requests.
   */
  maxInFlight: number;
  /** Rows a lane claims per notification at a time. Default 200. */
  claimBatch: number;
  /** Rows an expansion page writes per transaction (`all` audience). Default 1000. */
  expansionPage: number;
  /** Team roster page size asked of Teams (clamped by Teams to 50..500). Default 500. */
  rosterPage: number;
  /** How often a process looks for new work, scheduled notifications and paused tenants, in ms. Default 1000. */
  pollMs: number;
  /** How often a process says it is alive, in ms. Default 5000. */
  heartbeatMs: number;
  /** A process silent this long is dead and its work is taken over, in ms. Default 30 000. */
  staleMs: number;
  /**
   * An in-flight mark that a request waits for now waits at most this long to be batched, in ms.
   * Default 0 (the next turn of the event loop). Results wait resultDelayMs instead, and marks
   * taken ahead of their tenant slot up to half a slot (dispatch/lane.ts, stagedMarkWait).
   */
  batchDelayMs: number;
  /**
   * A result waits at most this long, in ms, for an in-flight mark to share its transaction
   * (counts are that much later; a crash meanwhile leaves its row in flight, as one during the
   * write would). Default 100 (at Teams' ceiling a lane marks its next sends every 200 ms:
   * results ride with those writes); 0 = written like a mark.
   */
  resultDelayMs: number;
  /** Results written per transaction at most. Default 500. */
  batchMax: number;
  /** Largest explicit audience list (conversations, users, channels, teams) per request. Default 10 000. */
  maxListedRecipients: number;
  /**
   * A tenant whose admin disabled the bot (403 BotDisabledByAdmin): its rows wait this long (from
   * the pause, or from their notification's start when later) for a resume, then end `failed`
   * with Teams' code (HERALD_TENANT_DISABLED_TIMEOUT), in ms. 0 = wait until resumed. Default 24 h.
   */
  tenantDisabledTimeoutMs: number;
  /**
   * A conversation that blocked the bot is tried again by a later notification at most once per
   * this interval (HERALD_BLOCKED_RETRY_INTERVAL), in ms: Teams says nothing when a user unblocks.
   * 0 = never try again. Default 7 days.
   */
  blockedRetryMs: number;
  /** Backoff of the pause when the bot's credentials fail (token endpoint, Connector 401). Default 1 s doubling to 5 min. */
  credentialBackoff: CredentialBackoff;
  /** Which notifications end with how to stop them (HERALD_UNSUBSCRIBE_FOOTER). Default: broadcasts. */
  unsubscribeFooter: FooterPolicy;
  /** Known categories (HERALD_CATEGORIES): a request naming another is refused. Default: any. */
  categories: readonly string[] | undefined;
}

export const defaultDeliveryConfig: Readonly<DeliveryConfig> = Object.freeze({
  tenantRps: 50,
  tenantTick: 1,
  timeScale: 1,
  inFlightPolicy: "unknown",
  appId: undefined,
  defaultServiceUrl: "https://smba.trafficmanager.net/teams/",
  retry: defaultRetryPolicy,
  maxInFlight: 64,
  claimBatch: 200,
  expansionPage: 1_000,
  rosterPage: 500,
  pollMs: 1_000,
  heartbeatMs: 5_000,
  staleMs: 30_000,
  batchDelayMs: 0,
  resultDelayMs: 100,
  batchMax: 500,
  maxListedRecipients: 10_000,
  tenantDisabledTimeoutMs: 24 * 3_600_000,
  blockedRetryMs: 7 * 24 * 3_600_000,
  credentialBackoff: defaultCredentialBackoff,
  unsubscribeFooter: defaultFooterPolicy,
  categories: undefined,
});

/** Fill defaults and check values; throws RangeError (`HERALD_E_DELIVERY_CONFIG`) naming the bad field. */
export function resolveDeliveryConfig(partial: Partial<DeliveryConfig> = {}): Readonly<DeliveryConfig> {
  const c: DeliveryConfig = { ...defaultDeliveryConfig, ...stripUndefined(partial) };
  const positive: (keyof DeliveryConfig)[] = [
    "timeScale",
    "maxInFlight",
    "claimBatch",
    "expansionPage",
    "rosterPage",
    "pollMs",
    "heartbeatMs",
    "staleMs",
    "batchMax",
    "maxListedRecipients",
  ];
  for (const k of positive) {
    const v = c[k];
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
      throw new RangeError(`HERALD_E_DELIVERY_CONFIG: ${k} must be a number > 0 (got ${String(v)}).`);
  }
  if (!(Number.isInteger(c.tenantTick) && c.tenantTick >= 1))
    throw new RangeError(`HERALD_E_DELIVERY_CONFIG: tenantTick must be a whole number ≥ 1 (got ${c.tenantTick}).`);
  if (!(c.tenantRps >= 0)) throw new RangeError(`HERALD_E_DELIVERY_CONFIG: tenantRps must be ≥ 0 (got ${c.tenantRps}).`);
  if (!(c.tenantDisabledTimeoutMs >= 0))
    throw new RangeError(`HERALD_E_DELIVERY_CONFIG: tenantDisabledTimeoutMs must be ≥ 0 (got ${c.tenantDisabledTimeoutMs}).`);
  if (!(c.blockedRetryMs >= 0)) throw new RangeError(`HERALD_E_DELIVERY_CONFIG: blockedRetryMs must be ≥ 0 (got ${c.blockedRetryMs}).`);
  if (!(c.resultDelayMs >= 0)) throw new RangeError(`HERALD_E_DELIVERY_CONFIG: resultDelayMs must be ≥ 0 (got ${c.resultDelayMs}).`);
  if (!(c.batchDelayMs >= 0)) throw new RangeError(`HERALD_E_DELIVERY_CONFIG: batchDelayMs must be ≥ 0 (got ${c.batchDelayMs}).`);
  // A process judges others only after staleMs of its own heartbeats without a gap of 2.5
  // intervals (Liveness). A peer's last heartbeat before an outage may be an interval older than
  // the outage: staleMs must exceed the gap plus that interval, with a margin.
  if (c.staleMs < 4 * c.heartbeatMs)
    throw new RangeError(`HERALD_E_DELIVERY_CONFIG: staleMs (${c.staleMs}) must be at least 4 × heartbeatMs (${c.heartbeatMs}).`);
  if (c.inFlightPolicy !== "unknown" && c.inFlightPolicy !== "resend")
    throw new RangeError(`HERALD_E_DELIVERY_CONFIG: inFlightPolicy must be "unknown" or "resend".`);
  return Object.freeze(c);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
