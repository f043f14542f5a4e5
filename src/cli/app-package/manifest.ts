import { z } from "zod";

/**
 * The Teams app manifest Herald's package carries (schema v1.17,
 * https://developer.microsoft.com/json-schemas/teams/v1.17/MicrosoftTeams.schema.json) and a
 * check against it. Microsoft's `@microsoft/teams-manifest` (which validates against the
 * published schema) is not a Herald dependency, and the published schema is fetched from the
 * internet, so the check is a bundled subset of that schema: every field Herald writes, with
 * the schema's types, patterns, enums and lengths (`manifestSubsetSchema`).
 */
export const MANIFEST_VERSION = "1.17";
export const MANIFEST_SCHEMA_URL = `https://developer.microsoft.com/json-schemas/teams/v${MANIFEST_VERSION}/MicrosoftTeams.schema.json`;

/** The resource-specific permission read receipts need (protocol reference, section 2). */
export const READ_RECEIPT_PERMISSION = "ChatMessageReadReceipt.Read.Chat";

const guid = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, "must be a GUID");
const httpsUrl = z
  .string()
  .max(2048)
  .regex(/^[Hh][Tt][Tt][Pp][Ss]:\/\/[^\s]*$/, "must be an https URL");
const semver = z
  .string()
  .max(256)
  .regex(/^([0-9]|[1-9][0-9]*)\.([0-9]|[1-9][0-9]*)\.([0-9]|[1-9][0-9]*)$/, "must be MAJOR.MINOR.PATCH");

/** The subset of the v1.17 schema that covers what `buildManifest` writes. */
export const manifestSubsetSchema = z.strictObject({
  $schema: z.literal(MANIFEST_SCHEMA_URL),
  manifestVersion: z.literal(MANIFEST_VERSION),
  version: semver,
  id: guid,
  developer: z.strictObject({
    name: z.string().min(1).max(32),
    websiteUrl: httpsUrl,
    privacyUrl: httpsUrl,
    termsOfUseUrl: httpsUrl,
  }),
  name: z.strictObject({ short: z.string().min(1).max(30), full: z.string().min(1).max(100) }),
  description: z.strictObject({ short: z.string().min(1).max(80), full: z.string().min(1).max(4000) }),
  icons: z.strictObject({ outline: z.string().min(1).max(2048), color: z.string().min(1).max(2048) }),
  accentColor: z.string().regex(/^#[0-9a-fA-F]{6}$/, "must be #RRGGBB"),
  bots: z
    .array(
      z.strictObject({
        botId: guid,
        scopes: z
          .array(z.enum(["team", "personal", "groupChat"]))
          .min(1)
          .max(3),
        supportsFiles: z.boolean(),
        isNotificationOnly: z.boolean(),
      }),
    )
    .max(1),
  permissions: z.array(z.enum(["identity", "messageTeamMembers"])).max(2),
  validDomains: z.array(z.string().max(2048)).max(16),
  webApplicationInfo: z.strictObject({ id: guid, resource: z.string().max(2048) }),
  authorization: z.strictObject({
    permissions: z.strictObject({
      resourceSpecific: z.array(z.strictObject({ name: z.string().min(1).max(128), type: z.enum(["Application", "Delegated"]) })).max(16),
    }),
  }),
});

export type TeamsManifest = z.infer<typeof manifestSubsetSchema>;

/** What the operator chooses for the package. */
export interface ManifestOptions {
  appId: string;
  version: string;
  shortName: string;
  fullName?: string | undefined;
  shortDescription?: string | undefined;
  fullDescription?: string | undefined;
  developerName: string;
  websiteUrl: string;
  privacyUrl: string;
  termsOfUseUrl: string;
  accentColor: string;
}

/** The manifest: the bot in personal, team and group-chat scope, and the read-receipt RSC permission. */
export function buildManifest(o: ManifestOptions): TeamsManifest {
  return {
    $schema: MANIFEST_SCHEMA_URL,
    manifestVersion: MANIFEST_VERSION,
    version: o.version,
    // The manifest id is the bot's app id: Herald finds the app in a tenant's catalog by externalId = HERALD_APP_ID.
    id: o.appId,
    developer: { name: o.developerName, websiteUrl: o.websiteUrl, privacyUrl: o.privacyUrl, termsOfUseUrl: o.termsOfUseUrl },
    name: { short: o.shortName, full: o.fullName ?? o.shortName },
    description: {
      short: o.shortDescription ?? "Notifications from your organisation, in Teams.",
      full:
        o.fullDescription ??
        "Announcements, alerts and reminders from your organisation, delivered to you in a chat with this app. Type help in the chat to see what you can do, stop to opt out.",
    },
    icons: { outline: "outline.png", color: "color.png" },
    accentColor: o.accentColor,
    bots: [{ botId: o.appId, scopes: ["personal", "team", "groupChat"], supportsFiles: false, isNotificationOnly: false }],
    permissions: ["identity", "messageTeamMembers"],
    validDomains: [],
    // Resource-specific consent needs the app's Entra id here.
    webApplicationInfo: { id: o.appId, resource: "https://RscPermission" },
    authorization: { permissions: { resourceSpecific: [{ name: READ_RECEIPT_PERMISSION, type: "Application" }] } },
  };
}

/** Problems of a manifest against the bundled schema subset, as `path: message` lines; empty when valid. */
export function manifestProblems(manifest: unknown): string[] {
  const r = manifestSubsetSchema.safeParse(manifest);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
}
