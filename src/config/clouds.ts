/**
 * Per-cloud endpoints of the Bot Framework (protocol reference, section 4).
 * GCC moderate uses the public cloud's login and Connector scope; GCC High and DoD share the
 * US government values; China is operated by 21Vianet.
 *
 * Sources of the default service URLs (used only when no serviceUrl is known for a tenant: an
 * activity's own serviceUrl always wins):
 * - [proactive]: Microsoft Learn, Teams platform, "Proactive messages"
 *   (learn.microsoft.com/microsoftteams/platform/bots/how-to/conversations/send-proactive-messages,
 *   current text, 2025+): "Bots are available in GCC, GCC High, DoD and Teams operated by
 *   21Vianet"; proactive endpoints GCC `https://smba.infra.gcc.teams.microsoft.com/teams`, GCC High
 *   `https://smba.infra.gov.teams.microsoft.us/teams`, DoD `https://smba.infra.dod.teams.microsoft.us/teams`.
 *   The same values are `TeamsServiceEndpoints` of Microsoft's Agents SDK (@microsoft/agents-hosting).
 *   Older text of that page (2022-2024) said `/gcc` and `/gcch` and "not in DoD"; Microsoft
 *   has since replaced it. The path does not matter for trust (hosts are checked, not paths).
 * - [teams-sdk]: Microsoft's Teams SDK `CloudEnvironment.China` (`allowedServiceUrls`); Microsoft
 *   documents no proactive default for 21Vianet and tells bots to use the incoming serviceUrl.
 */
export type CloudName = "public" | "gcc" | "gcch" | "dod" | "china";
/** Every HERALD_CLOUD value, in the order help lists them. */
export const cloudNames: readonly CloudName[] = ["public", "gcc", "gcch", "dod", "china"];

/** The endpoints and trusted hosts of one cloud. */
export interface Cloud {
  name: CloudName;
  /** Authority host for client credentials (`https://<host>/<tenant>/oauth2/v2.0/token`). */
  loginHost: string;
  /** Tenant used by legacy multi-tenant bots. */
  multiTenantAuthority: string;
  /** OAuth scope of the Connector. */
  connectorScope: string;
  /** `iss` of inbound tokens signed by the Connector. */
  tokenIssuer: string;
  openIdMetadataUrl: string;
  /** Where to send when no serviceUrl is known. */
  defaultServiceUrl: string;
  graphUrl: string;
  /**
   * Hosts allowed as a serviceUrl (section 5). A leading `*.` matches any subdomain.
   * Tokens and traffic only ever go to these (plus HERALD_TRUSTED_HOSTS).
   */
  trustedHosts: readonly string[];
}

// Exact host for trafficmanager.net: any Azure customer can create `<name>.trafficmanager.net`.
const publicTrusted = ["smba.trafficmanager.net", "*.teams.microsoft.com", "*.botframework.com"];

/** The values of each cloud (protocol reference, section 4); HERALD_* overrides win over these. */
export const clouds: Readonly<Record<CloudName, Cloud>> = {
  public: {
    name: "public",
    loginHost: "login.microsoftonline.com",
    multiTenantAuthority: "botframework.com",
    connectorScope: "https://api.botframework.com/.default",
    tokenIssuer: "https://api.botframework.com",
    openIdMetadataUrl: "https://login.botframework.com/v1/.well-known/openidconfiguration",
    // [proactive] and the protocol's documented global fallback.
    defaultServiceUrl: "https://smba.trafficmanager.net/teams/",
    graphUrl: "https://graph.microsoft.com",
    trustedHosts: publicTrusted,
  },
  gcc: {
    name: "gcc",
    loginHost: "login.microsoftonline.com",
    multiTenantAuthority: "botframework.com",
    connectorScope: "https://api.botframework.com/.default",
    tokenIssuer: "https://api.botframework.com",
    openIdMetadataUrl: "https://login.botframework.com/v1/.well-known/openidconfiguration",
    // [proactive]: "GCC: https://smba.infra.gcc.teams.microsoft.com/teams".
    defaultServiceUrl: "https://smba.infra.gcc.teams.microsoft.com/teams",
    graphUrl: "https://graph.microsoft.com",
    trustedHosts: publicTrusted,
  },
  gcch: {
    name: "gcch",
    loginHost: "login.microsoftonline.us",
    multiTenantAuthority: "MicrosoftServices.onmicrosoft.us",
    connectorScope: "https://api.botframework.us/.default",
    tokenIssuer: "https://api.botframework.us",
    openIdMetadataUrl: "https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
    // [proactive]: "GCC High: https://smba.infra.gov.teams.microsoft.us/teams".
    defaultServiceUrl: "https://smba.infra.gov.teams.microsoft.us/teams",
    graphUrl: "https://graph.microsoft.us",
    trustedHosts: ["*.teams.microsoft.us", "*.botframework.azure.us"],
  },
  dod: {
    name: "dod",
    loginHost: "login.microsoftonline.us",
    multiTenantAuthority: "MicrosoftServices.onmicrosoft.us",
    connectorScope: "https://api.botframework.us/.default",
    tokenIssuer: "https://api.botframework.us",
    openIdMetadataUrl: "https://login.botframework.azure.us/v1/.well-known/openidconfiguration",
    // [proactive]: "DoD: https://smba.infra.dod.teams.microsoft.us/teams" (bots are available in DoD).
    defaultServiceUrl: "https://smba.infra.dod.teams.microsoft.us/teams",
    graphUrl: "https://dod-graph.microsoft.us",
    trustedHosts: ["*.teams.microsoft.us", "*.botframework.azure.us"],
  },
  china: {
    name: "china",
    loginHost: "login.partner.microsoftonline.cn",
    multiTenantAuthority: "microsoftservices.partner.onmschina.cn",
    connectorScope: "https://api.botframework.azure.cn/.default",
    tokenIssuer: "https://api.botframework.azure.cn",
    openIdMetadataUrl: "https://login.botframework.azure.cn/v1/.well-known/openidconfiguration",
    // [teams-sdk]: the 21Vianet Connector host; not a Microsoft-documented proactive default.
    defaultServiceUrl: "https://frontend.botapi.msg.infra.teams.microsoftonline.cn/",
    graphUrl: "https://microsoftgraph.chinacloudapi.cn",
    trustedHosts: ["*.teams.microsoftonline.cn", "*.botframework.azure.cn"],
  },
};
