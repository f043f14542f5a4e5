import { afterAll, beforeAll, expect, it } from "vitest";
import { call, eventually, type Stack, startStack } from "../helpers/stack.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * Installing for a whole tenant makes one welcome per user at once: they must go out within
 * Teams' limits (the emulator's, time-scaled 10×), every user welcomed, and no request early.
 */
const stores = createStoreFactory("sqlite");
let stack: Stack;
const USERS = 300;

beforeAll(async () => {
  stack = await startStack(await stores.open(), {
    emulator: {
      org: { tenants: 1, users: USERS, teams: 1, blockedShare: 0, uninstalledShare: 0 },
      limits: true,
      timeScale: 10,
      tenantRps: 10,
      violationGraceMs: 100,
    },
    env: { HERALD_TENANT_RPS: "10" },
    delivery: { timeScale: 10 },
    // Scheduling jitter on a loaded 2-core machine reaches tens of ms; at 10× time the windows are 100 ms.
    limiterMarginMs: 40,
  });
});
afterAll(async () => {
  await stack?.close();
  await stores.cleanup();
});

it("welcomes every user of a tenant-wide install within the tenant limit, without a single early request", async () => {
  const control = (method: string, path: string, body?: unknown) => call(method, `${stack.emulator.url}/_emulator${path}`, body);
  await control("POST", "/install", { all: true, wait: true });
  const stats = await eventually(
    `${USERS} welcomes delivered`,
    async () => {
      const s = (await control("GET", "/stats")).json["global"] as Record<string, number>;
      return s["sends"] === USERS ? s : undefined;
    },
    60_000,
  );
  // Emulator and Herald share this process's event loop: a stall can bunch requests that left
  // apart, so a rare 429 is tolerated; what is not is a request sent after a 429 arrived and
  // before its Retry-After elapsed (requests already in flight, 100 ms, are forgiven).
  expect(stats["violations"]).toBe(0);
  expect(stats["throttled"]).toBeLessThanOrEqual(USERS * 0.03);
  const stored = await stack.herald.store.conversations.list({ kind: "personal" }, { limit: 1000 });
  expect(stored.items).toHaveLength(USERS);
});
