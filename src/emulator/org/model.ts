/**
 * The simulated organisation as the rest of the emulator sees it. Tenants, teams, channels and
 * group chats are few and held as objects; users can be a million, so they are addressed by
 * index and materialised on demand. Users of a tenant occupy one contiguous index range.
 */

export interface OrgTenant {
  index: number;
  /** Entra tenant id (GUID). */
  id: string;
  name: string;
  /** e.g. `contoso.onmicrosoft.com`. */
  domain: string;
  /** First user index of the tenant. */
  userStart: number;
  userCount: number;
}

export interface OrgUser {
  index: number;
  tenantIndex: number;
  tenantId: string;
  /** Teams id `29:...`. */
  id: string;
  /** Entra object id (GUID). */
  aadObjectId: string;
  name: string;
  givenName: string;
  surname: string;
  /** Sign-in name; the Connector no longer returns it, Graph does. */
  userPrincipalName: string;
  email: string;
  /** IANA time zone, e.g. `Europe/Paris`. */
  timezone: string;
  /** BCP 47, e.g. `fr-FR`. */
  locale: string;
  /** ISO 3166 country, e.g. `FR`. */
  country: string;
}

export interface OrgChannel {
  /** 0 = General (its id is the team id; the Connector reports its name as null). */
  index: number;
  id: string;
  name: string;
}

export interface OrgTeam {
  index: number;
  tenantIndex: number;
  /** Team id = id of its General channel (`19:...@thread.tacv2`). */
  id: string;
  name: string;
  /** Entra group id of the team (GUID). */
  aadGroupId: string;
  channels: readonly OrgChannel[];
  memberCount: number;
}

export interface OrgChat {
  index: number;
  tenantIndex: number;
  /** `19:...@thread.v2`. */
  id: string;
  topic: string | null;
  memberCount: number;
}

/** Initial state of a user: 0 = the app is installed and can write to them. */
export const UserFlag = {
  /** The user blocked the bot: sends answer 403 MessageWritesBlocked. */
  blocked: 1,
  /** The app is not installed for the user: sends answer 403/404, creates 403. */
  uninstalled: 2,
} as const;

/** What a `19:` id names. */
export type ThreadTarget = { kind: "channel"; team: OrgTeam; channel: OrgChannel } | { kind: "chat"; chat: OrgChat };

export interface Org {
  readonly seed: number;
  readonly tenants: readonly OrgTenant[];
  readonly userCount: number;
  readonly teams: readonly OrgTeam[];
  readonly chats: readonly OrgChat[];
  /** The user at `index` (0 <= index < userCount), built on demand. */
  user(index: number): OrgUser;
  /** Tenant index of a user index. */
  tenantOfUser(index: number): number;
  /** Index of the user with this Teams id (`29:...`) or Entra object id; -1 when none. */
  userIndexOf(id: string): number;
  tenantByIdOrDomain(id: string): OrgTenant | undefined;
  /** A team by its id (= General channel id) or Entra group id. */
  teamById(id: string): OrgTeam | undefined;
  /** The channel or group chat a `19:` id names (without any `;messageid=` suffix). */
  threadTarget(id: string): ThreadTarget | undefined;
  /** The 1:1 conversation id of a user. */
  personalConversationId(index: number): string;
  /** User index of a 1:1 conversation id; -1 when none. */
  personalConversationUser(id: string): number;
  /** User index of member `k` (0 <= k < memberCount) of a team. */
  teamMember(team: number, k: number): number;
  isTeamMember(team: number, user: number): boolean;
  chatMember(chat: number, k: number): number;
  isChatMember(chat: number, user: number): boolean;
  /** Initial `UserFlag` bits of a user. */
  initialFlags(index: number): number;
}
