import { mkdirSync, mkdtempSync, rmSync, watch, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type JobResult, leasedKey, type NewDelivery } from "../../src/delivery/model.js";
import { openStore } from "../../src/store/open.js";
import type { Store } from "../../src/store/ports.js";

/**
 * The dispatcher's batched write on SQLite creates no temporary file (issue 14). A multi-row
 * UPDATE with SQLite's default conflict action keeps a statement journal, spilled to a temporary
 * file past 64 KiB: at Teams' ceiling that was a file created, written and deleted for about every
 * batched write. SQLite's temporary directory (a process-wide setting) points at a directory of
 * this test, watched; a sentinel file written after the write orders the events, so every file
 * the write created has been reported once the sentinel has.
 */
const dir = mkdtempSync(join(tmpdir(), "herald-stmtjournal-"));
const temp = join(dir, "temp");
let store: Store;

beforeAll(async () => {
  mkdirSync(temp);
  const any = new Database(":memory:");
  any.pragma(`temp_store_directory = '${temp}'`);
  any.close();
  store = await openStore(`sqlite:${join(dir, "h.db")}`);
});
afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("a claim, and the marks and results of a batched write (hundreds of rows, five indexes) go without a temporary file", async () => {
  const d = store.deliveries;
  const t0 = Date.parse("2025-03-01T09:00:00.000Z");
  // Conversation ids spread over the activity index (as real ones are): the result update touches many pages.
  const rows: NewDelivery[] = Array.from({ length: 400 }, (_, i) => ({
    recipientKey: `conv:a:${(i * 7919) % 400}`,
    kind: "conversation",
    tenantId: "t1",
    conversationId: `a:${((i * 7919) % 400).toString(36)}:${"x".repeat(40)}`,
    serviceUrl: "https://smba.example/",
    status: "pending",
  }));
  const { notification } = await d.createNotification(
    {
      id: "n_stmtjournal",
      createdBy: "k",
      requestHash: "h",
      audience: { conversations: rows.map((r) => r.conversationId ?? "") },
      message: { text: "x" },
      createdAt: t0,
      expansionDone: true,
    },
    rows,
  );
  await d.heartbeat("w1", t0);

  const created: string[] = [];
  let sentinelSeen: () => void = () => {};
  const sentinel = new Promise<void>((resolve) => {
    sentinelSeen = resolve;
  });
  const watcher = watch(temp, (_event, name) => {
    if (name === "sentinel") sentinelSeen();
    else if (name) created.push(name);
  });
  try {
    const jobs = await d.claim("w1", notification.id, "t1", t0 + 1, 400);
    expect(jobs).toHaveLength(400);
    const keys = jobs.map(leasedKey);
    const marked = await d.writeBatch("w1", { marks: keys.slice(0, 200), results: [] }, t0 + 2);
    expect(marked.marked).toHaveLength(200);
    const results: JobResult[] = keys
      .slice(0, 200)
      .map((k, i) => ({ ...k, kind: "sent", attempts: 1, activityId: `act-${i}-${"y".repeat(30)}`, version: 1 }));
    const out = await d.writeBatch("w1", { marks: keys.slice(200), results }, t0 + 3);
    expect(out.marked).toHaveLength(200);
    writeFileSync(join(temp, "sentinel"), "");
    await sentinel;
  } finally {
    watcher.close();
  }
  expect(created).toEqual([]);
  const n = await d.getNotification(notification.id);
  expect(n?.counts.sent).toBe(200);
});
