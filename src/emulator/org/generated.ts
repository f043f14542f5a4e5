import { pick, unit } from "./hash.js";
import { IdCodec, Kind } from "./ids.js";
import { SmallLookup, stripMri, tenantIndexOf } from "./lookup.js";
import {
  type Org,
  type OrgChannel,
  type OrgChat,
  type OrgTeam,
  type OrgTenant,
  type OrgUser,
  type ThreadTarget,
  UserFlag,
} from "./model.js";
import { channelNames, chatTopics, givenNames, places, slug, surnames, teamNames, tenantNames } from "./names.js";
import { makeStride, type Stride, strideAt, strideHas } from "./stride.js";

/** Flags of a generated organisation. Everything derives from `seed`; nothing is stored per user. */
export interface OrgSpec {
  /** Number of tenants. Default 1. */
  tenants?: number;
  /** Users in all tenants together, split evenly. Default 100. */
  users?: number;
  /** Teams in all tenants together; the first team of each tenant holds all its users. Default 5. */
  teams?: number;
  /** Channels per team, General included. Default 3. */
  channelsPerTeam?: number;
  /** Group chats in all tenants together. Default 5. */
  chats?: number;
  /** Largest member count of a team other than the tenant-wide one. Default 300. */
  teamSize?: number;
  /** Share of users (0..1) who blocked the bot. Default 0.02. */
  blockedShare?: number;
  /** Share of users (0..1) for whom the app is not installed. Default 0.01. */
  uninstalledShare?: number;
}

export const orgSpecDefaults: Required<OrgSpec> = {
  tenants: 1,
  users: 100,
  teams: 5,
  channelsPerTeam: 3,
  chats: 5,
  teamSize: 300,
  blockedShare: 0.02,
  uninstalledShare: 0.01,
};

// Hash kinds for properties (ids use the kinds of ./ids.ts).
const P = { name: 20, place: 21, flags: 22, team: 23, chat: 24, tenantPlace: 25 } as const;

function numbered(list: readonly string[], i: number): string {
  const base = list[i % list.length] ?? "Item";
  const round = Math.floor(i / list.length);
  return round === 0 ? base : `${base} ${round + 1}`;
}

/** Validate a spec: whole numbers where counts are meant, shares within 0..1. */
export function checkOrgSpec(spec: Required<OrgSpec>): string | undefined {
  const counts: (keyof OrgSpec)[] = ["tenants", "users", "teams", "channelsPerTeam", "chats", "teamSize"];
  for (const key of counts) {
    const v = spec[key];
    if (!Number.isInteger(v) || v < 0) return `org.${key} must be a whole number >= 0 (got ${v})`;
  }
  if (spec.tenants < 1) return "org.tenants must be at least 1";
  if (spec.users > 2 ** 31) return "org.users must be at most 2^31";
  if (spec.channelsPerTeam < 1 || spec.channelsPerTeam > 1000) return "org.channelsPerTeam must be within 1..1000";
  for (const key of ["blockedShare", "uninstalledShare"] as const) {
    const v = spec[key];
    if (!(v >= 0 && v <= 1)) return `org.${key} must be within 0..1 (got ${v})`;
  }
  if (spec.blockedShare + spec.uninstalledShare > 1) return "org.blockedShare + org.uninstalledShare must be at most 1";
  return undefined;
}

/** An organisation generated from a seed: instant, and O(tenants + teams + chats) memory. */
export class GeneratedOrg implements Org {
  readonly tenants: readonly OrgTenant[];
  readonly userCount: number;
  readonly teams: readonly OrgTeam[];
  readonly chats: readonly OrgChat[];
  private readonly codec: IdCodec;
  private readonly lookup: SmallLookup;
  private readonly teamStrides: Stride[] = [];
  private readonly chatStrides: Stride[] = [];
  private readonly spec: Required<OrgSpec>;

  constructor(
    readonly seed: number,
    spec: OrgSpec = {},
  ) {
    this.spec = { ...orgSpecDefaults, ...spec };
    const problem = checkOrgSpec(this.spec);
    if (problem) throw new Error(`HERALD_E_EMULATOR_ORG: ${problem}`);
    this.codec = new IdCodec(seed);
    const T = this.spec.tenants;
    this.userCount = this.spec.users;
    const tenants: OrgTenant[] = [];
    let start = 0;
    for (let t = 0; t < T; t++) {
      const count = Math.floor(this.userCount / T) + (t < this.userCount % T ? 1 : 0);
      const name = numbered(tenantNames, t);
      tenants.push({
        index: t,
        id: this.codec.guid(Kind.tenant, t),
        name,
        domain: `${slug(name)}.onmicrosoft.com`,
        userStart: start,
        userCount: count,
      });
      start += count;
    }
    this.tenants = tenants;
    this.teams = Array.from({ length: this.spec.teams }, (_, g) => this.makeTeam(g));
    this.chats = Array.from({ length: this.spec.chats }, (_, c) => this.makeChat(c));
    this.lookup = new SmallLookup(this.tenants, this.teams, this.chats);
  }

  private makeTeam(g: number): OrgTeam {
    const T = this.tenants.length;
    const tenant = this.tenants[g % T]!;
    const position = Math.floor(g / T);
    const n = tenant.userCount;
    const stride =
      position === 0
        ? makeStride(n, n, 0, 1)
        : makeStride(
            n,
            3 + pick(Math.max(1, this.spec.teamSize - 2), this.seed, P.team, g),
            pick(n || 1, this.seed, P.team, g, 1),
            1 + pick(Math.max(1, n - 1), this.seed, P.team, g, 2),
          );
    this.teamStrides.push(stride);
    const id = this.codec.teamId(g);
    const channels: OrgChannel[] = [{ index: 0, id, name: "General" }];
    for (let c = 1; c < this.spec.channelsPerTeam; c++) {
      channels.push({ index: c, id: this.codec.channelId(g, c), name: numbered(channelNames, c - 1) });
    }
    return {
      index: g,
      tenantIndex: tenant.index,
      id,
      name: position === 0 ? `Everyone at ${tenant.name}` : numbered(teamNames, position - 1),
      aadGroupId: this.codec.guid(Kind.group, g),
      channels,
      memberCount: stride.size,
    };
  }

  private makeChat(c: number): OrgChat {
    const tenant = this.tenants[c % this.tenants.length]!;
    const n = tenant.userCount;
    const stride = makeStride(
      n,
      3 + pick(6, this.seed, P.chat, c),
      pick(n || 1, this.seed, P.chat, c, 1),
      1 + pick(Math.max(1, n - 1), this.seed, P.chat, c, 2),
    );
    this.chatStrides.push(stride);
    const topic = unit(this.seed, P.chat, c, 3) < 0.5 ? null : numbered(chatTopics, pick(chatTopics.length, this.seed, P.chat, c, 4));
    return { index: c, tenantIndex: tenant.index, id: this.codec.chatId(c), topic, memberCount: stride.size };
  }

  tenantOfUser(index: number): number {
    return tenantIndexOf(this.tenants, index);
  }

  user(index: number): OrgUser {
    const t = this.tenantOfUser(index);
    const tenant = this.tenants[t]!;
    const givenName = givenNames[pick(givenNames.length, this.seed, P.name, index, 1)]!;
    const surname = surnames[pick(surnames.length, this.seed, P.name, index, 2)]!;
    // Most people of a tenant share its home region; the rest are spread over the world.
    const home = pick(places.length, this.seed, P.tenantPlace, t);
    const placeIndex = unit(this.seed, P.place, index) < 0.6 ? home : pick(places.length, this.seed, P.place, index, 1);
    const [timezone, locale, country] = places[placeIndex]!;
    const upn = `${slug(givenName)}.${slug(surname)}${index - tenant.userStart}@${tenant.domain}`;
    return {
      index,
      tenantIndex: t,
      tenantId: tenant.id,
      id: this.codec.userId(index),
      aadObjectId: this.codec.guid(Kind.aad, index),
      name: `${givenName} ${surname}`,
      givenName,
      surname,
      userPrincipalName: upn,
      email: upn,
      timezone,
      locale,
      country,
    };
  }

  userIndexOf(id: string): number {
    const raw = stripMri(id);
    const index = raw.startsWith("29:") ? this.codec.decodeUserId(raw) : this.codec.decodeGuid(Kind.aad, raw);
    return index >= 0 && index < this.userCount ? index : -1;
  }

  tenantByIdOrDomain(id: string): OrgTenant | undefined {
    return this.lookup.tenant(id);
  }

  teamById(id: string): OrgTeam | undefined {
    return this.lookup.team(id);
  }

  threadTarget(id: string): ThreadTarget | undefined {
    return this.lookup.thread(id);
  }

  personalConversationId(index: number): string {
    return this.codec.personalId(index);
  }

  personalConversationUser(id: string): number {
    const index = this.codec.decodePersonalId(id);
    return index >= 0 && index < this.userCount ? index : -1;
  }

  teamMember(team: number, k: number): number {
    const st = this.teamStrides[team]!;
    return this.tenants[this.teams[team]!.tenantIndex]!.userStart + strideAt(st, k);
  }

  isTeamMember(team: number, user: number): boolean {
    const t = this.teams[team];
    if (!t) return false;
    return strideHas(this.teamStrides[team]!, user - this.tenants[t.tenantIndex]!.userStart);
  }

  chatMember(chat: number, k: number): number {
    const st = this.chatStrides[chat]!;
    return this.tenants[this.chats[chat]!.tenantIndex]!.userStart + strideAt(st, k);
  }

  isChatMember(chat: number, user: number): boolean {
    const c = this.chats[chat];
    if (!c) return false;
    return strideHas(this.chatStrides[chat]!, user - this.tenants[c.tenantIndex]!.userStart);
  }

  initialFlags(index: number): number {
    const r = unit(this.seed, P.flags, index);
    if (r < this.spec.blockedShare) return UserFlag.blocked;
    if (r < this.spec.blockedShare + this.spec.uninstalledShare) return UserFlag.uninstalled;
    return 0;
  }
}
