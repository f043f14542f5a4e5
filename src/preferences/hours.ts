import { DateTime, IANAZone } from "luxon";

/**
 * When a non-urgent message may reach a person: outside the tenant's quiet hours, on one of its
 * working days, in the person's own time zone. Pure; every time-zone step is luxon's (daylight
 * saving included), none is computed by hand.
 */

/** Days of the week as the API names them, Monday first (luxon's weekday 1..7). */
export const weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof weekdays)[number];

/** A tenant's sending window. Unset parts do not restrict. */
export interface SendingWindow {
  /** `HH:MM` local start (inclusive) and end (exclusive); an end before the start ends the next day. */
  quietHours?: { start: string; end: string } | undefined;
  /** Days messages may arrive; undefined = every day. */
  workingDays?: readonly Weekday[] | undefined;
}

/** Why a row waits. */
export type HoldReason = "quietHours" | "workingDays" | "frequencyCap";

/** `HH:MM`, 00:00 to 23:59. */
export const hhmm = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** True when luxon knows the IANA zone (`Europe/London`, `UTC`). */
export const isTimeZone = (zone: string): boolean => IANAZone.isValidZone(zone);

const minutesOf = (t: string): number => {
  const m = hhmm.exec(t);
  return m ? Number(m[1]) * 60 + Number(m[2]) : 0;
};

/**
 * The first instant at or after `now` (ms) when a message may arrive in `zone` under `window`:
 * `now` itself with no reason when it may go now, else the moment it may and the first reason it
 * waits. An unknown zone is read as UTC. At most 8 days ahead (every day excluded cannot happen:
 * the API refuses an empty list).
 */
export function nextAllowed(now: number, zone: string, window: SendingWindow): { at: number; reason?: HoldReason } {
  const tz = isTimeZone(zone) ? zone : "UTC";
  let t = DateTime.fromMillis(now, { zone: tz });
  let reason: HoldReason | undefined;
  const days = window.workingDays && window.workingDays.length > 0 ? new Set(window.workingDays) : undefined;
  for (let step = 0; step < 32; step++) {
    const day = weekdays[t.weekday - 1] as Weekday;
    if (days && !days.has(day)) {
      reason ??= "workingDays";
      t = t.plus({ days: 1 }).startOf("day");
      continue;
    }
    const quiet = window.quietHours;
    if (quiet) {
      const start = minutesOf(quiet.start);
      const end = minutesOf(quiet.end);
      const m = t.hour * 60 + t.minute;
      const inside = start === end ? false : start < end ? m >= start && m < end : m >= start || m < end;
      if (inside) {
        reason ??= "quietHours";
        // The end of this quiet period: today when it ends after now, else tomorrow.
        const endDay = start < end || m < end ? t : t.plus({ days: 1 });
        t = endDay.set({ hour: Math.floor(end / 60), minute: end % 60, second: 0, millisecond: 0 });
        continue;
      }
    }
    break;
  }
  const at = t.toMillis();
  return reason === undefined || at <= now ? { at: now } : { at, reason };
}

/** HERALD_FREQUENCY_CAP: at most `count` non-urgent messages per person within `windowMs`. */
export interface FrequencyCap {
  count: number;
  windowMs: number;
}

/**
 * When one more message may go to a person who was sent messages at `sent` (ms, any order):
 * `now` when fewer than `cap.count` fall in the window ending now, else when the oldest of the
 * last `count` leaves the window.
 */
export function frequencyRelease(sent: readonly number[], cap: FrequencyCap, now: number): number {
  const inWindow = sent.filter((t) => t > now - cap.windowMs).sort((a, b) => a - b);
  if (inWindow.length < cap.count) return now;
  const oldest = inWindow[inWindow.length - cap.count] as number;
  return oldest + cap.windowMs;
}

/** Parse `N/day`, `N/hour`, `N/week` or `N/<duration>` (e.g. `3/day`, `10/12h`); undefined when malformed. */
export function parseFrequencyCap(raw: string): FrequencyCap | undefined {
  const m = /^\s*(\d+)\s*\/\s*(day|hour|week|(\d+)\s*(m|h|d))\s*$/i.exec(raw);
  if (!m) return undefined;
  const count = Number(m[1]);
  if (!Number.isInteger(count) || count < 1) return undefined;
  const unit = (m[2] ?? "").toLowerCase();
  const named: Record<string, number> = { day: 86_400_000, hour: 3_600_000, week: 7 * 86_400_000 };
  const per = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const windowMs = named[unit] ?? Number(m[3]) * per[(m[4] ?? "h").toLowerCase() as keyof typeof per];
  return windowMs > 0 ? { count, windowMs } : undefined;
}
