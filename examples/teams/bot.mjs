// A Teams SDK (v2, @microsoft/teams.apps) bot with Herald inside: the app answers its users
// itself; Herald keeps every conversation reference and sends notifications with the app's own
// credentials. Run: node examples/teams/bot.mjs   (see examples/README.md)
import { PUBLIC, withOverrides } from "@microsoft/teams.api";
import { App } from "@microsoft/teams.apps";
import { createHerald } from "herald";
import { teamsTokens, useHerald } from "herald/teams";
import { botHandle, emulatorToken, emulatorUrls, listenForActivities, runIfMain } from "../emulator.mjs";

/**
 * The App's HTTP server is pluggable (`httpServerAdapter`); this one hands `POST /api/messages`
 * from a plain Node server to the App, which verifies the token and runs the handlers.
 */
class NodeServerAdapter {
  registerRoute(_method, _path, handler) {
    this.handler = handler;
  }
}

/** Start the app on `port`: Herald registered first (`app.use`), then the app's own handlers. */
export async function startBot({ emulatorUrl, appId, secret, port = 3978, databaseUrl, logLevel = "info" }) {
  const urls = emulatorUrls(emulatorUrl);
  const server = new NodeServerAdapter();
  let cached;
  const app = new App({
    clientId: appId,
    // In production give `clientSecret` and the App's MSAL client gets tokens; MSAL refuses the
    // emulator's http authority, so this `token` function makes the same client-credentials request.
    token: async () => {
      if (cached && cached.until > Date.now()) return cached.token;
      const { token, expiresIn } = await emulatorToken(urls.tokenUrl, appId, secret);
      cached = { token, until: Date.now() + (expiresIn - 300) * 1000 };
      return token;
    },
    // The Connector's signing keys: the emulator's instead of login.botframework.com's.
    cloud: withOverrides(PUBLIC, { openIdMetadataUrl: urls.openIdMetadataUrl }),
    httpServerAdapter: server,
  });
  const herald = await createHerald({
    appId,
    databaseUrl,
    logLevel,
    openIdMetadataUrl: urls.openIdMetadataUrl,
    trustedHosts: "127.0.0.1",
    tokens: teamsTokens(app),
  });
  useHerald(app, herald);
  app.on("message", async ({ send, activity }) => {
    await send(`You said "${activity.text}"`);
  });
  await app.initialize();
  const endpoint = await listenForActivities(port, async (req, res) => {
    const answer = await server.handler({ body: req.body, headers: req.headers });
    res.status(answer.status).send(answer.body);
  });
  return botHandle(endpoint, herald, { app });
}

await runIfMain(import.meta.url, "teams", startBot);
