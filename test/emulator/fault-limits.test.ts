import { expect, it } from "vitest";
import { checkFaults, Faults } from "../../src/emulator/faults/faults.js";

it("count ends the faults after that many; method limits them to one HTTP method", () => {
  const f = new Faults(1);
  f.set({ status429: 1, count: 2, method: "GET" });
  expect(f.draw(0, "POST")).toBeUndefined();
  expect(f.draw(0, "GET")).toBe("status429");
  expect(f.draw(0, "get")).toBe("status429");
  expect(f.draw(0, "GET")).toBeUndefined();
  // New settings start a new count.
  f.set({ deliver502: 1, count: 1 });
  expect(f.draw(0, "POST")).toBe("deliver502");
  expect(f.draw(0, "POST")).toBeUndefined();
});

it("checkFaults refuses a count below 1 and a negative Retry-After", () => {
  expect(checkFaults({ status429: 1, count: 0 })).toMatch(/count/);
  expect(checkFaults({ status429: 1, retryAfterSeconds: -1 })).toMatch(/retryAfterSeconds/);
  expect(checkFaults({ deliver502: 0.5, deliver504: 0.5, count: 3 })).toBeUndefined();
});
