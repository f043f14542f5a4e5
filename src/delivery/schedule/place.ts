import type { NewDelivery } from "../model.js";
import { isValidZone, type LocalTimeSchedule, notBeforeOf, zoneFor } from "./local-time.js";

/** A tenant's default time zone (tenant settings), when it has one. */
export type TenantTimeZone = (tenantId: string) => Promise<string | undefined>;

/**
 * Give every pending row of a local-time notification its instant: `schedule` read in the
 * recipient's zone (Teams' report, else the tenant's default, else the request's `timeZone`, else
 * UTC) at the request's time `requestedAt`. Rows born final (opted out, blocked) are left as they
 * are. The tenant's default is asked once per tenant and only for rows without a zone of their own.
 */
export async function placeRows(
  rows: readonly NewDelivery[],
  schedule: LocalTimeSchedule,
  requestedAt: number,
  tenantTimeZone?: TenantTimeZone | undefined,
): Promise<NewDelivery[]> {
  const tenants = new Map<string, Promise<string | undefined>>();
  const tenantZone = (tenantId: string): Promise<string | undefined> => {
    if (!tenantTimeZone || tenantId === "") return Promise.resolve(undefined);
    let z = tenants.get(tenantId);
    if (!z) {
      // A failing lookup falls back to the request's zone rather than refusing the notification.
      z = tenantTimeZone(tenantId).catch(() => undefined);
      tenants.set(tenantId, z);
    }
    return z;
  };
  // The instant depends only on the zone (schedule and request time are the same for every row),
  // and checking a zone name builds an Intl formatter: both are worked out once per distinct zone.
  const valid = new Map<string, boolean>();
  const isValid = (z: string | undefined): z is string => {
    if (z === undefined) return false;
    let v = valid.get(z);
    if (v === undefined) {
      v = isValidZone(z);
      valid.set(z, v);
    }
    return v;
  };
  const instants = new Map<string, number>();
  const instantIn = (zone: string): number => {
    let at = instants.get(zone);
    if (at === undefined) {
      at = notBeforeOf(schedule, zone, requestedAt);
      instants.set(zone, at);
    }
    return at;
  };
  const out: NewDelivery[] = [];
  for (const r of rows) {
    if (r.status !== "pending") {
      out.push(r);
      continue;
    }
    const own = r.user?.timezone ?? r.timezone;
    const zone = isValid(own) ? own : zoneFor(undefined, await tenantZone(r.tenantId), schedule.timeZone);
    out.push({ ...r, notBefore: instantIn(zone), timezone: zone });
  }
  return out;
}

/** The earliest instant among placed pending rows (the notification's `scheduledAt`), or undefined. */
export function earliest(rows: readonly NewDelivery[]): number | undefined {
  let min: number | undefined;
  for (const r of rows)
    if (r.status === "pending" && r.notBefore !== undefined && (min === undefined || r.notBefore < min)) min = r.notBefore;
  return min;
}
