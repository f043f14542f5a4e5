import { afterEach, expect, it } from "vitest";
import type { Notification } from "../../src/delivery/model.js";
import { forEachStore } from "../helpers/stores.js";
import { type BatchHarness, startBatchHarness } from "./harness.js";

const admin = { keyId: "test-admin" } as const;
const finished = (n: Notification): boolean => !n.active;

/**
 * A batch notification whose batchable rows of one tenant wait for that tenant's pause (403
 * BotDisabledByAdmin) must not hold back its rows a batch cannot name (a channel conversation:
 * sent one by one by the dispatcher) in another tenant. On main the batch path kept the whole
 * notification (the dispatcher claims nothing of it) while any row waited for the pause, so the
 * other tenant's channel got nothing until the resume or HERALD_TENANT_DISABLED_TIMEOUT.
 */
forEachStore((stores) => {
  let h: BatchHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it("rows a batch cannot name go out one by one while another tenant's batch rows wait for its pause", { timeout: 60_000 }, async () => {
    const store = await stores.open();
    const USERS = 20;
    const hh = await startBatchHarness(store, { org: { users: USERS, tenants: 2, blockedShare: 0, uninstalledShare: 0 } });
    h = hh;
    await hh.seedUsers(Array.from({ length: USERS }, (_, i) => i));
    const org = hh.emulator.org;
    const [a, b] = org.tenants;
    if (!a || !b) throw new Error("the org has two tenants");
    const teamIndex = org.teams.findIndex((t) => t.tenantIndex === 1);
    const team = org.teams[teamIndex];
    if (!team) throw new Error("a team in tenant B");
    await hh.seedTeam(teamIndex);
    const engine = await hh.engine();
    const r = await fetch(`${hh.emulator.url}/_emulator/tenants/${encodeURIComponent(a.id)}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ botDisabled: true }),
    });
    expect(r.status).toBe(200);
    const usersA = Array.from({ length: a.userCount }, (_, i) => a.userStart + i);
    const { notification } = await engine.submit(
      {
        audience: { conversations: [...usersA.map((i) => org.personalConversationId(i)), team.id] },
        message: { text: "mixed, tenant A disabled" },
        delivery: { mode: "batch" },
      },
      admin,
    );
    // Tenant B's channel is not paused: it gets its copy, one by one, while A's rows wait.
    const n = await hh.waitFor(engine, notification.id, (x) => x.counts.sent === 1, 15_000);
    expect(n.counts).toMatchObject({ sent: 1, pending: usersA.length, failed: 0 });
    expect(hh.emulator.context.counts.get(team.id).received).toBe(1);
    const rows = await hh.rows(engine, notification.id);
    expect(rows.find((x) => x.conversationId === team.id)?.activityId).toBeDefined();
    for (const x of rows.filter((y) => y.tenantId === a.id)) expect(x).toMatchObject({ status: "pending", attempts: 0 });

    // After the resume, A's rows go out as a batch, once each.
    await fetch(`${hh.emulator.url}/_emulator/tenants/${encodeURIComponent(a.id)}`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ botDisabled: false }),
    });
    await engine.resumeTenant(a.id);
    const done = await hh.waitFor(engine, notification.id, finished);
    expect(done.counts).toMatchObject({ sent: usersA.length + 1, failed: 0, unknown: 0 });
    expect(usersA.map((i) => hh.emulator.context.counts.get(i).received)).toEqual(usersA.map(() => 1));
    expect(hh.emulator.context.counts.get(team.id).received).toBe(1);
  });
});
