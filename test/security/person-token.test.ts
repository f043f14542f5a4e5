import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { silentLogger } from "../../src/log.js";
import { sessionCookie } from "../../src/server/dashboard.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import { createStoreFactory } from "../helpers/stores.js";

/**
 * A person session's internal bearer token (`hp_…`) acts as the person only on requests the
 * dashboard's session wrapper forwards (cookie + CSRF): sent by a client itself, as a bearer token
 * or as the "API key" of a new dashboard session, it is refused.
 */

const stores = createStoreFactory("sqlite");
const ADMIN = "admin-key-for-person-token-tests-0123456789";
let herald: Herald;

beforeAll(async () => {
  const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_API_KEY: ADMIN });
  herald = await createHerald(config, { logger: silentLogger, store: await stores.open(), engine: false });
});
afterAll(async () => {
  await herald?.close();
  await stores.cleanup();
});

const request = (path: string, init: RequestInit = {}) => herald.fetch(new Request(`http://herald.test${path}`, init));

it("a valid person token sent directly is refused; the session cookie still works", async () => {
  const session = herald.dashboard.createForPerson({
    keyId: "oidc:t:o",
    scopes: ["admin", "read"],
    person: { username: "pat@contoso.test" },
  });
  expect(session.apiKey.startsWith("hp_")).toBe(true);
  const direct = await request("/v1/notifications", { headers: { authorization: `Bearer ${session.apiKey}` } });
  expect(direct.status).toBe(401);
  expect(((await direct.json()) as { error: { code: string } }).error.code).toBe("HERALD_E_UNAUTHENTICATED");
  // Nor does it make a dashboard session of its own.
  const signIn = await request("/dashboard/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ apiKey: session.apiKey }),
  });
  expect(signIn.status).toBe(401);
  // Through the session's cookie (what the dashboard sends) the person's access stands.
  expect((await request("/v1/notifications", { headers: { cookie: `${sessionCookie}=${session.id}` } })).status).toBe(200);
  // API keys are unaffected.
  expect((await request("/v1/notifications", { headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(200);
});
