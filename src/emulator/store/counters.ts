/**
 * Counters of everything the emulator does, global and per tenant, in flat Float64Arrays so
 * counting costs one add on the hot path. Names are the keys of the JSON the inspection API
 * returns.
 */
export const counterNames = [
  "requests",
  "status2xx",
  "status4xx",
  "status5xx",
  "throttled",
  "throttledTenant",
  "violations",
  "unauthorized",
  "sends",
  "creates",
  "updates",
  "deletes",
  "reads",
  "splitMessages",
  "tooBig",
  "badRequests",
  "blocked",
  "uninstalled",
  "notFound",
  "disabled",
  "batchOperations",
  "batchEntries",
  "batchFailed",
  "faults",
  "fault412",
  "fault429",
  "fault500",
  "fault502",
  "fault503",
  "fault504",
  "faultReset",
  "faultSlow",
  "faultDeliverReset",
  "faultDeliverLate",
  "faultDeliverGateway",
  "tokensIssued",
  "botActivities",
  "botFailures",
] as const;

export type CounterName = (typeof counterNames)[number];

/** Index of each counter, e.g. `C.sends`. */
export const C = Object.fromEntries(counterNames.map((n, i) => [n, i])) as { readonly [K in CounterName]: number };

const N = counterNames.length;

export type CounterSnapshot = Record<CounterName, number>;

export class Counters {
  private readonly global = new Float64Array(N);
  private readonly tenants: Float64Array;

  constructor(private readonly tenantCount: number) {
    this.tenants = new Float64Array(N * tenantCount);
  }

  /** Add `by` to counter `c` globally and, when tenant >= 0, for that tenant. */
  inc(tenant: number, c: number, by = 1): void {
    this.global[c]! += by;
    if (tenant >= 0 && tenant < this.tenantCount) this.tenants[tenant * N + c]! += by;
  }

  /** Count an answer status. */
  status(tenant: number, status: number): void {
    this.inc(tenant, status < 300 ? C.status2xx : status < 500 ? C.status4xx : C.status5xx);
  }

  get(c: number, tenant = -1): number {
    return tenant < 0 ? this.global[c]! : this.tenants[tenant * N + c]!;
  }

  snapshot(tenant = -1): CounterSnapshot {
    const out = {} as CounterSnapshot;
    counterNames.forEach((name, i) => {
      out[name] = this.get(i, tenant);
    });
    return out;
  }

  reset(): void {
    this.global.fill(0);
    this.tenants.fill(0);
  }
}
