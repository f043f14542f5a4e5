import { CronExpressionParser } from "cron-parser";
import { DateTime } from "luxon";

/**
 * Cron arithmetic of recurring series, all of it cron-parser's (with its IANA zone support, so a
 * `0 9 * * 1-5` in `Europe/Paris` stays at 09:00 Paris across daylight-saving changes).
 */

/** The zone in which a `localTime: true` series fires: the first zone on earth to reach a wall-clock time. */
export const earliestZone = "Etc/GMT-14";

/**
 * cron-parser options for `expression`. A hashed field (`H 9 * * *`: "some minute of 09") is
 * otherwise drawn at random on every parse, so the next and latest runs would disagree from one
 * look to the next (a second run later the same hour) and between processes: seeded by the
 * expression, it is the same minute everywhere, every time.
 */
const optionsFor = (expression: string, zone: string, at: number) => ({ tz: zone, currentDate: new Date(at), hashSeed: expression });

/** Undefined when `expression` parses and runs at most once a minute, else the reason. */
export function cronProblem(expression: string, zone: string): string | undefined {
  try {
    const e = CronExpressionParser.parse(expression, optionsFor(expression, zone, 0));
    if (subMinute(e)) return subMinuteProblem;
    e.next();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * cron-parser reads a sixth field, and `@secondly`, as seconds: `* * * * * *` would start a
 * notification every second. A schedule fires at most once a minute: one second value only.
 */
const subMinute = (e: ReturnType<typeof CronExpressionParser.parse>): boolean => e.fields.second.values.length > 1;
const subMinuteProblem =
  "it fires more than once a minute (a seconds field or @secondly); a schedule runs at most once a minute: give 5 fields (minute hour day-of-month month day-of-week)";

/** The first occurrence strictly after `after` (ms), or undefined when none comes before `until`. */
export function nextRun(expression: string, zone: string, after: number, until?: number | undefined): number | undefined {
  try {
    const e = CronExpressionParser.parse(expression, optionsFor(expression, zone, after));
    // A series stored before sub-minute crons were refused runs no more (cronProblem).
    if (subMinute(e)) return undefined;
    const at = e.next().getTime();
    return until !== undefined && at > until ? undefined : at;
  } catch {
    return undefined;
  }
}

/** The latest occurrence at or before `at` (ms), or undefined when none exists (cron-parser looks back a bounded while). */
export function latestRun(expression: string, zone: string, at: number): number | undefined {
  try {
    const e = CronExpressionParser.parse(expression, optionsFor(expression, zone, at + 1));
    return e.prev().getTime();
  } catch {
    return undefined;
  }
}

/** An occurrence's wall-clock date and time in `zone`: what a `localTime: true` run's child schedule says. */
export function wallClock(at: number, zone: string): { date: string; localTime: string } {
  const d = DateTime.fromMillis(at, { zone });
  return { date: d.toFormat("yyyy-MM-dd"), localTime: d.toFormat("HH:mm") };
}
