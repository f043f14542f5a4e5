import { z } from "zod";
import { cronProblem } from "./cron.js";
import { isValidZone } from "./local-time.js";

/**
 * The `schedule` shapes of a notification request (product.md, "Scheduling"), one zod schema each
 * so the OpenAPI document is generated from them:
 * - an ISO time, or `{at}`: one instant for everyone;
 * - `{localTime:"HH:MM", date?, timeZone?, ifPassed?}`: each recipient at that time in their own zone;
 * - `{cron, timeZone?, localTime?: true, until?}`: a recurring series, each run its own notification.
 */

/** An ISO 8601 time with a zone, e.g. `2025-06-01T09:00:00Z`. */
export const whenSchema = z.iso.datetime({ offset: true, error: "must be an ISO 8601 time with a zone, e.g. 2025-06-01T09:00:00Z" });

const zone = z
  .string({ error: "must be a string" })
  .refine((v) => isValidZone(v), { error: "must be an IANA time zone, e.g. Europe/Paris or America/New_York" });

/** `{localTime, date?, timeZone?, ifPassed?}`. */
export const localTimeScheduleSchema = z.strictObject({
  localTime: z
    .string({ error: 'must be a string "HH:MM"' })
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'must be a 24-hour local time "HH:MM", e.g. "09:00"' }),
  date: z.iso.date({ error: 'must be a calendar date "YYYY-MM-DD"' }).optional(),
  /** Zone of recipients whose own (and tenant default) zone is unknown; default UTC. */
  timeZone: zone.optional(),
  /** A recipient whose moment has passed: `sendNow` (default) or `nextDay`. */
  ifPassed: z.enum(["sendNow", "nextDay"], { error: 'must be "sendNow" or "nextDay"' }).optional(),
});

/** `{cron, timeZone?, localTime?: true, until?}`. */
export const cronScheduleSchema = z
  .strictObject({
    cron: z.string({ error: "must be a cron expression string" }).min(1, { error: "must not be empty" }).max(200),
    /** The zone the cron is read in; default UTC. */
    timeZone: zone.optional(),
    /** true: every run reaches each recipient at the cron's time in the recipient's own zone. */
    localTime: z.literal(true, { error: "must be true (or left out)" }).optional(),
    /** No run after this time. */
    until: whenSchema.optional(),
  })
  .superRefine((s, ctx) => {
    const problem = cronProblem(s.cron, s.timeZone ?? "UTC");
    if (problem)
      ctx.addIssue({ code: "custom", path: ["cron"], message: `is not a valid cron expression (${problem}); e.g. "0 9 * * 1-5"` });
  });

export type LocalTimeScheduleInput = z.infer<typeof localTimeScheduleSchema>;
export type CronScheduleInput = z.infer<typeof cronScheduleSchema>;

/** Which shape an object means, by its keys, so a union error names the field of that shape. */
function branchOf(input: unknown): number | undefined {
  if (typeof input === "string") return 0;
  if (typeof input !== "object" || input === null) return undefined;
  if ("cron" in input) return 3;
  if ("localTime" in input) return 2;
  if ("at" in input) return 1;
  return undefined;
}

/** Any of the schedule shapes; a bad one is reported by its own field (`schedule.localTime: must be ...`). */
export const scheduleSchema = z.union([whenSchema, z.strictObject({ at: whenSchema }), localTimeScheduleSchema, cronScheduleSchema], {
  error: (issue) => {
    const branch = branchOf(issue.input);
    const errors = (issue as { errors?: { path: PropertyKey[]; message: string }[][] }).errors;
    const first = branch === undefined ? undefined : errors?.[branch]?.[0];
    if (!first)
      return 'must be an ISO time, {at}, {localTime:"HH:MM", date?, timeZone?, ifPassed?} or {cron, timeZone?, localTime?, until?}';
    return first.path.length > 0 ? `${first.path.map(String).join(".")} ${first.message}` : first.message;
  },
});

export type ScheduleInput = z.infer<typeof scheduleSchema>;

/** The local-time schedule of a request, if it has one. */
export function localTimeOf(s: ScheduleInput | undefined): LocalTimeScheduleInput | undefined {
  return typeof s === "object" && "localTime" in s && typeof s.localTime === "string" ? (s as LocalTimeScheduleInput) : undefined;
}

/** The cron schedule of a request, if it has one. */
export function cronOf(s: ScheduleInput | undefined): CronScheduleInput | undefined {
  return typeof s === "object" && "cron" in s ? s : undefined;
}
