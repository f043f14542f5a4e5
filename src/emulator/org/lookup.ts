import type { OrgChat, OrgTeam, OrgTenant, ThreadTarget } from "./model.js";

/**
 * Maps from ids to the few objects of an organisation (tenants, teams, channels, chats),
 * shared by the generated and the file-loaded organisation. Keys are lower-cased: Teams ids
 * are compared case-insensitively by clients that re-case GUIDs.
 */
export class SmallLookup {
  private readonly tenants = new Map<string, OrgTenant>();
  private readonly teams = new Map<string, OrgTeam>();
  private readonly threads = new Map<string, ThreadTarget>();

  constructor(tenants: readonly OrgTenant[], teams: readonly OrgTeam[], chats: readonly OrgChat[]) {
    for (const t of tenants) {
      this.tenants.set(t.id.toLowerCase(), t);
      this.tenants.set(t.domain.toLowerCase(), t);
    }
    for (const team of teams) {
      this.teams.set(team.id.toLowerCase(), team);
      this.teams.set(team.aadGroupId.toLowerCase(), team);
      for (const channel of team.channels) this.threads.set(channel.id.toLowerCase(), { kind: "channel", team, channel });
    }
    for (const chat of chats) this.threads.set(chat.id.toLowerCase(), { kind: "chat", chat });
  }

  tenant(id: string): OrgTenant | undefined {
    return this.tenants.get(id.toLowerCase());
  }

  team(id: string): OrgTeam | undefined {
    return this.teams.get(id.toLowerCase());
  }

  thread(id: string): ThreadTarget | undefined {
    return this.threads.get(id.toLowerCase());
  }
}

/** Index of the tenant whose user range holds `index` (binary search over few tenants). */
export function tenantIndexOf(tenants: readonly OrgTenant[], index: number): number {
  let lo = 0;
  let hi = tenants.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((tenants[mid]?.userStart ?? 0) <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** `8:orgid:<guid>` (a Teams MRI) → `<guid>`; anything else unchanged. */
export function stripMri(id: string): string {
  return id.startsWith("8:orgid:") ? id.slice(8) : id;
}
