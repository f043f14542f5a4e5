/**
 * The HTTP client against local stub servers: Teams-only operations botbuilder's routes do not
 * serve (team details and channels), every error shape of section 6, transport failures,
 * trusted hosts and the keep-alive pool.
 */
import type { ServerResponse } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { clouds } from "../../src/config/clouds.js";
import { trustedHosts } from "../../src/config/trusted-hosts.js";
import { ConnectorError } from "../../src/connector/errors.js";
import { HttpConnectorClient } from "../../src/connector/http-client.js";
import type { TokenProvider } from "../../src/connector/tokens.js";
import { createHttpAgent } from "../../src/connector/transport.js";
import { deferred, fakeClock, json, type Seen, startServer, type TestServer, until } from "./helpers/servers.js";

type Respond = (req: Seen, res: ServerResponse) => void | Promise<void>;

let server: TestServer;
let respond: Respond = (_req, res) => json(res, 200, { id: "1" });
const clock = fakeClock();
const agents: { close(): Promise<void> }[] = [];

function tokens(token = "tok-1") {
  const t = {
    calls: 0,
    invalidated: [] as string[],
    getToken: async () => {
      t.calls++;
      return token;
    },
    invalidate: (x: string) => {
      t.invalidated.push(x);
    },
  } satisfies TokenProvider & Record<string, unknown>;
  return t;
}

function client(opts: { trusted?: string[]; http?: Parameters<typeof createHttpAgent>[0]; tokens?: TokenProvider } = {}) {
  const dispatcher = createHttpAgent(opts.http ?? { headersTimeoutMs: 2_000, bodyTimeoutMs: 2_000 });
  agents.push(dispatcher);
  return new HttpConnectorClient({
    dispatcher,
    tokens: opts.tokens ?? tokens(),
    isTrusted: trustedHosts(clouds.public, opts.trusted ?? ["127.0.0.1"]),
    clock,
  });
}

async function failure(p: Promise<unknown>): Promise<ConnectorError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ConnectorError);
  return e as ConnectorError;
}

const send = (c: HttpConnectorClient, serviceUrl = `${server.url}/teams/`, signal?: AbortSignal) =>
  c.sendToConversation(serviceUrl, "a:conv", { type: "message", text: "hi" }, signal);

beforeAll(async () => {
  server = await startServer((req, res) => respond(req, res));
});
afterEach(() => {
  respond = (_req, res) => json(res, 200, { id: "1" });
});
afterAll(async () => {
  await server.close();
  await Promise.all(agents.map((a) => a.close()));
});

describe("team operations (Teams only, not in ChannelServiceRoutes)", () => {
  it("gets team details", async () => {
    respond = (_req, res) => json(res, 200, { id: "19:team@thread.tacv2", name: "Ops", aadGroupId: "g-1", type: "standard" });
    const details = await client().getTeamDetails(`${server.url}/teams`, "19:team@thread.tacv2");
    expect(details).toEqual({ id: "19:team@thread.tacv2", name: "Ops", aadGroupId: "g-1", type: "standard" });
    const req = server.requests.at(-1)!;
    expect(req).toMatchObject({ method: "GET", url: "/teams/v3/teams/19%3Ateam%40thread.tacv2", body: "" });
    expect(req.headers).toMatchObject({ authorization: "Bearer tok-1", accept: "application/json" });
    expect(req.headers["content-type"]).toBeUndefined();
  });

  it("gets team channels, General without a name", async () => {
    respond = (_req, res) =>
      json(res, 200, {
        conversations: [
          { id: "19:team@thread.tacv2", name: null },
          { id: "19:ops@thread.tacv2", name: "Ops" },
        ],
      });
    expect(await client().getTeamChannels(`${server.url}/teams`, "19:team@thread.tacv2")).toEqual([
      { id: "19:team@thread.tacv2", name: undefined },
      { id: "19:ops@thread.tacv2", name: "Ops" },
    ]);
    expect(server.requests.at(-1)!.url).toBe("/teams/v3/teams/19%3Ateam%40thread.tacv2/conversations");
  });

  it("sends JSON with a content type and reads 201 as success", async () => {
    respond = (_req, res) => json(res, 201, { id: "1700" });
    expect(await send(client())).toEqual({ id: "1700" });
    const req = server.requests.at(-1)!;
    expect(req.headers["content-type"]).toBe("application/json; charset=utf-8");
    expect(JSON.parse(req.body)).toEqual({ type: "message", text: "hi" });
  });

  it("reads a send answered without an id (Teams split the message) as id undefined", async () => {
    respond = (_req, res) => {
      res.writeHead(200);
      res.end();
    };
    expect(await send(client())).toEqual({ id: undefined });
  });

  it("reports a create answered without an id as invalid-response", async () => {
    respond = (_req, res) => json(res, 201, { activityId: "1" });
    const e = await failure(
      client().createConversation(`${server.url}/teams`, { isGroup: false, members: [{ id: "29:u" }], tenantId: "t" }),
    );
    expect(e).toMatchObject({ kind: "invalid-response", status: 201, heraldCode: "HERALD_E_CONNECTOR_RESPONSE" });
  });
});

const DOCUMENTED_209 =
  '{"errorCode":209,"message":"{\\r\\n  \\"subCode\\": \\"MessageWritesBlocked\\",\\r\\n  \\"details\\": \\"Thread is blocked from message writes.\\",\\r\\n  \\"errorCode\\": null,\\r\\n  \\"errorSubCode\\": null\\r\\n}"}';

describe("Connector errors as ConnectorError facts", () => {
  it("403 MessageWritesBlocked as documented (decoded twice)", async () => {
    respond = (_req, res) => json(res, 403, DOCUMENTED_209);
    const e = await failure(send(client()));
    expect(e).toMatchObject({
      kind: "http",
      source: "connector",
      operation: "sendToConversation",
      status: 403,
      code: undefined,
      subCode: "MessageWritesBlocked",
      errorCode: 209,
      serverMessage: "Thread is blocked from message writes.",
      retryAfterMs: undefined,
      heraldCode: "HERALD_E_CONNECTOR_HTTP",
      mayHaveArrived: true,
    });
    expect(e.message).toContain("403");
    expect(e.message).toContain("MessageWritesBlocked");
  });

  it("403 MessageWritesBlocked inside the Connector envelope", async () => {
    const middle = JSON.stringify({ errorCode: 209, message: JSON.stringify({ subCode: "MessageWritesBlocked" }) });
    respond = (_req, res) => json(res, 403, { error: { code: "Forbidden", message: middle } });
    expect(await failure(send(client()))).toMatchObject({
      status: 403,
      code: "Forbidden",
      subCode: "MessageWritesBlocked",
      errorCode: 209,
    });
  });

  it.each([
    [403, "ConversationBlockedByUser", "User blocked the conversation with the bot."],
    [403, "BotDisabledByAdmin", "The tenant admin disabled this bot"],
    [403, "BotNotInConversationRoster", "The bot is not part of the conversation roster."],
    [404, "ConversationNotFound", "Conversation not found."],
    [404, "ActivityNotFoundInConversation", "Activity not found."],
    [413, "MessageSizeTooBig", "Message size too big."],
  ])("%d %s", async (status, code, message) => {
    respond = (_req, res) => json(res, status, { error: { code, message } });
    expect(await failure(send(client()))).toMatchObject({ kind: "http", status, code, subCode: undefined, serverMessage: message });
  });

  it("429 with Retry-After in seconds", async () => {
    respond = (_req, res) => json(res, 429, { error: { code: "Throttled", message: "Too many requests." } }, { "retry-after": "7" });
    expect(await failure(send(client()))).toMatchObject({ status: 429, code: "Throttled", retryAfterMs: 7_000 });
  });

  it("429 with Retry-After as an HTTP date, relative to the injected clock", async () => {
    const at = new Date(clock.now() + 42_000).toUTCString();
    respond = (_req, res) => json(res, 429, { error: { code: "Throttled", message: "Too many requests." } }, { "retry-after": at });
    expect((await failure(send(client()))).retryAfterMs).toBe(42_000);
  });

  it("502 with an HTML body from a gateway", async () => {
    respond = (_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
    };
    const e = await failure(send(client()));
    expect(e).toMatchObject({ kind: "http", status: 502, code: undefined, subCode: undefined });
    expect(e.serverMessage).toContain("502 Bad Gateway");
  });

  it("401 tells the token provider to forget that token", async () => {
    respond = (_req, res) => json(res, 401, { error: { code: "BotNotRegistered", message: "Authorization has been denied." } });
    const t = tokens("stale-token");
    expect(await failure(send(client({ tokens: t })))).toMatchObject({ status: 401, code: "BotNotRegistered" });
    expect(t.invalidated).toEqual(["stale-token"]);
  });
});

describe("transport failures", () => {
  it("times out waiting for headers", async () => {
    const held = deferred();
    respond = async () => held.promise;
    const e = await failure(send(client({ http: { headersTimeoutMs: 150 } })));
    held.resolve();
    expect(e).toMatchObject({ kind: "timeout", timeoutPhase: "headers", heraldCode: "HERALD_E_CONNECTOR_TIMEOUT", mayHaveArrived: true });
  });

  it("times out when the body stalls", async () => {
    const held = deferred();
    respond = async (_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
      res.write('{"id":');
      await held.promise;
    };
    const e = await failure(send(client({ http: { bodyTimeoutMs: 150 } })));
    held.resolve();
    expect(e).toMatchObject({ kind: "timeout", timeoutPhase: "body" });
  });

  it("reports a connection the server destroys as reset", async () => {
    respond = (_req, res) => {
      res.socket?.destroy();
    };
    const e = await failure(send(client()));
    expect(e).toMatchObject({ kind: "reset", status: undefined, heraldCode: "HERALD_E_CONNECTOR_NETWORK", mayHaveArrived: true });
  });

  it("reports a closed port as refused, certainly not delivered", async () => {
    const gone = await startServer(() => undefined);
    const url = `${gone.url}/teams`;
    await gone.close();
    const e = await failure(send(client(), url));
    expect(e).toMatchObject({ kind: "refused", mayHaveArrived: false });
  });

  it("stops waiting when the caller aborts", async () => {
    const held = deferred();
    respond = async () => held.promise;
    const controller = new AbortController();
    const before = server.requests.length;
    const p = send(client(), undefined, controller.signal);
    await until(() => server.requests.length > before);
    controller.abort();
    const e = await failure(p);
    held.resolve();
    expect(e).toMatchObject({ kind: "aborted", heraldCode: "HERALD_E_CONNECTOR_ABORTED" });
  });

  it("sends nothing for an already aborted signal", async () => {
    const t = tokens();
    const before = server.requests.length;
    const e = await failure(send(client({ tokens: t }), undefined, AbortSignal.abort()));
    expect(e).toMatchObject({ kind: "aborted", mayHaveArrived: false });
    expect(server.requests.length).toBe(before);
    expect(t.calls).toBe(0);
  });
});

describe("trusted hosts", () => {
  it.each([
    ["a loopback host nobody listed", (url: string) => `${url}/teams/`],
    ["a look-alike of the public Connector", () => "https://smba.trafficmanager.net.evil.example/teams/"],
    ["another trafficmanager.net name", () => "https://attacker.trafficmanager.net/teams/"],
    ["not a URL", () => "smba.trafficmanager.net/teams"],
  ])("refuses %s before asking for a token; no request leaves", async (_name, serviceUrlOf) => {
    const t = tokens();
    const c = client({ trusted: [], tokens: t });
    const before = server.requests.length;
    const e = await failure(send(c, serviceUrlOf(server.url)));
    expect(e).toMatchObject({ kind: "untrusted", heraldCode: "HERALD_E_UNTRUSTED_SERVICE_URL", status: undefined, mayHaveArrived: false });
    expect(e.message).toContain("HERALD_TRUSTED_HOSTS");
    expect(t.calls).toBe(0);
    expect(server.requests.length).toBe(before);
  });

  it("refuses every operation for an untrusted serviceUrl", async () => {
    const t = tokens();
    const c = client({ trusted: [], tokens: t });
    const url = `${server.url}/teams`;
    const before = server.requests.length;
    const calls = [
      c.createConversation(url, { tenantId: "t" }),
      c.replyToActivity(url, "a:1", "1", { type: "message" }),
      c.updateActivity(url, "a:1", "1", { type: "message" }),
      c.deleteActivity(url, "a:1", "1"),
      c.getPagedMembers(url, "a:1"),
      c.getMember(url, "a:1", "29:u"),
      c.getTeamDetails(url, "19:t"),
      c.getTeamChannels(url, "19:t"),
    ];
    for (const p of calls) expect((await failure(p)).kind).toBe("untrusted");
    expect(t.calls).toBe(0);
    expect(server.requests.length).toBe(before);
  });
});

describe("keep-alive pool", () => {
  it("reuses connections for sequential requests", async () => {
    const own = await startServer((_req, res) => json(res, 200, { id: "1" }));
    const c = client();
    for (let i = 0; i < 20; i++) await send(c, `${own.url}/teams`);
    expect(own.requests).toHaveLength(20);
    // undici's pool may open a second socket when the next request is dispatched before the
    // first socket reports itself free again; without keep-alive this would be 20.
    expect(own.connections()).toBeLessThanOrEqual(2);
    await own.close();
  });

  it("opens at most connectionsPerOrigin connections; the rest queue", async () => {
    const held = deferred();
    const own = await startServer(async (_req, res) => {
      await held.promise;
      json(res, 200, { id: "1" });
    });
    const c = client({ http: { connectionsPerOrigin: 2 } });
    const all = Promise.all(Array.from({ length: 10 }, () => send(c, `${own.url}/teams`)));
    await until(() => own.requests.length === 2);
    expect(own.connections()).toBe(2);
    held.resolve();
    expect(await all).toHaveLength(10);
    expect(own.requests).toHaveLength(10);
    expect(own.connections()).toBe(2);
    await own.close();
  });
});
