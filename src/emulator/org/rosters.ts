import type { Org } from "./model.js";

/**
 * Team rosters as they change while the emulator runs (people added to or removed from a team
 * after the bot was installed there, issue 15). A team nobody changed reads the organisation's
 * roster (computed, no memory per member); the first change copies that team's roster into an
 * array, which later changes edit. Every reader of a team's members (Connector member lists,
 * Graph's transitive members, batch to a team, who may post in a channel) goes through here.
 */
export class TeamRosters {
  private readonly changed = new Map<number, { list: number[]; set: Set<number> }>();

  constructor(private readonly org: Org) {}

  /** How many members the team has now. */
  count(team: number): number {
    return this.changed.get(team)?.list.length ?? this.org.teams[team]?.memberCount ?? 0;
  }

  /** User index of member `k` (0 <= k < count) of the team. */
  at(team: number, k: number): number {
    const own = this.changed.get(team);
    return own ? (own.list[k] ?? -1) : this.org.teamMember(team, k);
  }

  has(team: number, user: number): boolean {
    const own = this.changed.get(team);
    return own ? own.set.has(user) : this.org.isTeamMember(team, user);
  }

  /** Add `user` at the end of the roster; false when already a member. */
  add(team: number, user: number): boolean {
    if (this.has(team, user)) return false;
    const own = this.own(team);
    own.list.push(user);
    own.set.add(user);
    return true;
  }

  /** Take `user` off the roster; false when not a member. */
  remove(team: number, user: number): boolean {
    if (!this.has(team, user)) return false;
    const own = this.own(team);
    own.list.splice(own.list.indexOf(user), 1);
    own.set.delete(user);
    return true;
  }

  private own(team: number): { list: number[]; set: Set<number> } {
    let own = this.changed.get(team);
    if (!own) {
      const list: number[] = [];
      const count = this.org.teams[team]?.memberCount ?? 0;
      for (let k = 0; k < count; k++) list.push(this.org.teamMember(team, k));
      own = { list, set: new Set(list) };
      this.changed.set(team, own);
    }
    return own;
  }
}
