import { describe, expect, it } from "vitest";
import type { ConnectorClient } from "../../src/connector/client.js";
import { ConnectorError } from "../../src/connector/errors.js";
import { type ExpansionDeps, runExpansion } from "../../src/delivery/audience/stream.js";
import { resolveDeliveryConfig } from "../../src/delivery/config.js";
import {
  authenticatedAnswer,
  CredentialGate,
  credentialDelay,
  defaultCredentialBackoff,
  isCredentialFailure,
} from "../../src/delivery/dispatch/credentials.js";
import { Executor, type ExecutorDeps } from "../../src/delivery/dispatch/executor.js";
import { MessageCache } from "../../src/delivery/dispatch/messages.js";
import { RecentRequests } from "../../src/delivery/dispatch/recent.js";
import { InProcessRateLimiter } from "../../src/delivery/limits/memory.js";
import type { Job, NewDelivery, Notification } from "../../src/delivery/model.js";
import { policiesFor } from "../../src/delivery/policies.js";
import type { DeliveryStore, RecipientDirectory } from "../../src/delivery/store/port.js";
import { createLogger, silentLogger } from "../../src/log.js";
import type { ConversationStore } from "../../src/store/ports.js";

const tokenError = (status: number, retryAfterMs?: number) =>
  new ConnectorError({
    kind: "http",
    source: "token",
    operation: "getToken",
    url: "https://login/x",
    status,
    code: "invalid_client",
    retryAfterMs,
  });
const connectorError = (status: number) =>
  new ConnectorError({ kind: "http", source: "connector", operation: "sendToConversation", url: "https://smba/", status });

describe("credential failures", () => {
  it("token endpoint failures of any kind and Connector 401s are credential problems; other Connector answers are not", () => {
    expect(isCredentialFailure(tokenError(401))).toBe(true);
    expect(isCredentialFailure(tokenError(429))).toBe(true);
    expect(isCredentialFailure(tokenError(503))).toBe(true);
    expect(isCredentialFailure(new ConnectorError({ kind: "timeout", source: "token", operation: "getToken", url: "u" }))).toBe(true);
    expect(isCredentialFailure(connectorError(401))).toBe(true);
    expect(isCredentialFailure(connectorError(403))).toBe(false);
    expect(isCredentialFailure(connectorError(503))).toBe(false);
    expect(isCredentialFailure(new ConnectorError({ kind: "aborted", source: "token", operation: "getToken", url: "u" }))).toBe(false);
    expect(isCredentialFailure(new Error("x"))).toBe(false);
  });

  it("backs off 1 s, 2 s, 4 s … capped at 5 min, never shorter than Retry-After", () => {
    const d = (n: number, ra?: number) => credentialDelay(n, ra, defaultCredentialBackoff);
    expect([1, 2, 3, 4, 9, 10, 40].map((n) => d(n))).toEqual([1_000, 2_000, 4_000, 8_000, 256_000, 300_000, 300_000]);
    expect(d(1, 30_000)).toBe(30_000);
  });

  it("pauses at the first failure, lets one probe through when the wait ends, resumes on an answer", () => {
    let now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    expect(gate.enter(now)).toBe(true);
    gate.failed(tokenError(401), gate.depart());
    // Requests in flight when it paused fail the same way: one step of backoff, not many.
    gate.failed(tokenError(401), gate.depart());
    expect(gate.state()).toMatchObject({ ok: false, failures: 1, code: "HERALD_E_TOKEN" });
    expect(gate.enter(now + 500)).toBe(false);
    expect(gate.waitMs(now + 500)).toBe(500);
    now += 1_000;
    expect(gate.enter(now)).toBe(true);
    expect(gate.enter(now)).toBe(false); // one probe at a time
    gate.failed(tokenError(401), gate.depart());
    expect(gate.state().failures).toBe(2);
    expect(gate.waitMs(now)).toBe(2_000);
    now += 2_000;
    expect(gate.enter(now)).toBe(true);
    gate.succeeded(gate.depart());
    expect(gate.state()).toEqual({ ok: true, failures: 0 });
    expect(gate.enter(now)).toBe(true);
  });

  it("logs one line when sending pauses, one when the reason changes, one when it resumes: not one per row or probe", () => {
    let now = 1_000_000;
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger("info", { write: (l: string) => lines.push(JSON.parse(l) as { level: number; msg: string }) });
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, logger);
    for (let i = 0; i < 5; i++) {
      gate.failed(tokenError(401), gate.depart()); // the pause, then requests that were in flight
    }
    for (let probe = 0; probe < 4; probe++) {
      now += 400_000;
      expect(gate.enter(now)).toBe(true);
      gate.failed(tokenError(probe < 2 ? 401 : 429), gate.depart());
    }
    gate.succeeded(gate.depart());
    gate.succeeded(gate.depart());
    expect(lines.map((l) => l.msg)).toEqual([
      "the bot's credentials fail: sending is paused (rows wait, none fail) and retried with backoff",
      "the bot's credentials still fail, for another reason: sending stays paused",
      "the bot's credentials work again: sending resumes",
    ]);
  });
});

describe("credential failures: bounds and evidence", () => {
  it("a Retry-After longer than max(capMs, 1 h) is capped there: a broken answer cannot pause sending for good", () => {
    const d = (ra: number, capMs = defaultCredentialBackoff.capMs) => credentialDelay(1, ra, { ...defaultCredentialBackoff, capMs });
    expect(d(365 * 24 * 3_600_000)).toBe(3_600_000);
    expect(d(2 * 3_600_000, 3 * 3_600_000)).toBe(2 * 3_600_000);
    expect(d(10 * 3_600_000, 3 * 3_600_000)).toBe(3 * 3_600_000);
    expect(d(Number.POSITIVE_INFINITY)).toBe(3_600_000);
  });

  /** A request of `row` leaves and comes back with a Connector 401: the gate's verdict (and pause). */
  const refused = (gate: CredentialGate, row: string, departure = gate.depart()): string => {
    const verdict = gate.judge401(row);
    if (verdict === "credentials") gate.failed(connectorError(401), departure);
    return verdict;
  };

  it("a Connector 401 of a row is the credentials until the Connector answers another request after it; then it is the row's", () => {
    let now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    expect(refused(gate, "n1/3")).toBe("credentials");
    now += 1_000;
    // The same row probes again, nothing else answered: still the credentials (a revoked secret looks like this).
    expect(gate.enter(now)).toBe(true);
    expect(refused(gate, "n1/3")).toBe("credentials");
    // A row released for a 401 comes due after the others, so another row probes first.
    expect(gate.retryAtFor401).toBeGreaterThan(gate.retryAt);
    now += 2_000;
    expect(gate.enter(now)).toBe(true);
    gate.succeeded(gate.depart()); // another row's probe, which left after, was answered
    expect(refused(gate, "n1/3")).toBe("row");
    expect(gate.state().ok).toBe(true);
    // Another row's first 401 after that answer is still the credentials' benefit of the doubt.
    const earlier = gate.depart(); // a request that leaves before n1/4's
    expect(refused(gate, "n1/4")).toBe("credentials");
    // An answer to a request that left BEFORE that refused one (in flight while the credentials
    // were revoked) is no evidence: the row stays a credential problem.
    now += 10;
    gate.succeeded(earlier);
    expect(refused(gate, "n1/4")).toBe("credentials");
    // However many probes that row makes (a revocation in the middle of a broadcast: late answers
    // keep arriving for requests sent before it; found by review: rows and whole rosters failed).
    for (let i = 0; i < 6; i++) {
      gate.succeeded(earlier);
      expect(refused(gate, "n1/4")).toBe("credentials");
    }
    // With no answer at all since its first 401 (revoked credentials), never.
    for (let i = 0; i < 6; i++) expect(refused(gate, "n1/5")).toBe("credentials");
  });

  it("a 429 or 5xx is no evidence that the credentials work, and an answer to a request sent before a pause does not end it", () => {
    let now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    expect(authenticatedAnswer(connectorError(503))).toBe(false);
    expect(authenticatedAnswer(connectorError(429))).toBe(false);
    expect(authenticatedAnswer(connectorError(403))).toBe(true);
    expect(authenticatedAnswer(connectorError(404))).toBe(true);
    const leftBefore = gate.depart();
    expect(refused(gate, "n2/1")).toBe("credentials");
    now += 10;
    // A late answer to a request that left before the pause began.
    gate.succeeded(leftBefore);
    expect(gate.state().ok).toBe(false);
    expect(refused(gate, "n2/1")).toBe("credentials");
    // The probe, after the wait, is accepted: the pause ends, and the suspect row is the row's.
    now += 2_000;
    expect(gate.enter(now)).toBe(true);
    gate.succeeded(gate.depart());
    expect(gate.state().ok).toBe(true);
    expect(refused(gate, "n2/1")).toBe("row");
  });

  it("evidence is a request that left after the 401 came back, though it passed the gate before: not one that left after the refused one but before its 401 came back", () => {
    const now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    // R leaves; A leaves after it but may reach Teams first (R was opening a connection), just
    // before a revocation; R's 401 comes back, then A's 201.
    const r = gate.depart();
    const a = gate.depart();
    expect(refused(gate, "n3/3", r)).toBe("credentials");
    gate.succeeded(a);
    expect(gate.state().ok).toBe(false); // A proves nothing about the credentials now
    expect(refused(gate, "n3/3")).toBe("credentials"); // and R is not failed for it
    // B passed the gate with R (its row was being marked in flight) but leaves only now, after
    // R's 401 came back, and is accepted: the credentials work; the pause ends, R is the row's.
    const b = gate.depart();
    gate.succeeded(b);
    expect(gate.state().ok).toBe(true);
    expect(refused(gate, "n3/3")).toBe("row");

    // A's 201 before R's 401: sending still pauses (A may have reached Teams first), and R is
    // still not failed for it: A left before R's 401 came back.
    const r2 = gate.depart();
    const a2 = gate.depart();
    gate.succeeded(a2);
    expect(refused(gate, "n3/4", r2)).toBe("credentials");
    expect(gate.state().ok).toBe(false);
    expect(refused(gate, "n3/4")).toBe("credentials");
  });

  it("a second revocation: a row left suspect by the first is not failed on the evidence of before it", () => {
    const now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    expect(refused(gate, "n6/r")).toBe("credentials"); // revocation 1
    gate.succeeded(gate.depart()); // the secret is fixed: a probe is accepted
    expect(gate.state().ok).toBe(true);
    // R's retry gets a 503 (nothing for the gate); traffic goes on, accepted.
    for (let i = 0; i < 3; i++) gate.succeeded(gate.depart());
    // Revocation 2: S's 401 pauses sending; then R's 401 comes back.
    expect(refused(gate, "n6/s")).toBe("credentials");
    expect(refused(gate, "n6/r")).toBe("credentials");
    expect(gate.state().ok).toBe(false);
  });

  it("a failure of a request that left before the latest failure came back neither adds backoff nor undoes a probe's success", () => {
    let now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    const inFlight = [gate.depart(), gate.depart()]; // on their way when the credentials were revoked
    expect(refused(gate, "n7/1")).toBe("credentials");
    expect(gate.state().failures).toBe(1);
    now += 1_000;
    expect(gate.enter(now)).toBe(true);
    const probe = gate.depart();
    // An old request's 401 comes back while the probe is out: the same failure, still arriving.
    gate.failed(connectorError(401), inFlight[0]!);
    expect(gate.state().failures).toBe(1);
    gate.succeeded(probe);
    expect(gate.state().ok).toBe(true);
    // And after the pause ended, the other old request's 401 does not pause again.
    gate.failed(connectorError(401), inFlight[1]!);
    expect(gate.state().ok).toBe(true);
  });

  it("each 401 of a row moves its point: only answers to requests that left after its latest 401 came back count", () => {
    const now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    expect(refused(gate, "n5/1")).toBe("credentials");
    const b = gate.depart(); // leaves after the first 401 came back; answered slowly
    expect(refused(gate, "n5/1")).toBe("credentials"); // the row probes again before B's answer
    gate.succeeded(b);
    expect(refused(gate, "n5/1")).toBe("credentials"); // B left before that second 401 came back
    gate.succeeded(gate.depart());
    expect(refused(gate, "n5/1")).toBe("row");
  });

  it("a row's late 401 from before a pause ended, then its retry refused in a second revocation: the pause holds and the row is not failed", () => {
    const now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    const r = gate.depart(); // R's request is on its way
    expect(refused(gate, "n9/s")).toBe("credentials"); // S's 401 pauses sending
    for (let i = 0; i < 3; i++) gate.succeeded(gate.depart()); // the probe and traffic accepted
    expect(refused(gate, "n9/r", r)).toBe("credentials"); // R's old 401 comes back late: ignored
    expect(gate.state().ok).toBe(true);
    // Revocation 2: R's retry leaves, then three more (which may reach Teams first); R's 401 back.
    const retry = gate.depart();
    const after = [gate.depart(), gate.depart(), gate.depart()];
    expect(refused(gate, "n9/r", retry)).toBe("credentials");
    gate.succeeded(after[0]!);
    expect(gate.state().ok).toBe(false);
    expect(refused(gate, "n9/r")).toBe("credentials");
  });

  it("while paused, a key refused with a 401 (a roster, a batch submit) waits one wait more than the others before it may probe", () => {
    let now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    expect(refused(gate, "roster:t1")).toBe("credentials");
    const others = gate.waitMs(now);
    expect(others).toBeGreaterThan(0);
    expect(gate.waitMs(now, "roster:t1")).toBe(2 * others);
    now += others;
    expect(gate.enter(now, "roster:t1")).toBe(false);
    expect(gate.enter(now)).toBe(true); // another request probes
  });

  it("a pause ends only with an answer to a request that left after the latest failure (a refused probe outweighs earlier answers)", () => {
    let now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    const first = gate.depart();
    const between = gate.depart();
    gate.failed(connectorError(401), first);
    now += 1_000;
    expect(gate.enter(now)).toBe(true);
    const probe = gate.depart();
    gate.failed(connectorError(401), probe);
    expect(gate.state()).toMatchObject({ ok: false, failures: 2 });
    // Left after the first failure but before the refused probe: says nothing about now.
    gate.succeeded(between);
    expect(gate.state()).toMatchObject({ ok: false, failures: 2 });
    // And a late failure of a request that left before an accepted one does not pause again.
    now += 2_000;
    expect(gate.enter(now)).toBe(true);
    const accepted = gate.depart();
    gate.succeeded(accepted);
    expect(gate.state().ok).toBe(true);
    gate.failed(connectorError(401), probe);
    expect(gate.state().ok).toBe(true);
  });

  it("a probe that ends without an answer frees the way for another at once (not after probeTimeoutMs)", () => {
    let now = 1_000_000;
    const gate = new CredentialGate({ now: () => now, sleep: async () => undefined }, silentLogger);
    gate.failed(tokenError(401), gate.depart());
    now += 1_000;
    expect(gate.enter(now)).toBe(true);
    const probe = now;
    now += 10;
    expect(gate.enter(now)).toBe(false);
    gate.lost(probe - 5); // not the probe: changes nothing
    expect(gate.enter(now)).toBe(false);
    gate.lost(probe);
    expect(gate.enter(now)).toBe(true);
  });
});

describe("credential gate in the executor", () => {
  let now = 1_000_000;
  const setup = () => {
    const clock = { now: () => now, sleep: async () => undefined };
    const gate = new CredentialGate(clock, silentLogger, { baseMs: 1_000, capMs: 4_000, probeTimeoutMs: 60_000 });
    const calls: string[] = [];
    const connector = new Proxy({} as ConnectorClient, {
      get: (_t, prop) => async () => {
        calls.push(String(prop));
        return { id: "a1" };
      },
    });
    const deps: ExecutorDeps = {
      connector,
      conversations: {} as ConversationStore,
      messages: new MessageCache(async () => undefined), // the notification is gone
      limiter: new InProcessRateLimiter(),
      policies: policiesFor(0, 1),
      recent: new RecentRequests(1_000, 10),
      clock,
      config: resolveDeliveryConfig({}),
      logger: silentLogger,
      random: () => 0.5,
      pauseTenant: () => undefined,
      isPaused: () => false,
      credentials: gate,
      track: () => undefined,
      claimChat: async () => ({}),
    };
    const job = (op: "edit" | "send", seq: number): Job => ({
      notificationId: "n1",
      seq,
      lease: 1,
      op,
      kind: "conversation",
      tenantId: "t1",
      conversationId: "a:1",
      activityId: "x",
      attempts: 0,
    });
    gate.failed(tokenError(401), gate.depart());
    now += 1_000;
    return { gate, deps, job, calls };
  };

  it("an edit or recall whose notification is gone, taken as the probe, does not hold every lane for probeTimeoutMs", async () => {
    const { gate, deps, job } = setup();
    const executor = new Executor(deps);
    const edit = await executor.run(job("edit", 1), "edit", async () => true);
    expect(edit).toMatchObject({ done: { kind: "release" } });
    // The probe ended without an answer: the next request may probe now.
    expect(gate.waitMs(now)).toBe(0);
  });

  it("at the end of a pause a send the gate turns away is not marked in flight first", async () => {
    const { gate, deps, job, calls } = setup();
    // At the end of a pause only the probe may go: a send turned away by the gate is not marked in
    // flight first (a crash between the mark and the release would report it `unknown`).
    expect(gate.enter(now)).toBe(true); // another request is the probe now
    const messages = new MessageCache(async () => undefined);
    messages.put({ id: "n1", messageVersion: 1, message: { text: "Hello" } } as Notification);
    const sender = new Executor({ ...deps, messages });
    let marked = 0;
    const send = await sender.run(job("send", 2), "send", async () => {
      marked++;
      return true;
    });
    expect(send).toMatchObject({ done: { kind: "release" } });
    expect(marked).toBe(0);
    expect(calls).toEqual([]);
  });
});

describe("credential gate in roster reads", () => {
  it("a roster the Connector keeps refusing (401) while it accepts other requests ends as a failed team row, not an endless pause", async () => {
    let now = 1_000_000;
    let sleeps = 0;
    const ac = new AbortController();
    const clock = {
      now: () => now,
      sleep: async (ms: number) => {
        now += Math.max(1, ms);
        // Other lanes' requests are answered meanwhile (the credentials work).
        gate.succeeded(gate.depart());
        // A loop that never ends is stopped (as the engine's stop would).
        if (++sleeps > 50) ac.abort();
        if (ac.signal.aborted) throw new Error("aborted");
      },
    };
    const gate = new CredentialGate(clock, silentLogger, { baseMs: 100, capMs: 400, probeTimeoutMs: 60_000 });
    let reads = 0;
    const connector = new Proxy({} as ConnectorClient, {
      get: (_t, prop) => async (url: string) => {
        if (prop !== "getPagedMembers") throw new Error(`unexpected ${String(prop)}`);
        reads++;
        throw new ConnectorError({ kind: "http", source: "connector", operation: "getPagedMembers", url, status: 401 });
      },
    });
    const appended: NewDelivery[] = [];
    const deps: ExpansionDeps = {
      store: {
        appendDeliveries: async (_id: string, _owner: string, rows: NewDelivery[]) => {
          appended.push(...rows);
          return { inserted: rows.length, tenants: [], accepted: true };
        },
      } as unknown as DeliveryStore,
      directory: {
        teams: async (ids: readonly string[]) =>
          new Map(ids.map((id) => [id, { teamId: id, tenantId: "t1", serviceUrl: "https://smba/" }])),
      } as unknown as RecipientDirectory,
      connector,
      limiter: new InProcessRateLimiter(),
      policies: policiesFor(0, 1),
      clock,
      config: resolveDeliveryConfig({}),
      logger: silentLogger,
      random: () => 0.5,
      credentials: gate,
      owner: "w",
      announce: () => undefined,
      signal: ac.signal,
    };
    const n = { id: "n1", audience: { teams: ["19:team"], deliverTo: "members" } } as Notification;
    await runExpansion(n, undefined, deps);
    expect(appended[0]).toMatchObject({ kind: "team", status: "failed", errorCode: "401" });
    expect(appended[0]?.errorMessage).toMatch(/refused the bot's token for this team/);
    expect(reads).toBeLessThanOrEqual(4);
    expect(gate.state().ok).toBe(true);
  });
});
