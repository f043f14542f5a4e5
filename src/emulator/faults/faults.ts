import { prng } from "../org/hash.js";

/**
 * Injected faults, as shares of Connector requests (0..1 each, together at most 1), switchable
 * at run time. `slow` delays the answer by `slowMs` and then serves it normally; `reset`
 * destroys the socket without an answer and without doing the request. `deliverReset` and
 * `deliverLate` DO the request (the message is stored and visible, the thread or chat created)
 * and then lose the answer: `deliverReset` destroys the socket instead of answering,
 * `deliverLate` answers only after `deliverLateMs` (past a client's timeout), `deliver502` and
 * `deliver504` answer a gateway's 502/504 instead of the real answer. `status429` throttles
 * without doing the request, with `Retry-After: retryAfterSeconds`. A request refused anyway
 * (blocked, throttled, malformed) is answered normally. A `tenantId` limits the faults to one
 * tenant; `count` ends them after that many (a one-shot fault: the next request of the tenant).
 */
export interface FaultSettings {
  status412?: number;
  /** Answer 429 Throttled with `Retry-After: retryAfterSeconds` (the request is not done). */
  status429?: number;
  status500?: number;
  status502?: number;
  status503?: number;
  status504?: number;
  reset?: number;
  slow?: number;
  /** Do the request, then destroy the socket without an answer. */
  deliverReset?: number;
  /** Do the request, then answer after `deliverLateMs`. */
  deliverLate?: number;
  /** Do the request, then answer 502 Bad Gateway (as a gateway that lost Teams' answer would). */
  deliver502?: number;
  /** Do the request, then answer 504 Gateway Timeout. */
  deliver504?: number;
  /** Retry-After of a `status429` fault, in seconds. Default 1. */
  retryAfterSeconds?: number;
  /** Faults drawn before every fault ends (1 = only the next request gets one). Default: no end. */
  count?: number;
  /** Only requests of this HTTP method get faults (e.g. `GET`: reads fail, sends go through). Default: all. */
  method?: string;
  /** Delay of a `deliverLate` answer in milliseconds (not time-scaled). Default 5000. */
  deliverLateMs?: number;
  /** Delay of a slow answer in milliseconds (not time-scaled: it is about client timeouts). Default 3000. */
  slowMs?: number;
  /** Only requests of this tenant (id or domain) get faults. Default: all tenants. */
  tenantId?: string;
}

export type FaultKind =
  | "status412"
  | "status429"
  | "status500"
  | "status502"
  | "status503"
  | "status504"
  | "reset"
  | "slow"
  | "deliverReset"
  | "deliverLate"
  | "deliver502"
  | "deliver504";
export const faultKinds: readonly FaultKind[] = [
  "status412",
  "status429",
  "status500",
  "status502",
  "status503",
  "status504",
  "reset",
  "slow",
  "deliverReset",
  "deliverLate",
  "deliver502",
  "deliver504",
];

/** Faults that let the request take effect and spoil only its answer (applied where the answer is written). */
export type AnswerFault = Extract<FaultKind, "deliverReset" | "deliverLate" | "deliver502" | "deliver504">;

/** Whether `kind` does the request and spoils only its answer. */
export const isAnswerFault = (kind: FaultKind): kind is AnswerFault =>
  kind === "deliverReset" || kind === "deliverLate" || kind === "deliver502" || kind === "deliver504";

/** Validate fault settings; a message naming the bad field, or undefined. */
export function checkFaults(f: FaultSettings): string | undefined {
  let total = 0;
  for (const kind of faultKinds) {
    const v = f[kind] ?? 0;
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) return `${kind} must be a share within 0..1 (got ${String(v)})`;
    total += v;
  }
  if (total > 1 + 1e-9) return `fault shares add up to ${total}; they must add up to at most 1`;
  if (f.slowMs !== undefined && !(Number.isFinite(f.slowMs) && f.slowMs >= 0)) return "slowMs must be a number of milliseconds >= 0";
  if (f.deliverLateMs !== undefined && !(Number.isFinite(f.deliverLateMs) && f.deliverLateMs >= 0))
    return "deliverLateMs must be a number of milliseconds >= 0";
  if (f.retryAfterSeconds !== undefined && !(Number.isFinite(f.retryAfterSeconds) && f.retryAfterSeconds >= 0))
    return "retryAfterSeconds must be a number of seconds >= 0";
  if (f.count !== undefined && !(Number.isInteger(f.count) && f.count >= 1)) return "count must be a whole number >= 1";
  return undefined;
}

/** Fault decisions from a seeded stream, so a run with the same seed and traffic repeats. */
export class Faults {
  private settings: FaultSettings = {};
  private thresholds: [FaultKind, number][] = [];
  private readonly random: () => number;
  /** Faults drawn since the settings were set (for `count`). */
  private drawn = 0;
  /** Tenant index the faults are limited to (-1 = all), resolved by the caller. */
  tenant = -1;

  constructor(seed: number) {
    this.random = prng(seed ^ 0xfa17);
  }

  get current(): FaultSettings {
    return { ...this.settings };
  }

  /** Replace all fault settings (an empty object ends every fault). */
  set(settings: FaultSettings, tenant = -1): void {
    this.settings = { ...settings };
    this.tenant = tenant;
    this.drawn = 0;
    let acc = 0;
    this.thresholds = [];
    for (const kind of faultKinds) {
      const share = settings[kind] ?? 0;
      if (share > 0) {
        acc += share;
        this.thresholds.push([kind, acc]);
      }
    }
  }

  get slowMs(): number {
    return this.settings.slowMs ?? 3000;
  }

  get retryAfterSeconds(): number {
    return this.settings.retryAfterSeconds ?? 1;
  }

  get deliverLateMs(): number {
    return this.settings.deliverLateMs ?? 5000;
  }

  /** The fault for one request of `tenant` (with HTTP `method`), if any. */
  draw(tenant: number, method?: string): FaultKind | undefined {
    if (this.thresholds.length === 0) return undefined;
    if (this.tenant >= 0 && tenant !== this.tenant) return undefined;
    const only = this.settings.method;
    if (only !== undefined && method !== undefined && only.toUpperCase() !== method.toUpperCase()) return undefined;
    const count = this.settings.count;
    if (count !== undefined && this.drawn >= count) return undefined;
    const r = this.random();
    for (const [kind, upTo] of this.thresholds)
      if (r < upTo) {
        this.drawn++;
        return kind;
      }
    return undefined;
  }
}
