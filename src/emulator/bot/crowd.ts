import { resolveConversation } from "../connector/conversation.js";
import type { EmulatorContext } from "../context.js";
import { EmulatorError } from "../errors.js";
import type { OrgUser } from "../org/model.js";
import { type ActivityEnv, cardInvoke, messageReaction, type Place } from "./activities.js";
import type { BotSide } from "./bot-side.js";

/**
 * Many users acting on the bot's messages at once (issue 10's proof): Action.Execute presses,
 * reactions and read receipts, all posted to the bot concurrently (the bot client bounds how many
 * are on the wire). Each user acts on the message named by `replyToId`, or by default on the bot's
 * latest kept message in their place (their 1:1 chat, or the conversation named).
 */
export interface CrowdTarget {
  users: (string | number)[];
  /** A conversation (1:1, channel thread `19:...;messageid=N`, group chat); default each user's 1:1 chat. */
  conversationId?: string | undefined;
  /** The bot's message acted on; default the latest bot message kept in that conversation. */
  replyToId?: string | undefined;
}

export interface CrowdResult {
  count: number;
  /** How many answers had each HTTP status. */
  statuses: Record<string, number>;
  /** Per user: the answer's status, and how long the bot took to answer (ms, from the post to the answer). */
  results: { from: string; status: number; replyToId: string; latencyMs?: number; body?: unknown }[];
  ms: number;
}

export interface CrowdDeps {
  ctx: EmulatorContext;
  bot: BotSide;
  env(): ActivityEnv;
  nextId(): string;
  place(user: OrgUser, conversationId: string | undefined, replyToId: string): Place;
}

/** The bot's latest kept message in a conversation. */
function latestBotMessage(ctx: EmulatorContext, conversationId: string): string | undefined {
  const ref = resolveConversation(ctx.org, conversationId);
  if (!ref) return undefined;
  let list = ctx.messages.list(ref.id);
  if (ref.kind === "channel" && ref.thread) list = list.filter((m) => m.threadId === ref.thread || m.id === ref.thread);
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.from === "bot") return list[i]!.id;
  return undefined;
}

async function each(
  deps: CrowdDeps,
  target: CrowdTarget,
  build: (user: OrgUser, place: Place, replyToId: string) => Record<string, unknown>,
  withBody: boolean,
): Promise<CrowdResult> {
  const started = Date.now();
  const jobs = target.users.map((who) => {
    const user = deps.bot.user(who);
    const conversationId = target.conversationId ?? deps.ctx.org.personalConversationId(user.index);
    const replyToId = target.replyToId ?? latestBotMessage(deps.ctx, conversationId);
    if (!replyToId)
      throw new EmulatorError(
        400,
        "HERALD_E_EMULATOR_NOTHING_TO_ACT_ON",
        `${user.name} has no kept bot message in ${conversationId}; pass replyToId.`,
      );
    const place = deps.place(user, target.conversationId, replyToId);
    return { user, replyToId, activity: build(user, place, replyToId) };
  });
  const results = await Promise.all(
    jobs.map(async (j) => {
      try {
        const sent = performance.now();
        const answer = await deps.bot.send(j.activity);
        const latencyMs = Math.round((performance.now() - sent) * 10) / 10;
        return { from: j.user.id, status: answer.status, replyToId: j.replyToId, latencyMs, ...(withBody ? { body: answer.body } : {}) };
      } catch (e) {
        return { from: j.user.id, status: 0, replyToId: j.replyToId, body: (e as Error).message };
      }
    }),
  );
  const statuses: Record<string, number> = {};
  for (const r of results) statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
  return { count: results.length, statuses, results, ms: Date.now() - started };
}

/**
 * Everyone in `users` presses the same Action.Execute (`verb`, `data`). Each answer is personal
 * (what Teams shows that one user), so no kept message is changed: only the bot's PUT changes a
 * card everyone sees.
 */
export function invokeMany(
  deps: CrowdDeps,
  target: CrowdTarget & { verb: string; data?: unknown; withBody?: boolean },
): Promise<CrowdResult> {
  return each(
    deps,
    target,
    (user, place, replyToId) =>
      cardInvoke(deps.env(), deps.nextId(), user, place, replyToId, { verb: target.verb, data: target.data ?? {} }),
    target.withBody === true,
  );
}

/** Everyone in `users` adds (or removes) the reactions `types` on the message. */
export function reactMany(deps: CrowdDeps, target: CrowdTarget & { types: string[]; action: "add" | "remove" }): Promise<CrowdResult> {
  return each(
    deps,
    target,
    (user, place, replyToId) => messageReaction(deps.env(), deps.nextId(), user, place, replyToId, target.types, target.action),
    false,
  );
}
