import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import type { AuditLog, Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * An accepted write is answered as accepted even when its audit entry cannot be written
 * afterwards (issue 9): a 500 after the commit makes a client that retries without an idempotency
 * key broadcast twice. The failure is logged at error and counted in a metric instead.
 */

const ADMIN = "admin-key-for-tests-0123456789";

forEachStore((stores) => {
  let herald: Herald;
  let real: Store;
  /** When true, every audit write throws, as a database refusing that insert would. */
  let failAudit = false;
  /** When true, every audit write hangs for ever, as on a lock that is never released. */
  let hangAudit = false;
  const logLines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    real = await stores.open();
    const audit: AuditLog = {
      record: async (entry) => {
        if (failAudit) throw Object.assign(new Error("audit_log: relation is locked"), { code: "55P03" });
        if (hangAudit) return new Promise<void>(() => {});
        return real.audit.record(entry);
      },
      list: (page) => real.audit.list(page),
    };
    const store: Store = {
      conversations: real.conversations,
      preferences: real.preferences,
      deliveries: real.deliveries,
      recipients: real.recipients,
      apiKeys: real.apiKeys,
      audit,
      surveys: real.surveys,
      ready: () => real.ready(),
      close: () => real.close(),
    };
    const logger = createLogger("info", { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) });
    const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: ADMIN });
    herald = await createHerald(config, { logger, store, engine: false });
    await real.conversations.upsert({
      id: "a:one",
      kind: "personal",
      tenantId: "tenant-1",
      serviceUrl: "http://127.0.0.1:9/teams/",
      channelId: "msteams",
      bot: { id: "28:bot" },
      user: { id: "29:one", name: "One" },
      at: new Date().toISOString(),
      status: "active",
    });
  });
  afterAll(() => herald?.close());

  async function call(method: string, path: string, body?: unknown, key = ADMIN) {
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await herald.fetch(
      new Request(`http://herald.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    );
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  }
  const notifications = async () =>
    ((await call("GET", "/v1/notifications?limit=1000")).body["items"] as { id: string; messageVersion: number; status: string }[]) ?? [];
  const failures = () => herald.metrics.auditFailures;

  it("the audit entry of a notification names its id", async () => {
    failAudit = false;
    const sent = await call("POST", "/v1/notifications", { audience: { conversations: ["a:one"] }, message: { text: "hi" } });
    expect(sent.status).toBe(202);
    const entries = (await real.audit.list({ limit: 10 })).items;
    expect(entries.find((e) => e.action === "POST /v1/notifications")?.target).toBe(sent.body["id"]);
  });

  it("answers 202 for a committed notification whose audit write fails, logs and counts it", async () => {
    const before = (await notifications()).length;
    failAudit = true;
    const sent = await call("POST", "/v1/notifications", { audience: { conversations: ["a:one"] }, message: { text: "once" } });
    failAudit = false;
    expect(sent.status).toBe(202);
    const id = sent.body["id"] as string;
    const all = await notifications();
    expect(all.length).toBe(before + 1);
    expect(all.filter((n) => n.id === id)).toHaveLength(1);
    expect(failures().get({ action: "POST /v1/notifications" })).toBe(1);
    const logged = logLines.find((l) => l["level"] === "error" && (l["audit"] as { target?: string } | undefined)?.target === id);
    expect(logged?.["msg"]).toMatch(/audit entry not written/);
  });

  it("logs the failed audit write with the error's stack", () => {
    const logged = logLines.find((l) => l["level"] === "error" && String(l["msg"]).startsWith("audit entry not written"));
    expect((logged?.["err"] as { stack?: string } | undefined)?.stack).toMatch(/audit_log: relation is locked\n\s+at /);
  });

  it("answers 202 within the 2 s bound when the audit write never settles, logs and counts it", async () => {
    hangAudit = true;
    const started = Date.now();
    const sent = await call("POST", "/v1/notifications", { audience: { conversations: ["a:one"] }, message: { text: "hang" } });
    const took = Date.now() - started;
    hangAudit = false;
    expect(sent.status).toBe(202);
    expect(took).toBeLessThan(5000);
    const id = sent.body["id"] as string;
    expect((await notifications()).some((n) => n.id === id)).toBe(true);
    const logged = logLines.find((l) => l["level"] === "error" && (l["audit"] as { target?: string } | undefined)?.target === id);
    expect(logged?.["msg"]).toMatch(/audit entry not written within 2000 ms/);
    expect(failures().get({ action: "POST /v1/notifications" })).toBe(2);
  }, 20_000);

  it("answers 202 for a committed edit and recall, and 201/204 for keys, when their audit writes fail", async () => {
    const sent = await call("POST", "/v1/notifications", { audience: { conversations: ["a:one"] }, message: { text: "v1" } });
    const id = sent.body["id"] as string;
    failAudit = true;
    const edited = await call("PATCH", `/v1/notifications/${id}`, { message: { text: "v2" } });
    const recalled = await call("DELETE", `/v1/notifications/${id}`);
    const key = await call("POST", "/v1/keys", { name: "made-while-audit-fails", scopes: ["read"] });
    const revoked = await call("DELETE", `/v1/keys/${key.body["id"] as string}`);
    failAudit = false;
    expect([edited.status, recalled.status, key.status, revoked.status]).toEqual([202, 202, 201, 204]);
    const n = (await call("GET", `/v1/notifications/${id}`)).body;
    expect(n["messageVersion"]).toBe(2);
    expect(n["status"]).toBe("canceled");
    expect(key.body["key"]).toMatch(/^hk_/);
    const metrics = await herald.fetch(new Request("http://herald.test/metrics"));
    const text = await metrics.text();
    expect(text).toMatch(/herald_audit_write_failures_total\{action="PATCH \/v1\/notifications\/:id"\} 1/);
    expect(text).toMatch(/herald_audit_write_failures_total\{action="DELETE \/v1\/notifications\/:id"\} 1/);
    expect(text).toMatch(/herald_audit_write_failures_total\{action="key.create"\} 1/);
    expect(text).toMatch(/herald_audit_write_failures_total\{action="key.revoke"\} 1/);
  });
});
