import { afterAll, beforeAll, expect, it } from "vitest";
import type { RecipientDirectory } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";
import { admin, type Harness, request, startHarness } from "./helpers/harness.js";

/**
 * A broadcast's expansion must leave the event loop to everything else between pages. SQLite
 * answers synchronously, so a loop of awaited store calls never yields: a 1,000,000-chat
 * broadcast kept Herald from answering any HTTP request (even /healthz) for minutes. Here a
 * timer set just after the notification is accepted must run before the expansion has read
 * all its pages.
 */
forEachStore((stores) => {
  const users = 600;
  const page = 40;
  let h: Harness;
  let pagesRead = 0;

  beforeAll(async () => {
    const store = await stores.open();
    const counted: RecipientDirectory = new Proxy(store.recipients, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== "function") return value;
        // Both walks of the stored chats: by id (its windows, personalWindow, or its pages,
        // personalPageById), then by seq (personalPage).
        if (key !== "personalPage" && key !== "personalPageById" && key !== "personalWindow") return value.bind(target);
        return (...args: unknown[]) => {
          pagesRead++;
          return value.apply(target, args);
        };
      },
    });
    const wrapped = new Proxy(store, { get: (t, k, r) => (k === "recipients" ? counted : Reflect.get(t, k, r)) }) as Store;
    h = await startHarness(wrapped, {
      emulator: { org: { tenants: 1, users, teams: 0 } },
      config: { expansionPage: page },
    });
    await h.seedUsers(Array.from({ length: users }, (_, i) => i));
  }, 120_000);
  afterAll(() => h?.close());

  it("a timer set when the broadcast is accepted runs before the expansion has read every page", async () => {
    const pages = Math.ceil(users / page);
    const { notification } = await h.engine.submit(request({ all: true }), admin);
    const atTimer = await new Promise<number>((resolve) => setTimeout(() => resolve(pagesRead), 0));
    expect(atTimer, `pages read when the timer ran (of ${pages})`).toBeLessThan(pages);
    const done = await h.waitFor(notification.id, (n) => n.status === "completed", 60_000);
    expect(done.counts.sent).toBe(users);
  }, 90_000);
});
