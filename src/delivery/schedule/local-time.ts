import { DateTime, IANAZone } from "luxon";

/**
 * Local-time schedules (`schedule: {localTime, date?, timeZone?, ifPassed?}`): the instant a
 * recipient's row may be sent, in that recipient's own time zone. All time-zone arithmetic is
 * luxon's (IANA zones, daylight-saving changes); nothing here adds offsets by hand.
 */

/** `{localTime:"HH:MM", date?:"YYYY-MM-DD", timeZone?, ifPassed?}` as the API accepts it. */
export interface LocalTimeSchedule {
  localTime: string;
  /** The recipient's calendar date; default: the recipient's today at the time of the request. */
  date?: string | undefined;
  /** The zone of recipients whose own zone (and tenant default) is unknown. Default UTC. */
  timeZone?: string | undefined;
  /** When the moment has already passed for a recipient: send at once (default) or the next day at that time. */
  ifPassed?: "sendNow" | "nextDay" | undefined;
}

/** The zone used when neither the recipient, the tenant nor the request names one. */
export const defaultZone = "UTC";

/** True for an IANA zone name luxon (and so the platform's ICU) knows, e.g. `Europe/Paris`. */
export function isValidZone(zone: string | undefined): zone is string {
  return zone !== undefined && zone !== "" && IANAZone.isValidZone(zone);
}

/**
 * The zone a recipient's schedule is read in: their own (as Teams reported it), else the
 * tenant's default, else the request's `timeZone`, else UTC. Invalid names are skipped.
 */
export function zoneFor(recipient: string | undefined, tenant: string | undefined, request: string | undefined): string {
  for (const z of [recipient, tenant, request]) if (isValidZone(z)) return z;
  return defaultZone;
}

/**
 * The instant (ms) `schedule` means in `zone` for a request made at `requestedAt` (ms).
 * A local time that does not exist that day (the hour skipped when clocks go forward) moves
 * forward by the gap, as luxon does; an ambiguous one (clocks go back) takes the first.
 */
export function notBeforeOf(schedule: LocalTimeSchedule, zone: string, requestedAt: number): number {
  const [hour, minute] = schedule.localTime.split(":").map(Number) as [number, number];
  const today = DateTime.fromMillis(requestedAt, { zone });
  const day = schedule.date === undefined ? today.startOf("day") : DateTime.fromISO(schedule.date, { zone });
  let at = day.set({ hour, minute, second: 0, millisecond: 0 });
  if (at.toMillis() >= requestedAt) return at.toMillis();
  if (schedule.ifPassed === "nextDay") {
    // A date long past starts from the recipient's today, so the loop below runs at most twice
    // (a date in year 1000 would otherwise step through every day since: seconds per recipient).
    if (at < today.startOf("day")) at = today.startOf("day").set({ hour, minute, second: 0, millisecond: 0 });
    // The same wall-clock time on the following days (plus({days}) keeps local time across DST).
    while (at.toMillis() < requestedAt) at = at.plus({ days: 1 }).set({ hour, minute });
    return at.toMillis();
  }
  return requestedAt;
}

/** The local wall-clock time of `at` in `zone`, `YYYY-MM-DD HH:mm` (for messages and tests). */
export function localWallTime(at: number, zone: string): string {
  return DateTime.fromMillis(at, { zone }).toFormat("yyyy-MM-dd HH:mm");
}
