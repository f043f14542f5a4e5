import type { Org } from "./model.js";
import { UserFlag } from "./model.js";
import { TeamRosters } from "./rosters.js";

/**
 * What changes while the emulator runs: per-user flags (1 byte per user: blocked,
 * uninstalled), whether the app is in each team and group chat, tenants whose admin
 * disabled the bot, and team rosters changed since the start (`rosters`). Initialised from the
 * organisation and changed by the control API.
 */
export class OrgState {
  readonly userFlags: Uint8Array;
  /** Team members now: read team rosters through this, never `org.teamMember` directly. */
  readonly rosters: TeamRosters;
  readonly teamRemoved: Uint8Array;
  readonly chatRemoved: Uint8Array;
  readonly tenantDisabled: Uint8Array;

  constructor(readonly org: Org) {
    this.userFlags = new Uint8Array(org.userCount);
    for (let i = 0; i < org.userCount; i++) this.userFlags[i] = org.initialFlags(i);
    this.teamRemoved = new Uint8Array(org.teams.length);
    this.chatRemoved = new Uint8Array(org.chats.length);
    this.tenantDisabled = new Uint8Array(org.tenants.length);
    this.rosters = new TeamRosters(org);
  }

  isBlocked(user: number): boolean {
    return ((this.userFlags[user] ?? 0) & UserFlag.blocked) !== 0;
  }

  isUninstalled(user: number): boolean {
    return ((this.userFlags[user] ?? 0) & UserFlag.uninstalled) !== 0;
  }

  setFlag(user: number, flag: number, on: boolean): void {
    const v = this.userFlags[user] ?? 0;
    this.userFlags[user] = on ? v | flag : v & ~flag;
  }

  /** Users currently blocked / uninstalled, counted over a tenant's range (O(users)). */
  countFlags(start: number, count: number): { blocked: number; uninstalled: number } {
    let blocked = 0;
    let uninstalled = 0;
    for (let i = start; i < start + count; i++) {
      const f = this.userFlags[i]!;
      if (f & UserFlag.blocked) blocked++;
      if (f & UserFlag.uninstalled) uninstalled++;
    }
    return { blocked, uninstalled };
  }
}

/**
 * Activity ids as Teams makes them: 13-digit numbers (epoch milliseconds), strictly
 * increasing, so an id tells whether the emulator could have issued it.
 */
export class ActivityIds {
  readonly first: number;
  private last: number;

  constructor(now: number) {
    this.first = Math.floor(now);
    this.last = this.first - 1;
  }

  next(now: number): string {
    this.last = Math.max(this.last + 1, Math.floor(now));
    return String(this.last);
  }

  /** Whether `id` is one this emulator issued (it may have been forgotten since). */
  issued(id: string): boolean {
    if (id.length < 13 || id.length > 16) return false;
    const n = Number(id);
    return Number.isInteger(n) && n >= this.first && n <= this.last;
  }
}
