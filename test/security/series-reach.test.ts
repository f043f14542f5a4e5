import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { forEachStore } from "../helpers/stores.js";
import { TestClock } from "../schedule/helpers.js";

/**
 * Series and team/group guardrails: a team-limited key changes (edits, pauses, resumes, cancels)
 * another's series only when its stored audience is within the key's limit, as for notifications;
 * and each run keeps to its creator's team limit (an unlimited editor's org-wide re-aim of a
 * team key's series is not sent).
 */

const ADMIN = "admin-key-for-series-reach-tests-0123456789";
const A = "tenant-a";
const T1 = "19:team-one@thread.tacv2";
type Body = Record<string, unknown>;
const daily = { cron: "0 9 * * *", timeZone: "UTC" };

forEachStore((stores) => {
  let herald: Herald;
  let teamKey = "";
  let otherTeamKey = "";
  const clock = new TestClock(Date.parse("2026-07-01T08:00:00Z"));
  async function call(method: string, path: string, key: string, body?: unknown) {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await herald.fetch(
      new Request(`http://herald.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    const text = await res.text();
    const json = res.headers.get("content-type")?.includes("json") && text ? (JSON.parse(text) as Body) : {};
    return { status: res.status, body: json };
  }
  beforeAll(async () => {
    const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: ADMIN });
    herald = await createHerald(config, { logger: silentLogger, store: await stores.open(), engine: false, clock, storeTime: "clock" });
    teamKey = (await call("POST", "/v1/keys", ADMIN, { name: "team", scopes: ["send", "read"], tenants: [A], teams: [T1] })).body[
      "key"
    ] as string;
    otherTeamKey = (await call("POST", "/v1/keys", ADMIN, { name: "team-2", scopes: ["send"], tenants: [A], teams: [T1] })).body[
      "key"
    ] as string;
  });
  afterAll(async () => {
    await herald?.close();
  });

  it("a team-limited key may not edit, pause, resume or cancel an org-wide series of another key", async () => {
    const made = await call("POST", "/v1/series", ADMIN, {
      audience: { all: true, tenantId: A },
      message: { text: "Weekly all hands" },
      schedule: daily,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = made.body["id"] as string;
    // The key sees it (its tenant) but may not change it: 403 naming what is outside.
    expect((await call("GET", `/v1/series/${id}`, teamKey)).status).toBe(200);
    const edit = await call("PATCH", `/v1/series/${id}`, teamKey, { message: { text: "rewritten by a team key" } });
    expect(edit.status).toBe(403);
    expect(JSON.stringify(edit.body)).toContain("audience.all");
    expect((await call("POST", `/v1/series/${id}/pause`, teamKey)).status).toBe(403);
    expect((await call("DELETE", `/v1/series/${id}`, teamKey)).status).toBe(403);
    expect((await call("POST", `/v1/series/${id}/pause`, ADMIN)).status).toBe(200);
    expect((await call("POST", `/v1/series/${id}/resume`, teamKey)).status).toBe(403);
    const after = await call("GET", `/v1/series/${id}`, ADMIN);
    expect(after.body["state"]).toBe("paused");
    expect((after.body["message"] as Body)["text"]).toBe("Weekly all hands");
  });

  it("a team-limited key may change another's series aimed at its own team", async () => {
    const made = await call("POST", "/v1/series", otherTeamKey, {
      audience: { teams: [T1], deliverTo: "channel" },
      message: { text: "Team standup" },
      schedule: daily,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = made.body["id"] as string;
    expect((await call("PATCH", `/v1/series/${id}`, teamKey, { message: { text: "Team standup moved" } })).status).toBe(200);
    expect((await call("POST", `/v1/series/${id}/pause`, teamKey)).status).toBe(200);
    expect((await call("DELETE", `/v1/series/${id}`, teamKey)).status).toBe(200);
  });

  it("a run keeps to its creator's team limit: an org-wide re-aim by an unlimited key is not sent", async () => {
    const made = await call("POST", "/v1/series", teamKey, {
      audience: { teams: [T1], deliverTo: "channel" },
      message: { text: "Team digest" },
      schedule: daily,
    });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const id = made.body["id"] as string;
    // Every other series is paused or canceled above; only this one is due at 09:00.
    expect((await call("PATCH", `/v1/series/${id}`, ADMIN, { audience: { all: true, tenantId: A } })).status).toBe(200);
    clock.at = Date.parse("2026-07-01T09:00:05Z");
    const series = herald.series;
    if (!series) throw new Error("this store keeps no series");
    await series.tick();
    const after = await series.get(id);
    // The run was taken (not left pending) and refused: no notification was written for it.
    expect(after?.pendingRunAt).toBeUndefined();
    expect(after?.lastRunAt).toBeDefined();
    expect(after?.lastNotificationId).toBeUndefined();
    expect(await series.runs(id)).toEqual([]);
  });
});
