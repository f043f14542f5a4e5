import { describe, expect, it } from "vitest";
import type { Clock } from "../../src/clock.js";
import { DashboardSessions } from "../../src/server/dashboard-sessions.js";

function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, sleep: async () => undefined, advance: (ms) => (t += ms) };
}

describe("dashboard sessions", () => {
  it("ends a session after its idle time and after its absolute lifetime, however busy", () => {
    const clock = fakeClock();
    const sessions = new DashboardSessions(clock, { idleMs: 1000, absoluteMs: 5000, linkMs: 100 });
    const idle = sessions.create("k");
    clock.advance(999);
    expect(sessions.get(idle.id)).toBeDefined();
    clock.advance(1001);
    expect(sessions.get(idle.id)).toBeUndefined();

    const busy = sessions.create("k");
    for (let i = 0; i < 4; i++) {
      clock.advance(900);
      expect(sessions.get(busy.id)).toBeDefined();
    }
    clock.advance(1500);
    expect(sessions.get(busy.id)).toBeUndefined();
  });

  it("a one-time token gives its key once, and never after it expires", () => {
    const clock = fakeClock();
    const sessions = new DashboardSessions(clock, { idleMs: 1000, absoluteMs: 5000, linkMs: 100 });
    const t = sessions.oneTimeToken("the-key");
    expect(sessions.redeem(t)).toBe("the-key");
    expect(sessions.redeem(t)).toBeUndefined();
    const late = sessions.oneTimeToken("the-key");
    clock.advance(101);
    expect(sessions.redeem(late)).toBeUndefined();
    expect(sessions.redeem("never-issued")).toBeUndefined();
  });

  it("gives every session its own random id and CSRF token", () => {
    const sessions = new DashboardSessions(fakeClock());
    const a = sessions.create("k");
    const b = sessions.create("k");
    expect(a.id).not.toBe(b.id);
    expect(a.csrf).not.toBe(b.csrf);
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
