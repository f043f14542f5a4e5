import { afterAll, beforeAll, expect, it } from "vitest";
import { type ExpansionDeps, runExpansion } from "../../src/delivery/audience/stream.js";
import { defaultDeliveryConfig } from "../../src/delivery/config.js";
import type { Notification } from "../../src/delivery/model.js";
import type { RecipientDirectory } from "../../src/delivery/store/port.js";
import type { Store } from "../../src/store/ports.js";
import { allDeliveries, forEachStore } from "../helpers/stores.js";

/**
 * The `all` audience walks the chats stored when it began in conversation-id order, then those
 * stored since in insertion order (022_personal_id_order); before, everything in insertion order,
 * with a seq as its cursor. A crash leaves the cursor of the last page written in the
 * notification, and the next process resumes there:
 * - an old cursor (`{kind: "all", after: <seq>}`) is the second walk's: it goes on by seq, and a
 *   seq is never read as an id;
 * - a cursor of the first walk resumes after its id, reading no chat before it again;
 * - a chat stored during the first walk is read by the second whatever its id (with
 *   includeUninstalled the directory leaves out users with a chat, so a chat the walks missed
 *   would leave its user with nothing).
 * Every chat gets exactly one row. Real stores, the expansion's own code; Teams is not asked.
 */
forEachStore((stores) => {
  let store: Store;
  const t0 = Date.parse("2026-12-01T09:00:00.000Z");
  const tenantId = "tenant-cursor";
  // Insertion order is the reverse of id order; some ids sort before digits ("!", "0"), so a seq
  // such as "10" read as an id would skip them.
  const ids = Array.from({ length: 30 }, (_, i) => (i >= 25 ? `!cursor-${29 - i}` : i >= 20 ? `0cursor-${29 - i}` : `a:cursor-${29 - i}`));
  const chat = (i: number, id: string, tenant = tenantId) => ({
    id,
    kind: "personal" as const,
    tenantId: tenant,
    serviceUrl: "http://127.0.0.1:1/",
    channelId: "msteams",
    bot: { id: "28:bot" },
    user: { id: `29:${tenant}-${i}`, name: `User ${i}`, aadObjectId: `aad-${tenant}-${i}` },
    at: new Date(t0 + i * 1000).toISOString(),
  });
  let n = 0;

  beforeAll(async () => {
    store = await stores.open();
    for (const [i, id] of ids.entries()) await store.conversations.upsert(chat(i, id));
  });
  afterAll(() => stores.cleanup());

  /** A notification to `audience` whose expansion `w` owns, with the chats `written` already written and `cursor` stored. */
  async function crashed(written: readonly string[], cursor: unknown, audience: Notification["audience"] = { all: true, tenantId }) {
    n++;
    const d = store.deliveries;
    const { notification } = await d.createNotification(
      { id: `n_cursor${n}`, createdBy: "k", requestHash: "h", audience, message: { text: "x" }, createdAt: t0, expansionDone: false },
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
    if (cursor !== undefined)
      expect(await d.appendDeliveries(notification.id, "w", rows, { cursor, done: false }, t0)).toMatchObject({ accepted: true });
    return notification;
  }

  /**
   * The directory, noting each page it answers ("id" or "seq" walk) and running `afterPage(k)` after
   * the k-th. A window of the walk by id (whose rows the store writes itself) is noted as the page
   * `personalPageById` reads for the same arguments, after checking that they are the same chats.
   */
  function watched(pages: [string, string[]][], afterPage?: (k: number) => Promise<void>): RecipientDirectory {
    const r = store.recipients;
    return new Proxy(r, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== "function") return value;
        if (key !== "personalPage" && key !== "personalPageById" && key !== "personalWindow") return value.bind(target);
        return async (...args: unknown[]) => {
          const answer = await value.apply(target, args);
          let ids: string[];
          if (key === "personalWindow") {
            const w = answer as Awaited<ReturnType<RecipientDirectory["personalWindow"]>>;
            const page = await target.personalPageById(...(args as Parameters<RecipientDirectory["personalPageById"]>));
            expect({ count: w.count, last: w.window?.last }).toEqual({ count: page.items.length, last: page.last });
            ids = page.items.map((x) => x.conversationId);
          } else ids = (answer as Awaited<ReturnType<RecipientDirectory["personalPage"]>>).items.map((x) => x.conversationId);
          pages.push([key === "personalPage" ? "seq" : "id", ids]);
          await afterPage?.(pages.length);
          return answer;
        };
      },
    });
  }

  async function resume(x: Notification, directory: RecipientDirectory, extra: Partial<ExpansionDeps> = {}): Promise<string[]> {
    const d = store.deliveries;
    // The owner's claim again (a takeover goes through crash recovery, which clears the owner first).
    const claimed = await d.claimExpansion(x.id, "w", t0 + 10 * 60_000);
    expect(claimed).toBeDefined();
    const deps = {
      store: d,
      directory,
      config: { ...defaultDeliveryConfig, expansionPage: 7 },
      clock: { now: () => t0 + 10 * 60_000 },
      owner: "w",
      announce: () => {},
      signal: new AbortController().signal,
      logger: { warn() {}, info() {}, debug() {}, error() {} },
      ...extra,
    } as unknown as ExpansionDeps;
    await runExpansion(x, claimed?.cursor, deps);
    expect((await d.getNotification(x.id))?.expansionDone).toBe(true);
    return (await allDeliveries(store, x.id)).map((r) => r.conversationId ?? "");
  }

  /** Graph's directory of `tenant`: users 0..count-1 (Entra ids `aad-<tenant>-<i>`), in one page. */
  function directoryOf(tenant: string, count: number) {
    const users = Array.from({ length: count }, (_, i) => ({ id: `aad-${tenant}-${i}`, displayName: `User ${i}` }));
    return {
      usersPath: () => "/users",
      userPage: async () => ({ users, next: undefined }),
      findUser: async () => undefined,
      groupMembersPath: () => "",
    };
  }

  const sorted = [...ids].sort();

  it("a cursor written before 022 (a seq) goes on by seq from there: each chat once", async () => {
    // The old walk wrote the first 10 chats by insertion (seq 1..10 in this fresh table) and stored seq 10.
    const x = await crashed(ids.slice(0, 10), { kind: "all", after: 10 });
    const pages: [string, string[]][] = [];
    const rows = await resume(x, watched(pages));
    expect(pages.every(([walk]) => walk === "seq")).toBe(true);
    expect(
      pages.flatMap(([, p]) => p),
      "the chats after seq 10, in insertion order",
    ).toEqual(ids.slice(10));
    expect([...rows].sort()).toEqual(sorted);
    expect(await store.deliveries.getNotification(x.id)).toMatchObject({ total: 30, counts: { pending: 30 } });
  });

  it("a cursor of the walk by id resumes after its id, then reads the chats stored since: each chat once", async () => {
    const written = sorted.slice(0, 14);
    const upTo = await store.recipients.lastSeq();
    const x = await crashed(written, { kind: "all", upTo, afterId: written.at(-1) });
    const pages: [string, string[]][] = [];
    const rows = await resume(x, watched(pages));
    expect(pages.filter(([walk]) => walk === "id").flatMap(([, p]) => p)).toEqual(sorted.slice(14));
    // The walk by seq starts 1,000 seqs before upTo (stream.ts, seqOverlap): here, from the first.
    expect(pages.filter(([walk]) => walk === "seq").flatMap(([, p]) => p)).toEqual(ids);
    expect([...rows].sort()).toEqual(sorted);
    expect(await store.deliveries.getNotification(x.id)).toMatchObject({ total: 30, counts: { pending: 30 } });
  });

  it("a chat stored during the walk by id, its id before the walk's, is read by the walk by seq", async () => {
    const x = await crashed([], undefined);
    const pages: [string, string[]][] = [];
    const extra = { tenant: "tenant-cursor", id: "!!cursor-new" };
    const rows = await resume(
      x,
      watched(pages, async (k) => {
        if (k === 2) await store.conversations.upsert(chat(99, extra.id));
      }),
    );
    expect(pages.filter(([walk]) => walk === "id").flatMap(([, p]) => p)).toEqual(sorted);
    expect(pages.filter(([walk]) => walk === "seq").flatMap(([, p]) => p)).toEqual([...ids, extra.id]);
    expect([...rows].sort()).toEqual([extra.id, ...sorted].sort());
  });

  it("with includeUninstalled: a user whose chat is installed again after the walks passed it gets one row", async () => {
    const tenant = "tenant-again";
    for (let i = 0; i < 6; i++) await store.conversations.upsert(chat(i, `a:again-${i}`, tenant));
    // User 0's chat: uninstalled before the broadcast, installed again (the same chat, id and seq)
    // once the stored chats have been walked, before the directory is read.
    await store.conversations.upsert({ ...chat(0, "a:again-0", tenant), status: "uninstalled" });
    const x = await crashed([], undefined, { all: true, tenantId: tenant, includeUninstalled: true });
    const graph = directoryOf(tenant, 6);
    const pages: [string, string[]][] = [];
    const directory = watched(pages, async (k) => {
      if (k === 2) await store.conversations.upsert({ ...chat(0, "a:again-0", tenant), status: "active" });
    });
    await resume(x, directory, { graph, config: { ...defaultDeliveryConfig, expansionPage: 100 } } as Partial<ExpansionDeps>);
    expect(pages.flatMap(([, p]) => p)).not.toContain("a:again-0");
    const rows = await allDeliveries(store, x.id);
    expect(rows.filter((r) => r.conversationId === "a:again-0")).toHaveLength(1);
    expect(rows).toHaveLength(6);
  });

  it("with includeUninstalled: a user whose chat was stored during the walk gets one row, not none", async () => {
    const tenant = "tenant-mid";
    for (let i = 0; i < 10; i++) await store.conversations.upsert(chat(i, `a:mid-${String(i).padStart(2, "0")}`, tenant));
    const x = await crashed([], undefined, { all: true, tenantId: tenant, includeUninstalled: true });
    const pages: [string, string[]][] = [];
    // The directory holds the 10 users with a chat and user 10, who installs (a chat "a:mid-00x",
    // before the walk's position) after the walk's second page.
    const graph = directoryOf(tenant, 11);
    const directory = watched(pages, async (k) => {
      if (k === 2) await store.conversations.upsert(chat(10, "a:mid-00x", tenant));
    });
    await resume(x, directory, { graph, config: { ...defaultDeliveryConfig, expansionPage: 3 } } as Partial<ExpansionDeps>);
    const rows = await allDeliveries(store, x.id);
    const forUser10 = rows.filter((r) => r.conversationId === "a:mid-00x" || r.recipientKey.includes(`aad-${tenant}-10`));
    expect(forUser10).toHaveLength(1);
    expect(rows).toHaveLength(11);
  });
});
