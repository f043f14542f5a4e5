import { z } from "zod";
import { MessageError } from "./errors.js";
import { ackSchema, pollSchema } from "./responses.js";
import { surveySchema } from "./survey.js";

/** Teams text formats (protocol reference, section 1). Default `markdown`. */
export const textFormats = ["markdown", "plain", "xml"] as const;
export type TextFormat = (typeof textFormats)[number];

const element = z.looseObject({
  type: z.string({ error: 'every element needs a string "type" (e.g. "TextBlock")' }).min(1, { error: '"type" must not be empty' }),
});

/**
 * An Adaptive Card, checked for shape only: Teams ignores unknown properties and renders
 * unknown element types with their fallback, so refusing them here would refuse valid cards.
 * Elements may carry `$data` / `$when` templating.
 */
export const adaptiveCardSchema = z
  .looseObject(
    {
      type: z.literal("AdaptiveCard", { error: 'must be "AdaptiveCard"' }),
      version: z
        .string({
          error: (issue) =>
            issue.input === undefined ? 'is required: a version string such as "1.5"' : 'must be a version string such as "1.5"',
        })
        .regex(/^\d+\.\d+$/, { error: 'must be a version string such as "1.5" (Teams renders up to 1.5)' }),
      body: z.array(element, { error: "must be an array of elements" }).optional(),
      actions: z.array(element, { error: "must be an array of actions" }).optional(),
    },
    { error: 'must be an Adaptive Card object: {"type": "AdaptiveCard", "version": "1.5", "body": [...]}' },
  )
  .refine((card) => (card.body?.length ?? 0) + (card.actions?.length ?? 0) > 0, {
    error: "needs at least one element in body or one action",
  });

export type AdaptiveCard = z.infer<typeof adaptiveCardSchema>;

const nonBlank = (what: string) =>
  z.string({ error: `must be a string (${what})` }).refine((s) => s.trim() !== "", { error: `must not be empty (${what})` });

/**
 * The message of a notification, as the API accepts it. Strict: unknown fields are refused.
 * - `text`: the message text, in `textFormat` (default `markdown`).
 * - `card`: an Adaptive Card (JSON object). With `text`, the text becomes the card's first
 *   TextBlock (one activity, so it can be edited and recalled); `xml` text cannot be combined.
 * - `summary`: what the activity feed and notifications show instead of "sent a card".
 * - `alert`: raise an activity-feed notification (`channelData.notification.alert`).
 * - `ack`: an acknowledgement button; `poll`: a question with options (./responses.ts). Either
 *   renders as an Adaptive Card with Action.Execute; `ack` may join a card, `poll` builds its own.
 * Strings of text, summary and card may use `${...}` templating (see prepareMessage).
 */
export const messageSchema = z
  .strictObject({
    text: nonBlank("the message text").optional(),
    textFormat: z.enum(textFormats, { error: 'must be "markdown", "plain" or "xml"' }).optional(),
    card: adaptiveCardSchema.optional(),
    summary: nonBlank("the feed preview").optional(),
    alert: z.boolean({ error: "must be true or false" }).optional(),
    ack: ackSchema.optional(),
    poll: pollSchema.optional(),
    /** A survey asked one question at a time in each recipient's 1:1 chat (survey.ts). */
    survey: surveySchema.optional(),
  })
  .superRefine((m, ctx) => {
    if (m.survey !== undefined) {
      for (const f of ["text", "card", "textFormat", "poll", "ack"] as const)
        if (m[f] !== undefined)
          ctx.addIssue({ code: "custom", path: [f], message: "cannot be combined with a survey; say it in survey.intro" });
    } else if (m.text === undefined && m.card === undefined && m.poll === undefined && m.ack === undefined) {
      ctx.addIssue({ code: "custom", path: [], message: "give text, a card, or both (or a poll, an ack or a survey)" });
    }
    if (m.poll !== undefined && m.ack !== undefined) {
      ctx.addIssue({ code: "custom", path: ["ack"], message: "cannot be combined with a poll: send one or the other" });
    }
    if (m.poll !== undefined && m.card !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["card"],
        message: "cannot be combined with a poll (the poll is its own card); put the words in text",
      });
    }
    if (m.textFormat === "xml" && (m.poll !== undefined || m.ack !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["textFormat"],
        message: 'cannot be "xml" with a poll or ack: the text goes into the card as a TextBlock; use markdown or plain',
      });
    }
    if (m.textFormat !== undefined && m.text === undefined) {
      ctx.addIssue({ code: "custom", path: ["textFormat"], message: "is given without text; remove it or add text" });
    }
    if (m.textFormat === "xml" && m.card !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["textFormat"],
        message:
          'cannot be "xml" with a card: the text goes into the card as a TextBlock, which renders Markdown only; use markdown or plain',
      });
    }
  });

export type Message = z.infer<typeof messageSchema>;

/**
 * Validates `input` as a message; on failure a MessageError (HERALD_E_INVALID_MESSAGE) whose
 * message names each bad field under `field` (default `message`), e.g.
 * `message.card.version: must be a version string such as "1.5"`.
 */
export function parseMessage(input: unknown, field = "message"): { ok: true; message: Message } | { ok: false; error: MessageError } {
  const r = messageSchema.safeParse(input);
  if (r.success) return { ok: true, message: r.data };
  return { ok: false, error: messageErrorFromZod(r.error, field) };
}

/** One MessageError for the first few issues of a zod error, each naming its field. */
export function messageErrorFromZod(error: z.ZodError, field = "message"): MessageError {
  const parts = error.issues.slice(0, 3).map((issue) => {
    const path = [field, ...issue.path.map(String)].join(".");
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys;
      return `${path}: unknown field${keys.length > 1 ? "s" : ""} ${keys.map((k) => `"${k}"`).join(", ")}; remove ${keys.length > 1 ? "them" : "it"} (accepted: text, textFormat, card, summary, alert, ack, poll, survey)`;
    }
    return `${path}: ${issue.message}`;
  });
  const first = error.issues[0];
  const firstField = [field, ...(first?.path.map(String) ?? [])].join(".");
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : "";
  return new MessageError("HERALD_E_INVALID_MESSAGE", firstField, `${parts.join("; ")}${more}.`);
}
