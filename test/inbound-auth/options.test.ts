import { describe, expect, it } from "vitest";
import { clouds } from "../../src/config/clouds.js";
import { ConfigError, loadConfig } from "../../src/config/config.js";
import { inboundVerifierOptions } from "../../src/inbound/auth/options.js";
import { createInboundVerifier } from "../../src/inbound/auth/verifier.js";
import type { InboundVerifier as BotEndpointVerifier } from "../../src/inbound/route.js";

const base = { HERALD_APP_ID: "app-1", HERALD_DATABASE_URL: "sqlite::memory:" };

describe("inboundVerifierOptions", () => {
  it("takes the cloud's issuer and metadata URL by default", () => {
    const config = loadConfig(base);
    expect(inboundVerifierOptions(config, clouds.public)).toEqual({
      appId: "app-1",
      issuer: "https://api.botframework.com",
      openIdMetadataUrl: "https://login.botframework.com/v1/.well-known/openidconfiguration",
    });
    expect(inboundVerifierOptions(loadConfig({ ...base, HERALD_CLOUD: "gcch" }), clouds.gcch)).toMatchObject({
      issuer: "https://api.botframework.us",
      openIdMetadataUrl: "https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
    });
  });

  it("lets HERALD_TOKEN_ISSUER and HERALD_OPENID_METADATA_URL override them", () => {
    const config = loadConfig({
      ...base,
      HERALD_TOKEN_ISSUER: "https://emulator.local",
      HERALD_OPENID_METADATA_URL: "http://127.0.0.1:4000/v1/.well-known/openidconfiguration",
    });
    expect(inboundVerifierOptions(config, clouds.public)).toEqual({
      appId: "app-1",
      issuer: "https://emulator.local",
      openIdMetadataUrl: "http://127.0.0.1:4000/v1/.well-known/openidconfiguration",
    });
  });

  it("refuses to build options without an app id", () => {
    const config = loadConfig({ HERALD_INBOUND_AUTH: "off", HERALD_DATABASE_URL: "sqlite::memory:" });
    expect(() => inboundVerifierOptions(config, clouds.public)).toThrow(ConfigError);
  });

  it("createInboundVerifier refuses options that are programming errors", () => {
    const ok = { appId: "app-1", issuer: "https://api.botframework.com", openIdMetadataUrl: "http://127.0.0.1:1/x" };
    expect(() => createInboundVerifier({ ...ok, appId: " " })).toThrow(/appId/);
    expect(() => createInboundVerifier({ ...ok, issuer: "" })).toThrow(/issuer/);
    expect(() => createInboundVerifier({ ...ok, openIdMetadataUrl: "not a url" })).toThrow(/openIdMetadataUrl/);
  });

  it("fits the InboundVerifier port the bot endpoint (src/inbound/route.ts) expects", () => {
    // A compile-time check as much as a runtime one: tsc fails here if the shapes drift apart.
    const verifier: BotEndpointVerifier = createInboundVerifier({
      appId: "app-1",
      issuer: "https://api.botframework.com",
      openIdMetadataUrl: "http://127.0.0.1:1/x",
    });
    expect(typeof verifier.verify).toBe("function");
  });
});
