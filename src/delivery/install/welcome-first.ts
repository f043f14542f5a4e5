import type { Clock } from "../../clock.js";
import type { WelcomeStore } from "../../store/ports.js";
import type { WelcomeTracker } from "./welcomes.js";

/** How often a wait for a welcome looks at the store (a welcome another process stores or sends), in ms. */
const LOOK_MS = 250;
/**
 * How much earlier than the install request the install event's hold may be dated: the process
 * that took the event may run a clock this far behind the installing one's.
 */
const SKEW_MS = 2_000;

/** What a wait for a welcome needs: the holds every process shares, and this process's wake-ups. */
export interface WelcomeWatch {
  holds: WelcomeStore;
  tracker: WelcomeTracker;
  clock: Clock;
  /** How long an install waits for its install event's welcome, in ms (Installer's welcomeWaitMs). */
  waitMs: number;
  /** How often the store is looked at, in ms. Default LOOK_MS. */
  lookMs?: number | undefined;
}

/**
 * Resolves when a message into `chat` (an id, or how to find it: the install event's chat may be
 * recorded under another id than Graph's) may go without overtaking a welcome, whichever process took
 * the install event (it holds the chat in the store before recording it, WelcomeStore.expect) and
 * whichever process sends the welcome (its end ends the hold):
 * - `installedAt` set (this step installed the app then; Graph answered 201): waits for the
 *   install event's hold, at most `waitMs`, then for the hold to end;
 * - `installedAt` undefined (a 409, or a chat already known): waits only for a hold still live
 *   (an earlier install's welcome on its way).
 * Looks at the store every LOOK_MS, woken at once by this process's own welcomes (WelcomeTracker.nap).
 * Never longer than twice `waitMs` in all, whatever another process's clock says. Returns false
 * when an install saw no install event in time (the message then goes anyway).
 */
export async function welcomeFirst(
  w: WelcomeWatch,
  chat: string | (() => Promise<string>),
  installedAt: number | undefined,
  signal?: AbortSignal,
): Promise<boolean> {
  const start = w.clock.now();
  const deadline = (installedAt ?? start) + w.waitMs;
  const giveUp = start + 2 * w.waitMs;
  const look = w.lookMs ?? LOOK_MS;
  for (;;) {
    const id = typeof chat === "string" ? chat : await chat().catch(() => undefined);
    const hold = id === undefined ? undefined : await w.holds.get(id).catch(() => undefined);
    const now = w.clock.now();
    if (signal?.aborted || now >= giveUp) return true;
    // Any live hold, this install's or not: a welcome is on its way into the chat.
    const left = hold ? Date.parse(hold.until) - now : 0;
    if (left > 0) {
      await w.tracker.nap(id ?? "", Math.min(look, left), signal);
      continue;
    }
    const seen = installedAt === undefined || (hold !== undefined && Date.parse(hold.askedAt) >= installedAt - SKEW_MS);
    if (seen) return true;
    if (now >= deadline) return false;
    await w.tracker.nap(id ?? "", Math.min(look, deadline - now), signal);
  }
}
