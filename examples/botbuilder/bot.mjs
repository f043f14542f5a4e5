// A Bot Framework SDK v4 (botbuilder) bot with Herald inside: the bot answers its users itself;
// Herald keeps every conversation reference and sends notifications with the bot's credentials.
// Run: node examples/botbuilder/bot.mjs   (see examples/README.md)
import { ActivityHandler, CloudAdapter, ConfigurationBotFrameworkAuthentication } from "botbuilder";
import { AppCredentials, ServiceClientCredentialsFactory } from "botframework-connector";
import { createHerald } from "herald";
import { botbuilderTokens, heraldMiddleware } from "herald/botbuilder";
import { botHandle, emulatorToken, emulatorUrls, listenForActivities, runIfMain } from "../emulator.mjs";

/**
 * In production use botbuilder's own credentials (MicrosoftAppCredentials through
 * ConfigurationServiceClientCredentialFactory). They get tokens with MSAL, which refuses the
 * emulator's http token endpoint, so here the same client-credentials request is made directly.
 */
class EmulatorCredentials extends AppCredentials {
  constructor(appId, secret, loginUrl, tokenUrl) {
    super(appId, undefined, "https://api.botframework.com");
    this.oAuthEndpoint = loginUrl;
    this.secret = secret;
    this.tokenUrl = tokenUrl;
  }
  async refreshToken() {
    const { token, expiresIn } = await emulatorToken(this.tokenUrl, this.appId, this.secret);
    return { accessToken: token, expiresOn: new Date(Date.now() + expiresIn * 1000) };
  }
}

class EmulatorCredentialsFactory extends ServiceClientCredentialsFactory {
  constructor(credentials) {
    super();
    this.credentials = credentials;
  }
  async isValidAppId(appId) {
    return appId === this.credentials.appId;
  }
  async isAuthenticationDisabled() {
    return false;
  }
  async createCredentials() {
    return this.credentials;
  }
}

/** The bot's own behaviour: it answers messages; installs, references and notifications are Herald's. */
class EchoBot extends ActivityHandler {
  constructor() {
    super();
    this.onMessage(async (context, next) => {
      await context.sendActivity(`You said "${context.activity.text}"`);
      await next();
    });
  }
}

/** Start the bot on `port`: CloudAdapter with Herald's middleware, verifying the emulator's signed activities. */
export async function startBot({ emulatorUrl, appId, secret, port = 3978, databaseUrl, logLevel = "info" }) {
  const urls = emulatorUrls(emulatorUrl);
  const credentials = new EmulatorCredentials(appId, secret, urls.loginUrl, urls.tokenUrl);
  const auth = new ConfigurationBotFrameworkAuthentication(
    {
      MicrosoftAppId: appId,
      MicrosoftAppType: "MultiTenant",
      // Setting one endpoint makes botbuilder take all of them from here (public cloud values
      // except where the emulator stands in for Microsoft: its token endpoint and signing keys).
      ValidateAuthority: true,
      ToChannelFromBotLoginUrl: urls.loginUrl,
      ToChannelFromBotOAuthScope: "https://api.botframework.com",
      ToBotFromChannelTokenIssuer: "https://api.botframework.com",
      ToBotFromChannelOpenIdMetadataUrl: urls.openIdMetadataUrl,
      ToBotFromEmulatorOpenIdMetadataUrl: urls.openIdMetadataUrl,
      OAuthUrl: "https://api.botframework.com",
      CallerId: "urn:botframework:azure",
    },
    new EmulatorCredentialsFactory(credentials),
  );
  const adapter = new CloudAdapter(auth);
  const herald = await createHerald({
    appId,
    databaseUrl,
    logLevel,
    openIdMetadataUrl: urls.openIdMetadataUrl,
    trustedHosts: "127.0.0.1",
    tokens: botbuilderTokens(credentials),
  });
  adapter.use(heraldMiddleware(herald));
  const bot = new EchoBot();
  const endpoint = await listenForActivities(port, (req, res) => adapter.process(req, res, (context) => bot.run(context)));
  return botHandle(endpoint, herald, { adapter });
}

await runIfMain(import.meta.url, "botbuilder", startBot);
