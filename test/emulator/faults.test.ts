import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { connector, control, enc, start, token } from "./helpers.js";

let emu: EmulatorHandle;
let api: ReturnType<typeof connector>;
let tenantId: string;

beforeAll(async () => {
  emu = await start({
    limits: false,
    seed: 3,
    orgData: {
      tenants: [
        {
          name: "Contoso",
          users: [
            { name: "Ada Lovelace" },
            { name: "Blocked Bob", blocked: true },
            { name: "Gone Gina", uninstalled: true },
            { name: "Gone Greg", uninstalled: true },
            { name: "Carl Active" },
          ],
          teams: [{ name: "Engineering", channels: ["Ops"] }],
        },
        { name: "Fabrikam", users: [{ name: "Fay Fabrikam" }] },
      ],
    },
  });
  api = connector(emu, await token(emu));
  tenantId = emu.org.tenants[0]!.id;
});
afterAll(() => emu.close());

const msg = { type: "message", text: "hello" };
const conv = (user: number) => emu.org.personalConversationId(user);

describe("users who blocked or removed the bot", () => {
  it("answers 403 with the MessageWritesBlocked body exactly as Teams nests it", async () => {
    const r = await api.post(`v3/conversations/${conv(1)}/activities`, msg);
    expect(r.status).toBe(403);
    expect(r.text).toBe(
      '{"errorCode":209,"message":"{\\r\\n  \\"subCode\\": \\"MessageWritesBlocked\\",\\r\\n  \\"details\\": \\"Thread is blocked from message writes.\\",\\r\\n  \\"errorCode\\": null,\\r\\n  \\"errorSubCode\\": null\\r\\n}"}',
    );
    expect(r.text.length).toBe(196); // Content-Length of Microsoft's documented example
    expect(JSON.parse(r.json.message).subCode).toBe("MessageWritesBlocked");
  });

  it("still creates the 1:1 chat of a user who blocked the bot", async () => {
    const r = await api.post("v3/conversations", { members: [{ id: emu.org.user(1).id }], tenantId });
    expect(r.status).toBe(201);
  });

  it("answers 403 BotNotInConversationRoster (or 404 ConversationNotFound) for uninstalled users", async () => {
    const r = await api.post(`v3/conversations/${conv(2)}/activities`, msg);
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe("BotNotInConversationRoster");
    const create = await api.post("v3/conversations", { members: [{ id: emu.org.user(2).id }], tenantId });
    expect(create.status).toBe(403);
    expect(create.json.error.code).toBe("ForbiddenOperationException");
    const other = await start({ uninstalledAnswer: "notFound", limits: false, org: { users: 4, uninstalledShare: 1 } });
    try {
      const nf = await connector(other, await token(other)).post(`v3/conversations/${other.org.personalConversationId(0)}/activities`, msg);
      expect(nf.status).toBe(404);
      expect(nf.json.error.code).toBe("ConversationNotFound");
      expect((await control(other).get("/stats")).json.global.uninstalled).toBe(1);
    } finally {
      await other.close();
    }
  });

  it("switches a user's state at run time", async () => {
    expect((await control(emu).patch(`/users/${enc(emu.org.user(4).id)}`, { blocked: true })).json.blocked).toBe(true);
    expect((await api.post(`v3/conversations/${conv(4)}/activities`, msg)).status).toBe(403);
    await control(emu).patch("/users/4", { blocked: false });
    expect((await api.post(`v3/conversations/${conv(4)}/activities`, msg)).status).toBe(201);
  });
});

describe("tenant admin", () => {
  it("answers 403 BotDisabledByAdmin for every conversation of a disabled tenant until re-enabled", async () => {
    await control(emu).patch(`/tenants/${tenantId}`, { botDisabled: true });
    const r = await api.post(`v3/conversations/${conv(0)}/activities`, msg);
    expect(r.status).toBe(403);
    expect(r.json.error).toEqual({ code: "BotDisabledByAdmin", message: "The tenant admin disabled this bot" });
    const otherTenant = await api.post(`v3/conversations/${conv(5)}/activities`, msg);
    expect(otherTenant.status).toBe(201);
    await control(emu).patch(`/tenants/${tenantId}`, { botDisabled: false });
    expect((await api.post(`v3/conversations/${conv(0)}/activities`, msg)).status).toBe(201);
  });
});

describe("injected faults", () => {
  for (const [kind, status, code] of [
    ["status412", 412, "PreconditionFailed"],
    ["status502", 502, "ServiceError"],
    ["status503", 503, "ServiceUnavailable"],
    ["status504", 504, "GatewayTimeout"],
  ] as const) {
    it(`answers ${status} while ${kind} is on, and normally once it is off`, async () => {
      const set = await control(emu).put("/faults", { [kind]: 1 });
      expect(set.status).toBe(200);
      const r = await api.post(`v3/conversations/${conv(0)}/activities`, msg);
      expect(r.status).toBe(status);
      expect(r.json.error.code).toBe(code);
      await control(emu).del("/faults");
      expect((await api.post(`v3/conversations/${conv(0)}/activities`, msg)).status).toBe(201);
    });
  }

  it("resets the socket", async () => {
    await control(emu).put("/faults", { reset: 1 });
    await expect(api.post(`v3/conversations/${conv(0)}/activities`, msg)).rejects.toThrow();
    await control(emu).del("/faults");
    expect((await api.post(`v3/conversations/${conv(0)}/activities`, msg)).status).toBe(201);
  });

  it("deliverReset: stores the message, then destroys the socket without an answer", async () => {
    await control(emu).put("/faults", { deliverReset: 1 });
    const before = emu.context.counts.get(0).received;
    await expect(api.post(`v3/conversations/${conv(0)}/activities`, msg)).rejects.toThrow();
    expect(emu.context.counts.get(0).received).toBe(before + 1);
    // A channel post through create conversation: the thread exists although no answer came.
    const channel = emu.org.teams[0]!.id;
    const threads = emu.context.counts.get(channel).received;
    await expect(
      api.post("v3/conversations", { isGroup: true, channelData: { channel: { id: channel } }, activity: msg }),
    ).rejects.toThrow();
    expect(emu.context.counts.get(channel).received).toBe(threads + 1);
    // Refused anyway (blocked): answered normally, nothing to lose.
    expect((await api.post(`v3/conversations/${conv(1)}/activities`, msg)).status).toBe(403);
    expect((await control(emu).get("/stats")).json.global.faultDeliverReset).toBeGreaterThanOrEqual(2);
    await control(emu).del("/faults");
    expect((await api.post(`v3/conversations/${conv(0)}/activities`, msg)).status).toBe(201);
  });

  it("deliverLate: stores the message at once, answers after deliverLateMs", async () => {
    await control(emu).put("/faults", { deliverLate: 1, deliverLateMs: 400 });
    const before = emu.context.counts.get(0).received;
    const t0 = Date.now();
    const pending = api.post(`v3/conversations/${conv(0)}/activities`, msg);
    const deadline = Date.now() + 5_000;
    while (emu.context.counts.get(0).received === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(emu.context.counts.get(0).received).toBe(before + 1);
    expect(Date.now() - t0).toBeLessThan(390);
    const r = await pending;
    expect(r.status).toBe(201);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
    await control(emu).del("/faults");
  });

  it("answers slowly, then normally", async () => {
    await control(emu).put("/faults", { slow: 1, slowMs: 300 });
    const t0 = Date.now();
    const r = await api.post(`v3/conversations/${conv(0)}/activities`, msg);
    expect(r.status).toBe(201);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await control(emu).del("/faults");
  });

  it("limits faults to one tenant, draws them at the configured rate, and counts them by kind", async () => {
    await control(emu).post("/stats/reset", {});
    await control(emu).put("/faults", { status503: 0.5, tenantId: emu.org.tenants[1]!.id });
    expect((await api.post(`v3/conversations/${conv(0)}/activities`, msg)).status).toBe(201);
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++) statuses.push((await api.post(`v3/conversations/${conv(5)}/activities`, msg)).status);
    await control(emu).del("/faults");
    const failed = statuses.filter((s) => s === 503).length;
    expect(failed).toBeGreaterThan(60);
    expect(failed).toBeLessThan(140);
    const stats = (await control(emu).get("/stats")).json;
    expect(stats.global.fault503).toBe(failed);
    expect(stats.tenants[1].counters.fault503).toBe(failed);
    expect(stats.tenants[0].counters.faults).toBe(0);
  });

  it("refuses fault shares outside 0..1 or adding up to more than 1", async () => {
    expect((await control(emu).put("/faults", { status503: 2 })).status).toBe(400);
    expect((await control(emu).put("/faults", { status503: 0.6, status502: 0.6 })).status).toBe(400);
  });
});
