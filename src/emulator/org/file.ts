import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
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
import { places, slug } from "./names.js";

/**
 * An organisation described in a YAML or JSON file. Any id left out is derived from the seed
 * exactly as a generated organisation would; a team without `members` holds every user of its
 * tenant; members are named by Teams id, Entra object id, e-mail/UPN or display name.
 *
 * ```yaml
 * seed: 7
 * tenants:
 *   - name: Contoso
 *     users:
 *       - { name: Ada Lovelace, timezone: Europe/London, locale: en-GB }
 *       - { givenName: Alan, surname: Turing, blocked: true }
 *     teams:
 *       - { name: Engineering, channels: [Announcements], members: [Ada Lovelace] }
 *     chats:
 *       - { topic: Lunch, members: [Ada Lovelace, Alan Turing] }
 * ```
 */
const userSchema = z
  .object({
    id: z.string().startsWith("29:").optional(),
    aadObjectId: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    givenName: z.string().min(1).optional(),
    surname: z.string().min(1).optional(),
    email: z.string().min(1).optional(),
    userPrincipalName: z.string().min(1).optional(),
    timezone: z.string().min(1).optional(),
    locale: z.string().min(1).optional(),
    country: z.string().length(2).optional(),
    blocked: z.boolean().optional(),
    uninstalled: z.boolean().optional(),
  })
  .strict()
  .refine((u) => u.name !== undefined || u.givenName !== undefined, { message: "a user needs a name or a givenName" });

const channelSchema = z.union([
  z.string().min(1),
  z.object({ name: z.string().min(1), id: z.string().startsWith("19:").optional() }).strict(),
]);

const teamSchema = z
  .object({
    name: z.string().min(1),
    id: z.string().startsWith("19:").optional(),
    aadGroupId: z.string().min(1).optional(),
    channels: z.array(channelSchema).optional(),
    members: z.array(z.string().min(1)).optional(),
  })
  .strict();

const chatSchema = z
  .object({
    topic: z.string().nullable().optional(),
    id: z.string().startsWith("19:").optional(),
    members: z.array(z.string().min(1)).min(2),
  })
  .strict();

const tenantSchema = z
  .object({
    id: z.string().min(1).optional(),
    name: z.string().min(1),
    domain: z.string().min(1).optional(),
    users: z.array(userSchema),
    teams: z.array(teamSchema).optional(),
    chats: z.array(chatSchema).optional(),
  })
  .strict();

export const orgFileSchema = z.object({ seed: z.number().int().optional(), tenants: z.array(tenantSchema).min(1) }).strict();
export type OrgFile = z.infer<typeof orgFileSchema>;

class ExplicitOrg implements Org {
  readonly userCount: number;
  private readonly lookup: SmallLookup;
  private readonly byId = new Map<string, number>();
  private readonly codec: IdCodec;

  constructor(
    readonly seed: number,
    readonly tenants: readonly OrgTenant[],
    private readonly users: readonly OrgUser[],
    private readonly flags: Uint8Array,
    readonly teams: readonly OrgTeam[],
    private readonly teamMembers: readonly number[][],
    readonly chats: readonly OrgChat[],
    private readonly chatMembers: readonly number[][],
  ) {
    this.userCount = users.length;
    this.codec = new IdCodec(seed);
    for (const u of users) {
      this.byId.set(u.id.toLowerCase(), u.index);
      this.byId.set(u.aadObjectId.toLowerCase(), u.index);
    }
    this.lookup = new SmallLookup(tenants, teams, chats);
  }

  user(index: number): OrgUser {
    const u = this.users[index];
    if (!u) throw new RangeError(`no user ${index}`);
    return u;
  }
  tenantOfUser(index: number): number {
    return tenantIndexOf(this.tenants, index);
  }
  userIndexOf(id: string): number {
    return this.byId.get(stripMri(id).toLowerCase()) ?? -1;
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
    return this.teamMembers[team]?.[k] ?? -1;
  }
  isTeamMember(team: number, user: number): boolean {
    return this.teamMembers[team]?.includes(user) ?? false;
  }
  chatMember(chat: number, k: number): number {
    return this.chatMembers[chat]?.[k] ?? -1;
  }
  isChatMember(chat: number, user: number): boolean {
    return this.chatMembers[chat]?.includes(user) ?? false;
  }
  initialFlags(index: number): number {
    return this.flags[index] ?? 0;
  }
}

/** Build an organisation from parsed YAML/JSON; throws HERALD_E_EMULATOR_ORG naming the bad field. */
export function orgFromData(data: unknown, defaultSeed = 1): Org {
  const parsed = orgFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `HERALD_E_EMULATOR_ORG: ${issue?.path.join(".") || "(file)"}: ${issue?.message ?? "invalid"}; fix the organisation file`,
    );
  }
  const file = parsed.data;
  const seed = file.seed ?? defaultSeed;
  const codec = new IdCodec(seed);
  const tenants: OrgTenant[] = [];
  const users: OrgUser[] = [];
  const flags: number[] = [];
  const teams: OrgTeam[] = [];
  const teamMembers: number[][] = [];
  const chats: OrgChat[] = [];
  const chatMembers: number[][] = [];

  file.tenants.forEach((ft, t) => {
    const tenant: OrgTenant = {
      index: t,
      id: ft.id ?? codec.guid(Kind.tenant, t),
      name: ft.name,
      domain: ft.domain ?? `${slug(ft.name)}.onmicrosoft.com`,
      userStart: users.length,
      userCount: ft.users.length,
    };
    tenants.push(tenant);
    const refs = new Map<string, number>();
    for (const fu of ft.users) {
      const index = users.length;
      const givenName = fu.givenName ?? fu.name?.split(" ")[0] ?? "User";
      const surname = fu.surname ?? fu.name?.split(" ").slice(1).join(" ") ?? "";
      const name = fu.name ?? `${givenName} ${surname}`.trim();
      const place = places.find((p) => p[0] === fu.timezone) ?? places[0];
      const upn = fu.userPrincipalName ?? fu.email ?? `${slug(givenName)}.${slug(surname)}@${tenant.domain}`;
      const user: OrgUser = {
        index,
        tenantIndex: t,
        tenantId: tenant.id,
        id: fu.id ?? codec.userId(index),
        aadObjectId: fu.aadObjectId ?? codec.guid(Kind.aad, index),
        name,
        givenName,
        surname,
        userPrincipalName: upn,
        email: fu.email ?? upn,
        timezone: fu.timezone ?? place[0],
        locale: fu.locale ?? place[1],
        country: fu.country ?? fu.locale?.split("-")[1] ?? place[2],
      };
      users.push(user);
      flags.push(fu.blocked ? UserFlag.blocked : fu.uninstalled ? UserFlag.uninstalled : 0);
      for (const key of [user.id, user.aadObjectId, user.email, user.userPrincipalName, user.name]) refs.set(key.toLowerCase(), index);
    }
    const resolve = (ref: string, where: string): number => {
      const index = refs.get(ref.toLowerCase());
      if (index === undefined)
        throw new Error(
          `HERALD_E_EMULATOR_ORG: ${where}: no user "${ref}" in tenant ${ft.name}; name members by id, aadObjectId, email or name`,
        );
      return index;
    };
    (ft.teams ?? []).forEach((fteam, k) => {
      const g = teams.length;
      const id = fteam.id ?? codec.teamId(g);
      const channels: OrgChannel[] = [{ index: 0, id, name: "General" }];
      for (const ch of fteam.channels ?? []) {
        const spec = typeof ch === "string" ? { name: ch, id: undefined } : ch;
        if (spec.name === "General") continue;
        channels.push({ index: channels.length, id: spec.id ?? codec.channelId(g, channels.length), name: spec.name });
      }
      const members = fteam.members
        ? fteam.members.map((m) => resolve(m, `tenants.${t}.teams.${k}.members`))
        : Array.from({ length: tenant.userCount }, (_, i) => tenant.userStart + i);
      teams.push({
        index: g,
        tenantIndex: t,
        id,
        name: fteam.name,
        aadGroupId: fteam.aadGroupId ?? codec.guid(Kind.group, g),
        channels,
        memberCount: members.length,
      });
      teamMembers.push(members);
    });
    (ft.chats ?? []).forEach((fchat, k) => {
      const c = chats.length;
      const members = fchat.members.map((m) => resolve(m, `tenants.${t}.chats.${k}.members`));
      chats.push({ index: c, tenantIndex: t, id: fchat.id ?? codec.chatId(c), topic: fchat.topic ?? null, memberCount: members.length });
      chatMembers.push(members);
    });
  });
  return new ExplicitOrg(seed, tenants, users, Uint8Array.from(flags), teams, teamMembers, chats, chatMembers);
}

/** Read an organisation from a `.yaml`, `.yml` or `.json` file (YAML is a superset of JSON). */
export async function loadOrgFile(path: string, defaultSeed = 1): Promise<Org> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`HERALD_E_EMULATOR_ORG: cannot read organisation file ${path} (${(err as Error).message}); check the path`);
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new Error(`HERALD_E_EMULATOR_ORG: ${path} is not valid YAML/JSON (${(err as Error).message})`);
  }
  return orgFromData(data, defaultSeed);
}
