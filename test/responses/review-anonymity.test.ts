import Database from "better-sqlite3";
import { beforeAll, expect, it } from "vitest";
import type { Store } from "../../src/store/ports.js";
import type { AnswerInput, ResponseStore } from "../../src/store/responses.js";
import { forEachStore, type StoreFactory, withPostgres } from "../helpers/stores.js";

/**
 * An anonymous poll must not let anyone with the database (or a backup, or a support dump) link a
 * person to their choice: `response_voters` (who answered) and `responses` (what was answered) may
 * share no per-answer value: no delivery (a 1:1 delivery names its recipient), no exact time.
 */
async function rows(stores: StoreFactory, table: string, notificationId: string): Promise<Record<string, unknown>[]> {
  if (stores.name === "sqlite") {
    const db = new Database(stores.databaseUrl.slice("sqlite:".length), { readonly: true });
    try {
      return db.prepare(`select * from ${table} where notification_id = ?`).all(notificationId) as Record<string, unknown>[];
    } finally {
      db.close();
    }
  }
  const schema = (stores.options as { schema: string }).schema;
  const found = await withPostgres(
    async (c) => (await c.query(`select * from "${schema}".${table} where notification_id = $1`, [notificationId])).rows,
  );
  // PostgreSQL keeps times as timestamptz (pg reads a Date): compare them as the store's ISO text.
  return found.map((r: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])),
  );
}

forEachStore((stores) => {
  let store: Store;
  let responses: ResponseStore;
  beforeAll(async () => {
    store = await stores.open();
    if (!store.responses) throw new Error("store without responses");
    responses = store.responses;
  });

  it("anonymous answers: voters and answers share no delivery and no exact time (cannot be joined)", async () => {
    const base: Omit<AnswerInput, "userId" | "options" | "at" | "deliverySeq"> = {
      notificationId: "n-anon",
      tenantId: "t1",
      kind: "poll",
      anonymous: true,
      optionCount: 3,
    };
    await responses.answer({ ...base, userId: "29:alice", deliverySeq: 1, options: [0], at: "2030-01-01T10:00:01.123Z" });
    await responses.answer({ ...base, userId: "29:bob", deliverySeq: 2, options: [2], at: "2030-01-01T10:17:42.456Z" });
    const answers = await rows(stores, "responses", "n-anon");
    const voters = await rows(stores, "response_voters", "n-anon");
    expect(answers).toHaveLength(2);
    expect(voters).toHaveLength(2);
    expect(answers.map((a) => a["delivery_id"])).toEqual([null, null]);
    expect(answers.every((a) => a["user_id"] === null && a["user_name"] === null)).toBe(true);
    // No voter's time picks out one answer.
    for (const v of voters) expect(answers.filter((a) => a["created_at"] === v["created_at"]).length).not.toBe(1);
    expect(new Set(answers.map((a) => a["created_at"])).size).toBe(1);
    expect(new Set(voters.map((v) => v["created_at"])).size).toBe(1);
    // Totals still right; a second answer is still refused.
    expect(await responses.totals("n-anon", 3)).toEqual({ respondents: 2, options: [1, 0, 1] });
    const again = await responses.answer({ ...base, userId: "29:alice", deliverySeq: 1, options: [1], at: "2030-01-01T10:30:00.000Z" });
    expect(again.stored).toBe(false);
  });

  it("named answers keep their delivery and exact time", async () => {
    await responses.answer({
      notificationId: "n-named",
      tenantId: "t1",
      kind: "poll",
      anonymous: false,
      optionCount: 2,
      userId: "29:carol",
      deliverySeq: 7,
      options: [1],
      at: "2030-01-01T10:00:01.123Z",
    });
    const [a] = await rows(stores, "responses", "n-named");
    expect(a).toMatchObject({ delivery_id: "7", user_id: "29:carol", created_at: "2030-01-01T10:00:01.123Z" });
  });
});
