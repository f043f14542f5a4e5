import { readFileSync } from "node:fs";
import { z } from "zod";

/**
 * The bot's own words: welcome messages and answers to the user's commands. The welcome is
 * configurable with HERALD_WELCOME_FILE, a JSON file `{personal?: {text?, card?}, team?: {text?, card?}}`;
 * text and card strings may use `${userName}`, `${givenName}`, `${installerName}`, `${botName}`,
 * `${teamName}` and `${channelName}`.
 */
export interface OutgoingMessage {
  text?: string | undefined;
  /** Adaptive Card JSON. Sent as its own activity so its id can be edited or deleted later. */
  card?: Record<string, unknown> | undefined;
}

const messageSchema = z.strictObject({ text: z.string().min(1).optional(), card: z.record(z.string(), z.unknown()).optional() });
const welcomeFileSchema = z.strictObject({
  personal: messageSchema.optional(),
  team: messageSchema.optional(),
  groupChat: messageSchema.optional(),
});
/** The validated HERALD_WELCOME_FILE: a message per conversation kind, each optional. */
export type WelcomeTemplates = z.infer<typeof welcomeFileSchema>;

/** HERALD_WELCOME_FILE cannot be read or is not the expected shape; the message names the file and field. */
export class WelcomeFileError extends Error {
  readonly code = "HERALD_E_WELCOME_FILE";
}

/** Read and validate HERALD_WELCOME_FILE; throws WelcomeFileError naming the file and the field. */
export function loadWelcomeFile(path: string): WelcomeTemplates {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new WelcomeFileError(`HERALD_WELCOME_FILE=${path} cannot be read as JSON: ${(e as Error).message}`);
  }
  const r = welcomeFileSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new WelcomeFileError(
      `HERALD_WELCOME_FILE=${path}: ${i?.path.join(".") || "(root)"}: ${i?.message}. Expected {personal?: {text?, card?}, team?: {text?, card?}, groupChat?: {text?, card?}}.`,
    );
  }
  return r.data;
}

/** What a welcome may mention (and templates may use as `${...}`). */
export interface WelcomeContext {
  botName: string;
  userName?: string | undefined;
  installerName?: string | undefined;
  /** The installer is the user of the personal chat. */
  selfInstalled?: boolean;
  teamName?: string | undefined;
  channelName?: string | undefined;
}

/** The welcome for a personal chat: why they get it, what the bot offers, what to do next, how to opt out. */
export function personalWelcome(ctx: WelcomeContext, templates?: WelcomeTemplates): OutgoingMessage {
  if (templates?.personal) return fill(templates.personal, ctx);
  const first = firstName(ctx.userName);
  const who = ctx.selfInstalled || !ctx.installerName ? "you installed" : `${ctx.installerName} installed`;
  return {
    text: [
      `**Welcome${first ? `, ${first}` : ""}! I'm ${ctx.botName}.**`,
      "",
      `You're getting this message because ${who} ${ctx.botName} in Microsoft Teams. I deliver notifications from your organisation (announcements, alerts and reminders) to you here, in this chat.`,
      "",
      "What you can do:",
      "- Type **help** to see what I can do.",
      "- Type **stop** to stop receiving notifications, and **start** to get them again.",
    ].join("\n"),
  };
}

/** The welcome posted in the channel the installer selected: names that channel and the installer. */
export function teamWelcome(ctx: WelcomeContext, templates?: WelcomeTemplates): OutgoingMessage {
  if (templates?.team) return fill(templates.team, ctx);
  const by = ctx.installerName ? ` by ${ctx.installerName}` : "";
  return {
    text: [
      `**${ctx.botName} was added to ${ctx.teamName ? `the ${ctx.teamName} team` : "this team"}${by}.**`,
      "",
      `I'll post the team's notifications here in **${ctx.channelName ?? "this channel"}**. Mention me with **help** to see what I can do; anyone can message me directly to manage their own notifications.`,
    ].join("\n"),
  };
}

/** The welcome posted in a group chat the bot was added to. */
export function groupChatWelcome(ctx: WelcomeContext, templates?: WelcomeTemplates): OutgoingMessage {
  if (templates?.groupChat) return fill(templates.groupChat, ctx);
  const by = ctx.installerName ? ` by ${ctx.installerName}` : "";
  return {
    text: `**${ctx.botName} was added to this chat${by}.** I'll post notifications meant for this group here. Mention me with **help** to see what I can do.`,
  };
}

/** The answer to **help**, with the user's current opt-out state. */
export function helpMessage(botName: string, optedOut: boolean): OutgoingMessage {
  return {
    text: [
      `I'm ${botName}: I deliver notifications from your organisation in Teams.`,
      "",
      optedOut ? "You have **opted out** of notifications." : "You are **receiving** notifications.",
      "",
      "- **stop** (or unsubscribe): stop receiving notifications",
      "- **start** (or subscribe): receive notifications again",
      "- **stop <category>** / **start <category>**: stop or resume one kind of notification",
      "- **settings**: your notification settings, as a card with a switch for each kind",
      "- **help**: this message",
    ].join("\n"),
  };
}

/** The answer to **stop**. */
export function optedOutMessage(botName: string): OutgoingMessage {
  return {
    text: `Done: you won't receive notifications from ${botName} any more. Type **start** at any time to get them again.`,
  };
}

/** The answer to **start**. */
export function optedInMessage(botName: string): OutgoingMessage {
  return { text: `Done: you'll receive notifications from ${botName} again. Type **stop** at any time to opt out.` };
}

/**
 * What a user is told after pressing a card's button (Action.Execute or Action.Submit): Herald does
 * not store card responses yet, so it must never say "your response was recorded".
 */
export const responsesNotCollectedText = "This card does not collect responses yet, so nothing was recorded.";

/** The answer to an Action.Submit (a message with the card's values and no text). */
export function cardSubmitMessage(): OutgoingMessage {
  return { text: `${responsesNotCollectedText} Type **help** for what I can do.` };
}

/** The answer to anything else: what was not understood (first 40 characters) and what works. */
export function unknownCommandMessage(botName: string, said: string): OutgoingMessage {
  const shown = said.length > 40 ? `${said.slice(0, 40)}…` : said;
  return {
    text: `Sorry, I don't understand "${shown}". I'm ${botName}, a notification bot: type **help** for what I can do, **stop** to opt out or **start** to opt back in.`,
  };
}

function firstName(name: string | undefined): string | undefined {
  return name?.trim().split(/\s+/)[0] || undefined;
}

function fill(template: OutgoingMessage, ctx: WelcomeContext): OutgoingMessage {
  const values: Record<string, string> = {
    botName: ctx.botName,
    userName: ctx.userName ?? "",
    givenName: firstName(ctx.userName) ?? "",
    installerName: ctx.installerName ?? "",
    teamName: ctx.teamName ?? "",
    channelName: ctx.channelName ?? "",
  };
  // Own keys only: `${constructor}` must stay as written, not become Object's source text.
  const sub = (s: string) => s.replace(/\$\{(\w+)\}/g, (m, k: string) => (Object.hasOwn(values, k) ? (values[k] ?? m) : m));
  const walk = (v: unknown): unknown => {
    if (typeof v === "string") return sub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return {
    text: template.text ? sub(template.text) : undefined,
    card: template.card ? (walk(template.card) as Record<string, unknown>) : undefined,
  };
}
