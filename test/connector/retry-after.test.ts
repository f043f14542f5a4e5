import { describe, expect, it } from "vitest";
import { parseRetryAfter } from "../../src/connector/retry-after.js";

const NOW = Date.UTC(2026, 2, 10, 12, 0, 0);

describe("parseRetryAfter", () => {
  it.each([
    ["0", 0],
    ["7", 7_000],
    [" 120 ", 120_000],
    ["1.5", 1_500],
    ["0.001", 1],
  ])("reads delta seconds %j as %d ms", (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it("reads an HTTP date relative to the injected clock", () => {
    expect(parseRetryAfter("Tue, 10 Mar 2026 12:00:30 GMT", NOW)).toBe(30_000);
    expect(parseRetryAfter("Tue, 10 Mar 2026 12:00:30 GMT", NOW + 10_000)).toBe(20_000);
  });

  it("reads a date in the past as 0, never negative", () => {
    expect(parseRetryAfter("Tue, 10 Mar 2026 11:59:00 GMT", NOW)).toBe(0);
  });

  it.each([undefined, "", "   ", "-5", "soon", "12abc", "1e3", "Thu, 99 Foo 2026 99:99:99 GMT"])("gives undefined for %j", (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });

  it("takes the first of repeated headers", () => {
    expect(parseRetryAfter(["3", "9"], NOW)).toBe(3_000);
  });
});
