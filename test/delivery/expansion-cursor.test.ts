import { afterAll, beforeAll, expect, it } from "vitest";
import { type ExpansionDeps, runExpansion } from "../../src/delivery/audience/stream.js";
import { defaultDeliveryConfig } from "../../src/delivery/config.js";
import type { Notification } from "../../src/delivery/model.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * The `all` audience walks the stored 1:1 chats in conversation-id order since
 * 022_personal_id_order; before, in insertion order (`seq`), and its cursor was a seq. A crash
 * leaves the cursor of the last page written in the notification; the next process resumes there.
 * - an old cursor (`{kind: "all", after: <seq>}`) must not be read as an id: the walk starts again
 *   from the first chat, and the rows already written are skipped by their recipient keys;
 * - a new cursor resumes after its id, reading no chat before it again.
 * Either way every chat gets exactly one row. Real stores, the expansion's own code; Teams is not
 * asked anything on this path.
 */
forEachStore((stores) => {
  let store: Store;
  const t0 = Date.parse("2026-12-01T09:00:00.000Z");
  const tenantId = "tenant-cursor";
  // Insertion order is the reverse of id order: an old cursor's seq names a prefix of the
  // insertion order, a suffix in id order.
  const ids = Array.from({ length: 30 }, (_, i) => `a:cursor-${String(29 - i).padStart(2, "0")}`);
  let n = 0;

  beforeAll(async () => {
    store = await stores.open();
    for (const [i, id] of ids.entries()) {
      await store.conversations.upsert({
        id,
        kind: "personal",
        tenantId,
        serviceUrl: "http://127.0.0.1:1/",
        channelId: "msteams",
        bot: { id: "28:bot" },
        user: { id: `29:cursor-${i}`, name: `User ${i}` },
        at: new Date(t0 + i * 1000).toISOString(),
      });
    }
  });
  afterAll(() => stores.cleanup());

  /** A notification to every chat of the tenant whose expansion `w` owns, with `rows` of `ids` already written and `cursor` stored. */
  async function crashed(written: readonly string[], cursor: unknown): Promise<Notification> {
    n++;
    const d = store.deliveries;
    const { notification } = await d.createNotification(
      {
        id: `n_cursor${n}`,
        createdBy: "k",
        requestHash: "h",
        audience: { all: true, tenantId },
        message: { text: "x" },
        createdAt: t0,
        expansionDone: false,
      },
      [],
    );
    expect(await d.claimExpansion(notification.id, "w", t0)).toEqual({ cursor: undefined });
    const rows = written.map((id) => ({
      recipientKey: `conv:${id}`,
      kind: "conversation" as const,
      tenantId,
      conversationId: id,
      serviceUrl: "http://127.0.0.1:1/",
      status: "pending" as const,
    }));
    expect(await d.appendDeliveries(notification.id, "w", rows, { cursor, done: false }, t0)).toMatchObject({ accepted: true });
    return notification;
  }

  async function resume(x: Notification, pagesRead: string[][]): Promise<string[]> {
    const d = store.deliveries;
    // The owner's claim again (a takeover goes through crash recovery, which clears the owner first).
    const claimed = await d.claimExpansion(x.id, "w", t0 + 10 * 60_000);
    expect(claimed).toBeDefined();
    const directory = new Proxy(store.recipients, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== "personalPage" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: Parameters<typeof target.personalPage>) => {
          const page = await target.personalPage(...args);
          pagesRead.push(page.items.map((r) => r.conversationId));
          return page;
        };
      },
    });
    const deps = {
      store: d,
      directory,
      config: { ...defaultDeliveryConfig, expansionPage: 7 },
      clock: { now: () => t0 + 10 * 60_000 },
      owner: "w",
      announce: () => {},
      signal: new AbortController().signal,
    } as unknown as ExpansionDeps;
    await runExpansion(x, claimed?.cursor, deps);
    const all = await d.listDeliveries(x.id, {}, { limit: 100 });
    expect(all.nextCursor ?? null).toBeNull();
    return all.items.map((r) => r.conversationId ?? "");
  }

  const sorted = [...ids].sort();

  it("a cursor written before 022 (a seq) starts again from the first chat: each chat once", async () => {
    // The old walk wrote the first 10 chats by insertion, and stored the 10th's seq (10 in this fresh table).
    const written = ids.slice(0, 10);
    const x = await crashed(written, { kind: "all", after: 10 });
    const pages: string[][] = [];
    const rows = await resume(x, pages);
    expect(pages.flat(), "the whole tenant was read again, in id order").toEqual(sorted);
    expect([...rows].sort()).toEqual(sorted);
    expect((await store.deliveries.getNotification(x.id))!).toMatchObject({ total: 30, expansionDone: true, counts: { pending: 30 } });
  });

  it("a cursor of this version resumes after its id: nothing before it is read again, each chat once", async () => {
    const written = sorted.slice(0, 14);
    const x = await crashed(written, { kind: "all", afterId: written.at(-1) });
    const pages: string[][] = [];
    const rows = await resume(x, pages);
    expect(pages.flat()).toEqual(sorted.slice(14));
    expect([...rows].sort()).toEqual(sorted);
    expect((await store.deliveries.getNotification(x.id))!).toMatchObject({ total: 30, expansionDone: true, counts: { pending: 30 } });
  });
});
