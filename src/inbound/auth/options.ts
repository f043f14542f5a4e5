import type { Cloud } from "../../config/clouds.js";
import { type Config, ConfigError } from "../../config/config.js";
import type { InboundVerifierOptions } from "./verifier.js";

/**
 * The verifier's settings from the validated config: the cloud's issuer and OpenID metadata URL
 * (protocol reference, section 4) unless HERALD_TOKEN_ISSUER / HERALD_OPENID_METADATA_URL
 * override them. The composition root adds clock, fetch and logger.
 * Throws ConfigError when HERALD_APP_ID is unset (loadConfig already refuses that with
 * HERALD_INBOUND_AUTH=jwt, so this only fires if the verifier is built with auth off).
 */
export function inboundVerifierOptions(
  config: Pick<Config, "appId" | "tokenIssuer" | "openIdMetadataUrl">,
  cloud: Pick<Cloud, "tokenIssuer" | "openIdMetadataUrl">,
): Pick<InboundVerifierOptions, "appId" | "issuer" | "openIdMetadataUrl"> {
  if (!config.appId) {
    throw new ConfigError([
      "HERALD_APP_ID is required to verify inbound tokens (their audience is the app id). Set it, or use HERALD_INBOUND_AUTH=off with a local emulator.",
    ]);
  }
  return {
    appId: config.appId,
    issuer: config.tokenIssuer ?? cloud.tokenIssuer,
    openIdMetadataUrl: config.openIdMetadataUrl ?? cloud.openIdMetadataUrl,
  };
}
