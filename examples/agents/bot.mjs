// A Microsoft 365 Agents SDK bot (AgentApplication) with Herald inside: the agent answers its
// users itself; Herald keeps every conversation reference and sends notifications with the
// agent's own connection. Run: node examples/agents/bot.mjs   (see examples/README.md)
import { AgentApplication, CloudAdapter, MemoryStorage } from "@microsoft/agents-hosting";
import { createHerald } from "herald";
import { agentsTokens, useHerald } from "herald/agents";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { botHandle, emulatorToken, emulatorUrls, listenForActivities, runIfMain } from "../emulator.mjs";

/**
 * In production the adapter's own MsalTokenProvider gets the tokens. MSAL refuses the
 * emulator's http authority, so here an AuthProvider makes the same client-credentials request.
 */
class EmulatorTokenProvider {
  constructor(tokenUrl, connectionSettings) {
    this.tokenUrl = tokenUrl;
    this.connectionSettings = connectionSettings;
    this.cached = undefined;
  }
  async getAccessToken(authConfigOrScope, scope) {
    const wanted = typeof authConfigOrScope === "string" ? authConfigOrScope : (scope ?? "https://api.botframework.com");
    const full = wanted.endsWith("/.default") ? wanted : `${wanted}/.default`;
    if (this.cached && this.cached.scope === full && this.cached.until > Date.now()) return this.cached.token;
    const { clientId, clientSecret } = this.connectionSettings;
    const { token, expiresIn } = await emulatorToken(this.tokenUrl, clientId, clientSecret, full);
    this.cached = { scope: full, token, until: Date.now() + (expiresIn - 300) * 1000 };
    return token;
  }
  acquireTokenOnBehalfOf() {
    return Promise.reject(new Error("on-behalf-of is not used by this example"));
  }
}

/**
 * In production the SDK's `authorizeJWT` verifies each request. It fetches the Bot Framework
 * issuer's keys from login.botframework.com (a fixed URL), so against the emulator the same
 * checks (signature, issuer, audience, serviceurl) are made with the emulator's keys, and the
 * claims are put on `req.user` as authorizeJWT does.
 */
function emulatorJwt(openIdMetadataUrl, appId) {
  const jwks = createRemoteJWKSet(new URL(openIdMetadataUrl.replace(/openidconfiguration$/, "keys")));
  return async (req) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!token) return undefined;
    const { payload } = await jwtVerify(token, jwks, { issuer: "https://api.botframework.com", audience: appId });
    if (payload.serviceurl !== req.body?.serviceUrl) return undefined;
    return payload;
  };
}

/** Start the agent on `port`: AgentApplication with Herald registered before its routes. */
export async function startBot({ emulatorUrl, appId, secret, port = 3978, databaseUrl, logLevel = "info" }) {
  const urls = emulatorUrls(emulatorUrl);
  const settings = { clientId: appId, clientSecret: secret, tenantId: "botframework.com" };
  const provider = new EmulatorTokenProvider(urls.tokenUrl, settings);
  const adapter = new CloudAdapter(settings);
  adapter.connectionManager = {
    getConnection: () => provider,
    getDefaultConnection: () => provider,
    getTokenProvider: () => provider,
    getTokenProviderFromActivity: () => provider,
    getDefaultConnectionConfiguration: () => settings,
  };
  const herald = await createHerald({
    appId,
    databaseUrl,
    logLevel,
    openIdMetadataUrl: urls.openIdMetadataUrl,
    trustedHosts: "127.0.0.1",
    tokens: agentsTokens(adapter.connectionManager.getDefaultConnection()),
  });
  const app = new AgentApplication({ adapter, storage: new MemoryStorage() });
  useHerald(app, herald);
  app.onActivity("message", async (context) => {
    await context.sendActivity(`You said "${context.activity.text}"`);
  });
  const verify = emulatorJwt(urls.openIdMetadataUrl, appId);
  const endpoint = await listenForActivities(port, async (req, res) => {
    req.user = await verify(req).catch(() => undefined);
    if (!req.user) return res.status(401).send({ error: "unauthorized" });
    return adapter.process(req, res, (context) => app.run(context));
  });
  return botHandle(endpoint, herald, { app });
}

await runIfMain(import.meta.url, "agents", startBot);
