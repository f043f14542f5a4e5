import type { Hono } from "hono";
import { beforeAll, expect, it } from "vitest";
import type { ApiEnv } from "../../src/api/auth.js";
import { emulatorControl, pollUntil } from "../delivery/helpers/harness.js";
import { forEachStore } from "../helpers/stores.js";
import { scheduleApi, TestClock, useProcess } from "./helpers.js";

const adminKey = "schedule-api-admin-key-0123456789";

/** The series API (`/v1/series`) and the schedule fields of `/v1/notifications`, in process over the real engine and emulator. */
forEachStore((stores) => {
  let app: Hono<ApiEnv>;
  const clock = new TestClock(Date.parse("2026-06-01T06:00:00Z")); // a Monday
  const bed = useProcess(stores, clock, { users: 3, seeded: [0, 1] });
  beforeAll(() => {
    app = scheduleApi(bed.p, adminKey);
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: test bodies are read loosely
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  };
  const conv = (i: number) => bed.h.emulator.org.personalConversationId(i);
  const lastText = async (i: number) => {
    const body = (await emulatorControl(bed.h, "GET", `conversations/${encodeURIComponent(conv(i))}/messages`)) as {
      messages: { activity: { text?: string } | null }[];
    };
    return body.messages.at(-1)?.activity?.text;
  };

  it("a cron schedule on POST /v1/notifications makes a series; pause, resume, edit and cancel it", async () => {
    const made = await call("POST", "/v1/notifications", {
      audience: { conversations: [conv(0)] },
      message: { text: "stand-up ${givenName}" },
      schedule: { cron: "0 9 * * 1-5", timeZone: "Europe/Berlin" },
    });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ series: true, status: "active", nextRunAt: "2026-06-01T07:00:00.000Z" });
    const id: string = made.json.id;
    expect((await call("GET", "/v1/series")).json.items.map((s: { id: string }) => s.id)).toContain(id);

    // Paused over Monday's run: nothing is started.
    expect((await call("POST", `/v1/series/${id}/pause`)).json.state).toBe("paused");
    clock.at = Date.parse("2026-06-01T07:00:05Z");
    expect(await bed.p.series.tick()).toBe(0);
    // Resumed after it: the missed run is not sent; the next is Tuesday's.
    const resumed = await call("POST", `/v1/series/${id}/resume`);
    expect(resumed.json).toMatchObject({ state: "active", nextRunAt: "2026-06-02T07:00:00.000Z" });
    expect(await bed.p.series.tick()).toBe(0);

    // Edited: new text and 08:30 Berlin; Tuesday's run uses both.
    const edited = await call("PATCH", `/v1/series/${id}`, {
      message: { text: "edited ${givenName}" },
      schedule: { cron: "30 8 * * 1-5", timeZone: "Europe/Berlin" },
    });
    expect(edited.status).toBe(200);
    expect(edited.json).toMatchObject({ nextRunAt: "2026-06-02T06:30:00.000Z", schedule: { cron: "30 8 * * 1-5" } });
    clock.at = Date.parse("2026-06-02T06:30:05Z");
    expect(await bed.p.series.tick()).toBe(1);
    await pollUntil(
      () => bed.h.received(0).received,
      (n) => n === 1,
      "Tuesday's run delivered",
    );
    expect(await lastText(0)).toMatch(/^edited /);
    const shown = await call("GET", `/v1/series/${id}`);
    expect(shown.json.runs).toBe(1);
    expect(shown.json.recentRuns[0]).toMatchObject({ runAt: "2026-06-02T06:30:00.000Z" });
    const child = await call("GET", `/v1/notifications/${shown.json.recentRuns[0].notificationId}`);
    expect(child.json).toMatchObject({ seriesId: id, seriesRunAt: "2026-06-02T06:30:00.000Z" });

    // Canceled: no more runs, and it cannot be resumed.
    expect((await call("DELETE", `/v1/series/${id}`)).json).toMatchObject({ state: "canceled", nextRunAt: null });
    clock.at = Date.parse("2026-06-03T06:30:05Z");
    expect(await bed.p.series.tick()).toBe(0);
    const again = await call("POST", `/v1/series/${id}/resume`);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("HERALD_E_SERIES_STATE");
    expect((await call("GET", "/v1/series?state=canceled")).json.items.map((s: { id: string }) => s.id)).toContain(id);
  });

  it("answers field errors and unknown ids", async () => {
    const bad = await call("POST", "/v1/series", {
      audience: { conversations: [conv(0)] },
      message: { text: "x" },
      schedule: { cron: "nope" },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/^schedule\.cron: is not a valid cron expression/);
    const noZone = await call("POST", "/v1/notifications", {
      audience: { conversations: [conv(0)] },
      message: { text: "x" },
      schedule: { localTime: "25:00" },
    });
    expect(noZone.status).toBe(400);
    expect(noZone.json.error.message).toMatch(/localTime:? must be a 24-hour local time/);
    expect((await call("GET", "/v1/series/s_nope")).status).toBe(404);
    expect((await call("PATCH", "/v1/series/s_nope", { message: { text: "y" } })).status).toBe(404);
  });

  it("deliveries show notBefore and timezone, in JSON and CSV", async () => {
    const sent = await call("POST", "/v1/notifications", {
      audience: { conversations: [conv(1)] },
      message: { text: "later" },
      schedule: { localTime: "23:59", timeZone: "Asia/Tokyo" },
    });
    expect(sent.status).toBe(202);
    expect(sent.json.status).toBe("scheduled");
    const rows = await call("GET", `/v1/notifications/${sent.json.id}/deliveries`);
    expect(rows.json.items[0]).toMatchObject({ status: "pending" });
    expect(typeof rows.json.items[0].notBefore).toBe("string");
    expect(rows.json.items[0].timezone).toBe("Asia/Tokyo");
    const csv = await call("GET", `/v1/notifications/${sent.json.id}/deliveries?format=csv`);
    const [header, line] = csv.text.trim().split("\r\n");
    const cols = header?.split(",") ?? [];
    expect(cols).toContain("notBefore");
    expect(line?.split(",")[cols.indexOf("timezone")]).toBe("Asia/Tokyo");
    expect(line?.split(",")[cols.indexOf("notBefore")]).toBe(rows.json.items[0].notBefore);
  });

  it("a localTime series: each run reaches every recipient at the cron's time in their own zone", async () => {
    clock.at = Date.parse("2026-06-10T00:00:00Z");
    // The users here have no zone of their own: the series' timeZone stands in for it.
    const made = await call("POST", "/v1/series", {
      audience: { conversations: [conv(1)] },
      message: { text: "local ${timezone}" },
      schedule: { cron: "0 9 * * *", timeZone: "America/Chicago", localTime: true },
    });
    expect(made.status).toBe(201);
    // The run starts when 09:00 first comes anywhere (UTC+14), the day before in UTC.
    expect(made.json).toMatchObject({ nextRunAt: "2026-06-10T19:00:00.000Z", schedule: { localTime: true } });
    clock.at = Date.parse("2026-06-10T19:00:05Z");
    expect(await bed.p.series.tick()).toBe(1);
    const shown = await call("GET", `/v1/series/${made.json.id}`);
    const child = await call("GET", `/v1/notifications/${shown.json.recentRuns[0].notificationId}`);
    expect(child.json).toMatchObject({ status: "scheduled", schedule: { localTime: "09:00", date: "2026-06-11" } });
    const rows = await call("GET", `/v1/notifications/${child.json.id}/deliveries`);
    // 09:00 in Chicago (CDT, UTC-5) on 11 June.
    expect(rows.json.items[0]).toMatchObject({ timezone: "America/Chicago", notBefore: "2026-06-11T14:00:00.000Z" });
    await call("DELETE", `/v1/series/${made.json.id}`);
  });

  it("a recipient without a zone of their own takes the tenant's default before the request's", async () => {
    clock.at = Date.parse("2026-06-20T00:00:00Z");
    const tenantId = bed.h.emulator.org.user(1).tenantId;
    await bed.store.preferences.putTenantSettings({
      tenantId,
      timeZone: "Australia/Sydney",
      updatedAt: new Date(clock.now()).toISOString(),
    });
    const sent = await call("POST", "/v1/notifications", {
      audience: { conversations: [conv(1)] },
      message: { text: "tenant zone" },
      schedule: { localTime: "09:00", date: "2026-06-22", timeZone: "Asia/Tokyo" },
    });
    const rows = await call("GET", `/v1/notifications/${sent.json.id}/deliveries`);
    // 09:00 in Sydney (AEST, UTC+10) on 22 June; not Tokyo's.
    expect(rows.json.items[0]).toMatchObject({ timezone: "Australia/Sydney", notBefore: "2026-06-21T23:00:00.000Z" });
  });
});
