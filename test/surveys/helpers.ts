import { expect } from "vitest";
import type { Clock } from "../../src/clock.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { SurveyService } from "../../src/surveys/service.js";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";

type Json = Record<string, unknown>;

/** Talking to Herald as the people of the emulator's organisation: send surveys, read the chat, type answers. */
export class SurveyDriver {
  constructor(
    readonly stack: () => Stack,
    readonly store: Store,
  ) {}

  control(method: string, path: string, body?: unknown) {
    return call(method, `${this.stack().emulator.url}/_emulator${path}`, body);
  }

  /** The emulator's users, installed (each welcomed): `{id, chat}`. */
  async people(n: number): Promise<{ id: string; chat: string }[]> {
    const users = ((await this.control("GET", `/users?limit=${n}`)).json["users"] ?? []) as { id: string }[];
    await this.control("POST", "/install", { users: users.map((u) => u.id), wait: true });
    const out: { id: string; chat: string }[] = [];
    for (const u of users) {
      const chat = await eventually("chat stored", () => this.store.conversations.findPersonal(undefined, u.id));
      await this.said(chat.id, /Welcome/);
      out.push({ id: u.id, chat: chat.id });
    }
    return out;
  }

  /** Send a survey to users; its notification id. */
  async survey(users: string[], survey: Json): Promise<string> {
    const r = await call("POST", `${this.stack().heraldUrl}/v1/notifications`, { audience: { users }, message: { survey } }, STACK_API_KEY);
    expect(r.status, JSON.stringify(r.json)).toBe(202);
    return String(r.json["id"]);
  }

  /** What the bot said in a chat, oldest first, each message as one string (text and card). */
  async botSaid(chat: string): Promise<string[]> {
    const list = ((await this.control("GET", `/conversations/${encodeURIComponent(chat)}/messages`)).json["messages"] ?? []) as Json[];
    return list.filter((m) => m["from"] === "bot").map((m) => JSON.stringify(m["activity"]));
  }

  /** Wait until the bot's latest message in `chat` matches, then return how many it has said. */
  async said(chat: string, pattern: RegExp, ms = 15_000): Promise<number> {
    const all = await eventually(
      `the bot says ${pattern} in ${chat}`,
      async () => {
        const m = await this.botSaid(chat);
        return pattern.test(m.at(-1) ?? "") ? m : undefined;
      },
      ms,
    );
    return all.length;
  }

  /** The person types `text` in their 1:1 chat (the emulator posts it to Herald and waits for the 200). */
  async type(user: string, text: string): Promise<void> {
    const r = await this.control("POST", "/messages", { from: user, text });
    expect(r.json["status"], JSON.stringify(r.json)).toBe(200);
  }

  /** Wait until the notification's one row is sent (a queued survey's row sends nothing). */
  async delivered(notificationId: string): Promise<void> {
    await eventually(`${notificationId} sent`, async () => {
      const n = await this.stack().herald.engine.get(notificationId);
      return n?.counts.sent === 1 ? true : undefined;
    });
  }

  /** Wait until no notification (replies included) has a row left to send. */
  async idle(): Promise<void> {
    await eventually("no reply left to send", async () => {
      const list = await this.store.deliveries.listNotifications({ includeSystem: true }, { limit: 200 });
      return list.items.every((n) => n.counts.pending === 0) ? true : undefined;
    });
  }

  async answers(notificationId: string) {
    return (await this.store.surveys.answers(notificationId)).map((a) => ({ question: a.questionId, ...a.value }));
  }
}

/** A SurveyService on `store` whose clock reads `now`, replying through the stack's engine (expiry with an injected clock). */
export function serviceAt(stack: Stack, store: Store, now: number, timeoutMs: number): SurveyService {
  const clock: Clock = { now: () => now, sleep: () => Promise.resolve() };
  return new SurveyService({ store, reply: (r) => stack.herald.engine.reply(r), clock, timeoutMs, logger: silentLogger });
}

/**
 * Herald and the emulator over `store` with one tenant of `users` people and no teams; the first
 * `install` of them installed and welcomed (all by default, none with 0).
 */
export async function startSurveyStack(
  store: Store,
  users: number,
  install = users,
): Promise<{ stack: Stack; driver: SurveyDriver; people: { id: string; chat: string }[] }> {
  const stack = await startStack(store, { emulator: { org: { tenants: 1, users, teams: 0, blockedShare: 0, uninstalledShare: 0 } } });
  const driver = new SurveyDriver(() => stack, store);
  return { stack, driver, people: install > 0 ? await driver.people(install) : [] };
}
