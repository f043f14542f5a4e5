import { type Clock, systemClock } from "../../src/clock.js";
import type { Store } from "../../src/store/ports.js";
import { type Stack, startStack } from "../helpers/stack.js";

/**
 * A clock that runs at real speed from a time the test sets, and only moves forward: Herald and
 * the emulator share it, so signed activities and tokens agree while days pass in a second.
 */
export class TestClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
  /** Jump to `iso` (must be later than now). */
  jump(iso: string): void {
    const target = Date.parse(iso);
    if (target < this.now()) throw new Error(`the test clock only moves forward (now ${new Date(this.now()).toISOString()}, asked ${iso})`);
    this.offset = target - Date.now();
  }
}

/** The people of the test organisation and their zones (Teams reports each person's zone with every activity). */
export const people = [
  { name: "Ada London", timezone: "Europe/London" },
  { name: "Bob NewYork", timezone: "America/New_York" },
  { name: "Chie Tokyo", timezone: "Asia/Tokyo" },
  { name: "Dan Capped", timezone: "Europe/London" },
  { name: "Eve Commands", timezone: "Europe/Paris" },
  { name: "Fay Card", timezone: "Europe/Berlin" },
] as const;

/** The stack of test/helpers/stack.ts with an injected clock (also the store's time) and a fast poll. */
export async function startClockedStack(store: Store, clock: TestClock, env: Record<string, string>): Promise<Stack> {
  return startStack(store, {
    emulator: {
      clock,
      limits: false,
      seed: 11,
      orgData: { tenants: [{ name: "Contoso", users: people.map((p) => ({ name: p.name, timezone: p.timezone })) }] },
    },
    env,
    herald: { clock, storeTime: "clock", delivery: { pollMs: 50 } },
  });
}
