/**
 * Inbound authentication: verifying the Bot Connector's JWT on `POST /api/messages`
 * (protocol reference, section 3), and a kit that signs such tokens for the emulator and tests.
 */
export type { KeyCachePolicy } from "./cache-policy.js";
export { defaultKeyCachePolicy } from "./cache-policy.js";
export { clockSkewSeconds } from "./claims.js";
export { inboundVerifierOptions } from "./options.js";
export type { InboundAuthCode, InboundClaims, VerifyFailure, VerifyResult } from "./result.js";
export type {
  ActivityTokenOptions,
  CreateSigningKeysOptions,
  OpenIdDocuments,
  OpenIdMetadataDocument,
  PublishedJwk,
  SigningKeys,
} from "./signing.js";
export { createSigningKeys, jwksPath, openIdDocuments, openIdMetadataPath, signActivityToken } from "./signing.js";
export type { InboundVerifier, InboundVerifierOptions, VerifiedActivityFields } from "./verifier.js";
export { createInboundVerifier } from "./verifier.js";
