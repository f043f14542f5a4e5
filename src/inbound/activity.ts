import { z } from "zod";

/**
 * The inbound activity as Herald reads it (protocol reference, section 2). Validated once at
 * the boundary; unknown fields are kept (Teams adds fields over time) but never trusted.
 */
const account = z.looseObject({
  id: z.string().min(1),
  name: z.string().nullish(),
  aadObjectId: z.string().nullish(),
  role: z.string().nullish(),
});

const idName = z.looseObject({ id: z.string().min(1), name: z.string().nullish() });

export const activitySchema = z.looseObject({
  type: z.string().min(1),
  id: z.string().nullish(),
  timestamp: z.string().nullish(),
  localTimestamp: z.string().nullish(),
  localTimezone: z.string().nullish(),
  localTimeZone: z.string().nullish(),
  serviceUrl: z.string().min(1),
  channelId: z.string().min(1),
  from: account,
  recipient: account,
  conversation: z.looseObject({
    id: z.string().min(1),
    conversationType: z.string().nullish(),
    tenantId: z.string().nullish(),
    isGroup: z.boolean().nullish(),
    name: z.string().nullish(),
  }),
  locale: z.string().nullish(),
  text: z.string().nullish(),
  textFormat: z.string().nullish(),
  name: z.string().nullish(),
  action: z.string().nullish(),
  value: z.unknown().optional(),
  replyToId: z.string().nullish(),
  membersAdded: z.array(account).nullish(),
  membersRemoved: z.array(account).nullish(),
  entities: z.array(z.looseObject({ type: z.string().nullish() })).nullish(),
  channelData: z
    .looseObject({
      tenant: z.looseObject({ id: z.string().nullish() }).nullish(),
      team: z.looseObject({ id: z.string().min(1), name: z.string().nullish(), aadGroupId: z.string().nullish() }).nullish(),
      channel: idName.nullish(),
      eventType: z.string().nullish(),
      settings: z.looseObject({ selectedChannel: z.looseObject({ id: z.string().nullish() }).nullish() }).nullish(),
    })
    .nullish(),
});

export type Activity = z.infer<typeof activitySchema>;

export type ParseResult = { ok: true; activity: Activity } | { ok: false; reason: string };

/** Validate a parsed JSON body as an activity; the reason names the first bad field. */
export function parseActivity(body: unknown): ParseResult {
  const result = activitySchema.safeParse(body);
  if (result.success) return { ok: true, activity: result.data };
  const issue = result.error.issues[0];
  const path = issue?.path.length ? issue.path.join(".") : "(body)";
  return { ok: false, reason: `${path}: ${issue?.message ?? "invalid"}` };
}
