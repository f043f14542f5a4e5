import { z } from "zod";
import { MessageError } from "./errors.js";

export { ACK_VERB, answerActions, answerableCard, CHOICE_INPUT_ID, POLL_VERB, pollBody, RESPONSE_VERB, VIEW_VERB } from "./answer-card.js";

/**
 * The answerable parts of a message (issue 10): `ack` (an acknowledgement button) and `poll`
 * (a question with options). Both render as an Adaptive Card whose Action.Execute verbs start
 * with `herald.response` (src/responses/ answers them).
 */

export const maxPollOptions = 20;

const label = (what: string, max: number) =>
  z
    .string({ error: `must be a string (${what})` })
    .refine((s) => s.trim() !== "", { error: `must not be empty (${what})` })
    .refine((s) => s.length <= max, { error: `is longer than ${max} characters (${what})` });

/** `message.ack`: a button the recipient presses to acknowledge; `label` defaults to "Acknowledge". */
export const ackSchema = z.strictObject({ label: label("the button's text", 100).optional() }, { error: "must be an object such as {}" });

/**
 * `message.poll`: `question`, 2 to 20 `options`; `multiple` lets a person pick several options in
 * their one answer; `anonymous` stores no identity with the answer; after `closesAt` no answer is taken.
 */
export const pollSchema = z
  .strictObject(
    {
      question: label("the poll's question", 500),
      options: z
        .array(label("an option", 200), { error: "must be an array of option texts" })
        .min(2, { error: "needs at least 2 options" })
        .max(maxPollOptions, { error: `has more than ${maxPollOptions} options` }),
      multiple: z.boolean({ error: "must be true or false" }).optional(),
      anonymous: z.boolean({ error: "must be true or false" }).optional(),
      closesAt: z.iso.datetime({ offset: true, error: "must be an ISO 8601 time with a zone, e.g. 2025-06-01T09:00:00Z" }).optional(),
    },
    { error: 'must be an object: {"question": "...", "options": ["...", "..."]}' },
  )
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.options.forEach((o, i) => {
      const key = o.trim().toLowerCase();
      if (seen.has(key)) ctx.addIssue({ code: "custom", path: ["options", i], message: `repeats the option "${o}"; options must differ` });
      seen.add(key);
    });
  });

export type AckSpec = z.infer<typeof ackSchema>;
export type PollSpec = z.infer<typeof pollSchema>;

/** What kind of answer a message asks for, if any. */
export type Answerable = { kind: "poll"; poll: PollSpec } | { kind: "ack"; ack: AckSpec };

/** The answerable part of a stored message (as the API accepted it), or undefined. */
export function answerableOf(message: unknown): Answerable | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const m = message as { poll?: unknown; ack?: unknown };
  if (m.poll !== undefined) {
    const r = pollSchema.safeParse(m.poll);
    return r.success ? { kind: "poll", poll: r.data } : undefined;
  }
  if (m.ack !== undefined) {
    const r = ackSchema.safeParse(m.ack);
    return r.success ? { kind: "ack", ack: r.data } : undefined;
  }
  return undefined;
}

/**
 * Why an edit may not replace `before` by `after` (undefined: it may). Stored answers are kept by
 * option index under the poll's identity rules, so once sent a poll keeps its options (texts and
 * order), `multiple` and `anonymous`, and an answerable message stays one of the same kind; the
 * question, the ack's label and `closesAt` may change.
 */
export function answerableEditError(before: unknown, after: unknown): MessageError | undefined {
  const was = answerableOf(before);
  if (!was) return undefined;
  const now = answerableOf(after);
  const refuse = (field: string, why: string) =>
    new MessageError("HERALD_E_INVALID_MESSAGE", field, `${field}: ${why}; recall the notification and send a new one instead.`);
  if (!now || now.kind !== was.kind) return refuse(`message.${was.kind}`, `the message was sent with a ${was.kind}; an edit must keep it`);
  if (was.kind !== "poll" || now.kind !== "poll") return undefined;
  const sameOptions = was.poll.options.length === now.poll.options.length && was.poll.options.every((o, i) => o === now.poll.options[i]);
  if (!sameOptions) return refuse("message.poll.options", "answers are stored by option, so an edit must keep the options and their order");
  if ((was.poll.multiple === true) !== (now.poll.multiple === true)) return refuse("message.poll.multiple", "cannot change once sent");
  if ((was.poll.anonymous === true) !== (now.poll.anonymous === true))
    return refuse("message.poll.anonymous", "cannot change once sent (people answered under the first rule)");
  return undefined;
}
