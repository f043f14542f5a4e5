import { afterAll, beforeAll, expect, it } from "vitest";
import { call, eventually, STACK_API_KEY, type Stack, startStack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

type Json = Record<string, unknown>;

forEachStore((stores) => {
  let stack: Stack;
  let url: string;
  let tenant: string;
  let userId: string;
  let author: string;
  let approver: string;
  const key = async (name: string, scopes: string[], tenants?: string[]) => {
    const r = await call("POST", `${url}/v1/keys`, { name, scopes, ...(tenants ? { tenants } : {}) }, STACK_API_KEY);
    expect(r.status).toBe(201);
    return String(r.json["key"]);
  };

  beforeAll(async () => {
    stack = await startStack(await stores.open(), {
      emulator: { org: { tenants: 2, users: 6, teams: 1, blockedShare: 0, uninstalledShare: 0 } },
    });
    url = stack.heraldUrl;
    await call("POST", `${stack.emulator.url}/_emulator/install`, { all: true, wait: true });
    const people = await eventually("6 personal chats", async () => {
      const items = (await call("GET", `${url}/v1/conversations?kind=personal`, undefined, STACK_API_KEY)).json["items"] as {
        tenantId: string;
        user: { id: string };
      }[];
      return items.length === 6 ? items : undefined;
    });
    tenant = people[0]!.tenantId;
    userId = people[0]!.user.id;
    author = await key("author", ["draft"], [tenant]);
    approver = await key("approver", ["approve", "read"]);
  }, 60_000);
  afterAll(() => stack?.close());

  const draftBody = (text: string, audience: Json = { users: [userId], tenantId: tenant }) => ({
    title: "Closure notice",
    request: { audience, message: { text } },
  });

  it("an author may draft but not send, and is refused an audience outside their tenants", async () => {
    const direct = await call("POST", `${url}/v1/notifications`, draftBody("x").request, author);
    expect(direct.status).toBe(403);
    const outside = await call("POST", `${url}/v1/drafts`, draftBody("x", { all: true, tenantId: "someone-elses-tenant" }), author);
    expect(outside.status).toBe(403);
    expect((outside.json["error"] as Json)["code"]).toBe("HERALD_E_FORBIDDEN");
    const unnamed = await call("POST", `${url}/v1/drafts`, draftBody("x", { all: true }), author);
    expect(unnamed.status).toBe(400);
    const approverDrafts = await call("POST", `${url}/v1/drafts`, draftBody("x"), approver);
    expect(approverDrafts.status).toBe(403);
  });

  it("a draft is submitted, sent back with a comment, changed, approved by another key, then sent as its author", async () => {
    const created = await call("POST", `${url}/v1/drafts`, draftBody("Office closed Friday"), author);
    expect(created.status).toBe(201);
    const id = String(created.json["id"]);
    // Not submitted yet: nothing to approve.
    expect((await call("POST", `${url}/v1/drafts/${id}/approve`, undefined, approver)).status).toBe(409);
    expect((await call("POST", `${url}/v1/drafts/${id}/submit`, undefined, author)).status).toBe(200);
    // The author may not decide (no approve scope), the approver may not change it.
    expect((await call("POST", `${url}/v1/drafts/${id}/approve`, undefined, author)).status).toBe(403);
    expect((await call("PUT", `${url}/v1/drafts/${id}`, draftBody("changed by approver"), approver)).status).toBe(403);

    const back = await call("POST", `${url}/v1/drafts/${id}/return`, { comment: "Say which office." }, approver);
    expect(back.status).toBe(200);
    expect(back.json).toMatchObject({ status: "returned", comment: "Say which office." });
    expect((await call("PUT", `${url}/v1/drafts/${id}`, draftBody("The Lisbon office is closed Friday"), author)).status).toBe(200);
    expect((await call("POST", `${url}/v1/drafts/${id}/submit`, undefined, author)).status).toBe(200);

    const approved = await call("POST", `${url}/v1/drafts/${id}/approve`, undefined, approver);
    expect(approved.status).toBe(202);
    const notificationId = String(approved.json["notificationId"]);
    expect(notificationId).toMatch(/^n_/);
    // Approved once only.
    expect((await call("POST", `${url}/v1/drafts/${id}/approve`, undefined, approver)).status).toBe(409);
    const done = await eventually("the approved notification is sent", async () => {
      const n = (await call("GET", `${url}/v1/notifications/${notificationId}`, undefined, STACK_API_KEY)).json;
      return n["status"] === "completed" ? n : undefined;
    });
    expect((done["counts"] as Json)["sent"]).toBe(1);
    const history = (await call("GET", `${url}/v1/drafts/${id}`, undefined, author)).json["history"] as Json[];
    expect(history.map((h) => h["decision"])).toEqual(["returned", "approved"]);
  });

  it("a draft cannot be a recurring series (an approval sends one notification): 400 naming schedule.cron, nothing stored", async () => {
    const before = await call("GET", `${url}/v1/drafts`, undefined, author);
    const body = { ...draftBody("Every Monday"), request: { ...draftBody("Every Monday").request, schedule: { cron: "0 9 * * 1" } } };
    const r = await call("POST", `${url}/v1/drafts`, body, author);
    expect(r.status, JSON.stringify(r.json)).toBe(400);
    expect((r.json["error"] as Json)["message"]).toContain("request.schedule.cron");
    expect((await call("GET", `${url}/v1/drafts`, undefined, author)).json).toEqual(before.json);
  });

  it("a draft whose message cannot be sent is refused when saved or changed, naming the field, not first at approval", async () => {
    const before = await call("GET", `${url}/v1/drafts`, undefined, author);
    const template = await call("POST", `${url}/v1/drafts`, draftBody("Hi ${unknownFn(name)}"), author);
    expect(template.status, JSON.stringify(template.json)).toBe(400);
    expect(template.json["error"]).toMatchObject({ code: "HERALD_E_TEMPLATE" });
    expect((template.json["error"] as Json)["message"]).toContain("request.message.text");
    const big = await call("POST", `${url}/v1/drafts`, draftBody("x".repeat(40_000)), author);
    expect(big.status, JSON.stringify(big.json)).toBe(413);
    expect(big.json["error"]).toMatchObject({ code: "HERALD_E_MESSAGE_TOO_LARGE" });
    expect((await call("GET", `${url}/v1/drafts`, undefined, author)).json).toEqual(before.json);
    // Changing a saved draft into one that cannot be sent is refused the same way; the draft keeps its text.
    const saved = await call("POST", `${url}/v1/drafts`, draftBody("Fine"), author);
    expect(saved.status).toBe(201);
    const id = String(saved.json["id"]);
    const put = await call("PUT", `${url}/v1/drafts/${id}`, draftBody("Hi ${unknownFn(name)}"), author);
    expect(put.status).toBe(400);
    expect((await call("GET", `${url}/v1/drafts/${id}`, undefined, author)).json).toMatchObject({ request: { message: { text: "Fine" } } });
  });

  it("a key with both roles may not approve its own draft", async () => {
    const both = await key("both", ["draft", "approve"]);
    const d = await call("POST", `${url}/v1/drafts`, draftBody("mine"), both);
    await call("POST", `${url}/v1/drafts/${d.json["id"]}/submit`, undefined, both);
    const self = await call("POST", `${url}/v1/drafts/${d.json["id"]}/approve`, undefined, both);
    expect(self.status).toBe(403);
    expect((self.json["error"] as Json)["code"]).toBe("HERALD_E_SELF_APPROVAL");
  });

  it("an approver limited to other tenants cannot send an author's draft there", async () => {
    const d = await call("POST", `${url}/v1/drafts`, draftBody("guarded"), author);
    await call("POST", `${url}/v1/drafts/${d.json["id"]}/submit`, undefined, author);
    const other = await key("other-approver", ["approve"], ["another-tenant"]);
    // The draft lies outside the approver's tenants: as if it did not exist.
    expect((await call("POST", `${url}/v1/drafts/${d.json["id"]}/approve`, undefined, other)).status).toBe(404);
  });
});
