import { beforeAll, expect, it } from "vitest";
import type { Principal } from "../../src/api/auth.js";
import { draftRoutes } from "../../src/api/drafts.js";
import { systemClock } from "../../src/clock.js";
import type { DeliveryEngine } from "../../src/delivery/engine.js";
import type { DraftStore } from "../../src/drafts/port.js";
import type { Store } from "../../src/store/ports.js";
import { forEachStore } from "../helpers/stores.js";

type Json = Record<string, unknown>;

/** Key verification that knows only `principals` (the bearer token is the principal's name). */
function keysOf(principals: Record<string, Principal>) {
  return { verify: async (k: string) => principals[k] };
}

/** An author and two approvers. */
const keys = keysOf({
  author: { keyId: "k_author", scopes: ["draft"] },
  approverA: { keyId: "k_a", scopes: ["approve"] },
  approverB: { keyId: "k_b", scopes: ["approve"] },
});

/** An engine that records what it was asked to send. */
function recordingEngine(): { sent: Json[]; engine: DeliveryEngine } {
  const sent: Json[] = [];
  const engine = {
    submit: async (request: Json) => {
      sent.push(request);
      return { notification: { id: `n_${sent.length}` }, created: true };
    },
  } as unknown as DeliveryEngine;
  return { sent, engine };
}

/** JSON requests to the draft routes in process, as the principal named `key`. */
function caller(app: ReturnType<typeof draftRoutes>) {
  return async (method: string, path: string, key: string, body?: unknown) => {
    const res = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, json: (await res.json()) as Json };
  };
}

/** A draft body to one user with `text`. */
const draft = (text: string) => ({ title: "Notice", request: { audience: { users: ["u1"], tenantId: "t1" }, message: { text } } });

/**
 * Adversarial: what an approval sends must be what was submitted when it was claimed. Between
 * the approver's read of a submitted draft and the claim, another approver sends it back, its
 * author rewrites it and submits it again; the first approval must not send the old text while
 * the stored draft (now marked approved) holds the new one.
 */
forEachStore((stores) => {
  let store: Store;
  beforeAll(async () => {
    store = await stores.open();
  });

  it("an approval racing a send-back, edit and resubmit sends neither the stale text nor an unreviewed one", async () => {
    const drafts = store.drafts as DraftStore;
    const { sent, engine } = recordingEngine();
    // The interleaving: when approver A claims the draft, B's send-back, the author's edit and resubmit run first.
    let interleave: (() => Promise<void>) | undefined;
    const racing: DraftStore = {
      get: (id) => drafts.get(id),
      list: (f) => drafts.list(f),
      create: (d) => drafts.create(d),
      decide: (a) => drafts.decide(a),
      history: (id) => drafts.history(id),
      update: async (id, from, change) => {
        if (change.status === "approved" && interleave) {
          const run = interleave;
          interleave = undefined;
          await run();
        }
        return drafts.update(id, from, change);
      },
    };
    const app = draftRoutes(racing, engine, keys, systemClock);
    const call = caller(app);

    const created = await call("POST", "/v1/drafts", "author", draft("Reviewed text"));
    expect(created.status).toBe(201);
    const id = String(created.json["id"]);
    expect((await call("POST", `/v1/drafts/${id}/submit`, "author")).status).toBe(200);

    interleave = async () => {
      expect((await call("POST", `/v1/drafts/${id}/return`, "approverB", { comment: "no" })).status).toBe(200);
      expect((await call("PUT", `/v1/drafts/${id}`, "author", draft("Unreviewed text"))).status).toBe(200);
      expect((await call("POST", `/v1/drafts/${id}/submit`, "author")).status).toBe(200);
    };
    const approved = await call("POST", `/v1/drafts/${id}/approve`, "approverA");
    const stored = await drafts.get(id);
    // Whatever happened, the stored draft and what was sent must agree.
    for (const r of sent) expect((r["message"] as Json)["text"]).toBe((stored?.request["message"] as Json)?.["text"]);
    // And a draft changed under the approver is not approved unseen: it waits for a fresh review.
    expect(approved.status).toBe(409);
    expect(sent).toHaveLength(0);
    expect(stored?.status).toBe("submitted");
  });
});

/**
 * Adversarial: an approver approves what their page showed. The page read the draft (its
 * `updatedAt`); meanwhile it was sent back, rewritten and resubmitted. Approving with the
 * `updatedAt` the page saw must be refused, not send a text the approver never saw.
 */
forEachStore((stores) => {
  let store: Store;
  // Each reading of the clock is a second later, so every change has its own updatedAt.
  let t = Date.parse("2026-01-01T00:00:00Z");
  const clock = { ...systemClock, now: () => (t += 1000) };
  beforeAll(async () => {
    store = await stores.open();
  });

  it("approving with the updatedAt the approver saw is refused once the draft changed since, and nothing is sent", async () => {
    const { sent, engine } = recordingEngine();
    const app = draftRoutes(store.drafts as DraftStore, engine, keys, clock);
    const call = caller(app);

    const id = String((await call("POST", "/v1/drafts", "author", draft("Reviewed text"))).json["id"]);
    expect((await call("POST", `/v1/drafts/${id}/submit`, "author")).status).toBe(200);
    const seen = await call("GET", `/v1/drafts/${id}`, "approverA");
    expect(seen.status).toBe(200);
    expect((await call("POST", `/v1/drafts/${id}/return`, "approverB", { comment: "no" })).status).toBe(200);
    expect((await call("PUT", `/v1/drafts/${id}`, "author", draft("Unreviewed text"))).status).toBe(200);
    expect((await call("POST", `/v1/drafts/${id}/submit`, "author")).status).toBe(200);

    const stale = await call("POST", `/v1/drafts/${id}/approve`, "approverA", { updatedAt: seen.json["updatedAt"] });
    expect(stale.status).toBe(409);
    expect((stale.json["error"] as Json)["code"]).toBe("HERALD_E_DRAFT_CHANGED");
    expect(sent).toHaveLength(0);

    const fresh = await call("GET", `/v1/drafts/${id}`, "approverA");
    const ok = await call("POST", `/v1/drafts/${id}/approve`, "approverA", { updatedAt: fresh.json["updatedAt"] });
    expect(ok.status).toBe(202);
    expect(sent.map((r) => (r["message"] as Json)["text"])).toEqual(["Unreviewed text"]);
    // A wrong type names the field.
    const bad = await call("POST", `/v1/drafts/${id}/approve`, "approverA", { updatedAt: 5 });
    expect(bad.status).toBe(400);
  });
});

/**
 * Adversarial: an author's key revoked (leaked, or its owner gone) while its draft waits. An
 * approval must not send it as that key: it is refused and stays in the queue.
 */
forEachStore((stores) => {
  let store: Store;
  const keys = keysOf({
    author: { keyId: "k_author_rev", scopes: ["draft"], tenants: ["t1"] },
    approverA: { keyId: "k_a", scopes: ["approve"] },
  });
  beforeAll(async () => {
    store = await stores.open();
    await store.apiKeys.create({
      id: "k_author_rev",
      name: "author",
      hash: "00".repeat(32),
      scopes: ["draft"],
      tenants: ["t1"],
      createdAt: "2026-01-01T00:00:00.000Z",
      createdBy: "env:HERALD_API_KEY",
    });
  });

  it("a submitted draft whose author's key was revoked is not sent as that key", async () => {
    const { sent, engine } = recordingEngine();
    const app = draftRoutes(store.drafts as DraftStore, engine, keys, systemClock, store.apiKeys);
    const call = caller(app);
    const id = String((await call("POST", "/v1/drafts", "author", draft("hi"))).json["id"]);
    expect((await call("POST", `/v1/drafts/${id}/submit`, "author")).status).toBe(200);
    expect(await store.apiKeys.revoke("k_author_rev", "2026-01-02T00:00:00.000Z")).toBe(true);

    const approved = await call("POST", `/v1/drafts/${id}/approve`, "approverA");
    expect(approved.status).toBe(409);
    expect((approved.json["error"] as Json)["code"]).toBe("HERALD_E_DRAFT_AUTHOR_REVOKED");
    expect(sent).toHaveLength(0);
    expect((await store.drafts?.get(id))?.status).toBe("submitted");
  });
});

/** Exactly once: many approvals of one draft at the same moment (two approver keys) send it once. */
forEachStore((stores) => {
  let store: Store;
  beforeAll(async () => {
    store = await stores.open();
  });

  it("concurrent approvals: one 202, the rest 409, one send", async () => {
    const { sent, engine } = recordingEngine();
    const app = draftRoutes(store.drafts as DraftStore, engine, keys, systemClock);
    const call = caller(app);
    const id = String((await call("POST", "/v1/drafts", "author", draft("once"))).json["id"]);
    expect((await call("POST", `/v1/drafts/${id}/submit`, "author")).status).toBe(200);
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        call("POST", `/v1/drafts/${id}/approve`, i % 2 ? "approverA" : "approverB").then((r) => r.status),
      ),
    );
    expect(results.filter((s) => s === 202)).toHaveLength(1);
    expect(results.filter((s) => s === 409)).toHaveLength(7);
    expect(sent).toHaveLength(1);
  });
});
