import { afterEach, describe, expect, it } from "vitest";
import type { EmulatorHandle } from "../../src/emulator/index.js";
import { connector, control, start, token } from "./helpers.js";

let emu: EmulatorHandle | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const msg = { type: "message", text: "hi" };
const retryMs = (header: string | null) => Number(header) * 1000;

describe("429 and violations over HTTP", () => {
  it("refuses the 8th send in a second with 429 Throttled and Retry-After, and counts a violation for an early retry", async () => {
    emu = await start({ tenantRps: 0 });
    const api = connector(emu, await token(emu));
    const conv = `v3/conversations/${emu.org.personalConversationId(0)}/activities`;
    // Sent together so all eight land within the 1 s window however slow the machine.
    const answers = await Promise.all(Array.from({ length: 8 }, () => api.post(conv, msg)));
    const refused = answers.filter((r) => r.status === 429);
    expect(answers.filter((r) => r.status === 201)).toHaveLength(7);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.json.error.code).toBe("Throttled");
    expect(refused[0]!.headers.get("retry-after")).toBe("1"); // whole seconds at time scale 1, as Teams
    // Early: a violation (and another 429).
    const early = await api.post(conv, msg);
    expect(early.status).toBe(429);
    let stats = (await control(emu).get("/stats")).json;
    expect(stats.global.violations).toBe(1);
    expect(stats.global.throttled).toBe(2);
    // Respecting the Retry-After (the latest one given): admitted, no new violation.
    await new Promise((r) => setTimeout(r, retryMs(early.headers.get("retry-after")) + 5));
    expect((await api.post(conv, msg)).status).toBe(201);
    stats = (await control(emu).get("/stats")).json;
    expect(stats.global.violations).toBe(1);
    expect(stats.tenants[0].counters.violations).toBe(1);
  });

  it("a client that honours (fractional, time-scaled) Retry-After has zero violations", async () => {
    emu = await start({ timeScale: 20, tenantRps: 0 });
    const api = connector(emu, await token(emu));
    const conv = `v3/conversations/${emu.org.personalConversationId(1)}/activities`;
    let sent = 0;
    let throttled = 0;
    while (sent < 30) {
      const r = await api.post(conv, msg);
      if (r.status === 201) sent++;
      else {
        expect(r.status).toBe(429);
        expect(r.headers.get("retry-after")).toMatch(/^0\.\d{1,3}$/); // fractional seconds when time-scaled
        throttled++;
        await new Promise((res) => setTimeout(res, retryMs(r.headers.get("retry-after")) + 1));
      }
    }
    const stats = (await control(emu).get("/stats")).json;
    expect(throttled).toBeGreaterThan(0);
    expect(stats.global.throttled).toBe(throttled);
    expect(stats.global.violations).toBe(0);
  });

  it("applies the per-tenant limit across conversations with whole-second Retry-After at time scale 1", async () => {
    emu = await start({ tenantRps: 5, org: { users: 20 } });
    const api = connector(emu, await token(emu));
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, u) => api.post(`v3/conversations/${emu!.org.personalConversationId(u)}/activities`, msg)),
    );
    const refused = answers.filter((r) => r.status === 429);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.headers.get("retry-after")).toBe("1");
    // Another conversation of the same tenant right away: a violation of the tenant's Retry-After.
    expect((await api.post(`v3/conversations/${emu.org.personalConversationId(7)}/activities`, msg)).status).toBe(429);
    const stats = (await control(emu).get("/stats")).json;
    expect(stats.global.throttledTenant).toBe(2);
    expect(stats.global.violations).toBe(1);
  });

  it("turns limits off and on at run time", async () => {
    emu = await start({ tenantRps: 0 });
    const api = connector(emu, await token(emu));
    const conv = `v3/conversations/${emu.org.personalConversationId(2)}/activities`;
    await control(emu).patch("/limits", { enabled: false });
    for (let i = 0; i < 20; i++) expect((await api.post(conv, msg)).status).toBe(201);
    const on = await control(emu).patch("/limits", { enabled: true, timeScale: 1 });
    expect(on.json).toMatchObject({ enabled: true, timeScale: 1 });
    const statuses = (await Promise.all(Array.from({ length: 8 }, () => api.post(conv, msg)))).map((r) => r.status);
    expect(statuses.filter((s) => s === 429)).toHaveLength(1);
  });
});
