import { describe, expect, it } from "vitest";
import { ConversationLimiter, TenantLimiter, teamsWindows } from "../../src/emulator/limits/limiter.js";
import { Limits } from "../../src/emulator/limits/limits.js";
import { retryAfter } from "../../src/emulator/limits/retry-after.js";

describe("per-conversation sliding windows (pure)", () => {
  it("admits 7 sends in a second and refuses the 8th until the first leaves the window", () => {
    const l = new ConversationLimiter(teamsWindows.send);
    for (let i = 0; i < 7; i++) expect(l.take("c", 1000 + i)).toBe(0);
    expect(l.take("c", 1010)).toBe(1000 - 10);
    expect(l.take("c", 1999)).toBe(1);
    expect(l.take("c", 2000)).toBe(0);
  });

  it("applies 8 per 2 s after the per-second window opens again", () => {
    const l = new ConversationLimiter(teamsWindows.send);
    for (let i = 0; i < 7; i++) expect(l.take("c", i)).toBe(0);
    expect(l.take("c", 1000)).toBe(0); // 8th in 2 s
    expect(l.take("c", 1500)).toBe(500); // 9th would be 9 in 2 s: wait until t=0 + 2000
    expect(l.take("c", 2000)).toBe(0);
  });

  it("applies 60 per 30 s and 1800 per hour", () => {
    const l = new ConversationLimiter(teamsWindows.send);
    let t = 0;
    for (let i = 0; i < 60; i++) {
      expect(l.take(1, t)).toBe(0);
      t += 300; // 3.3/s: within the 1 s and 2 s limits
    }
    expect(l.take(1, t)).toBe(30_000 - t);
    const h = new ConversationLimiter(teamsWindows.send);
    for (let i = 0; i < 1800; i++) expect(h.take(2, i * 600)).toBe(0); // 1800 in 1080 s
    expect(h.take(2, 1800 * 600)).toBe(3_600_000 - 1800 * 600);
  });

  it("keeps conversations apart and forgets idle ones", () => {
    const l = new ConversationLimiter(teamsWindows.send);
    for (let i = 0; i < 7; i++) l.take("a", 0);
    expect(l.take("a", 0)).toBeGreaterThan(0);
    expect(l.take("b", 0)).toBe(0);
    expect(l.tracked).toBe(2);
    l.sweep(3_600_001);
    expect(l.tracked).toBe(0);
  });
});

describe("tenant limit and Retry-After", () => {
  it("admits `rps` per second per tenant", () => {
    const t = new TenantLimiter(2, 50, 1);
    for (let i = 0; i < 50; i++) {
      expect(t.wait(0, 100)).toBe(0);
      t.record(0, 100);
    }
    expect(t.wait(0, 100)).toBe(1000);
    expect(t.wait(1, 100)).toBe(0);
  });

  it("formats whole seconds at time scale 1 and fractional seconds when scaled", () => {
    expect(retryAfter(10, 1)).toEqual({ header: "1", ms: 1000 });
    expect(retryAfter(1001, 1)).toEqual({ header: "2", ms: 2000 });
    expect(retryAfter(153.2, 10)).toEqual({ header: "0.154", ms: 154 });
    expect(retryAfter(153.2, 1, "fractional").header).toBe("0.154");
    expect(retryAfter(153.2, 10, "integer").header).toBe("1");
  });

  it("counts a request before the Retry-After it was given as a violation, and one after as not", () => {
    const limits = new Limits(1, { enabled: true, timeScale: 1, tenantRps: 0, retryAfterFormat: "auto", violationGraceMs: 0 });
    for (let i = 0; i < 7; i++) expect(limits.admit(0, "c", "send", 0)).toBeUndefined();
    const refused = limits.admit(0, "c", "send", 10);
    expect(refused?.retry.header).toBe("1");
    expect(limits.isViolation(0, "c", 500)).toBe(true);
    expect(limits.isViolation(0, "other", 500)).toBe(false);
    expect(limits.isViolation(0, "c", 1010)).toBe(false);
  });

  it("scales windows by the time-scale factor", () => {
    const limits = new Limits(1, { enabled: true, timeScale: 10, tenantRps: 0, retryAfterFormat: "auto", violationGraceMs: 0 });
    for (let i = 0; i < 7; i++) limits.admit(0, "c", "send", 0);
    const refused = limits.admit(0, "c", "send", 0);
    expect(refused?.retry).toEqual({ header: "0.1", ms: 100 });
    expect(limits.admit(0, "c", "send", 100)).toBeUndefined();
  });
});
