import type { Kysely } from "kysely";
import type { Account } from "../../domain/conversation.js";
import type { TeamMemberRecord, TeamMemberStatus, TeamMemberStore } from "../ports.js";
import { canonicalTime } from "../time.js";
import type { Database } from "./schema.js";

/**
 * Team memberships over Kysely (migration 020): one insert per change, `ON CONFLICT` on
 * `(team_id, user_id)` updating only when the change is not older than the stored one. One
 * statement, so two deliveries of the same activity at once leave one row either way.
 */
export class KyselyTeamMemberStore implements TeamMemberStore {
  constructor(private readonly db: Kysely<Database>) {}

  async record(change: {
    teamId: string;
    tenantId: string;
    serviceUrl: string;
    users: readonly Account[];
    status: TeamMemberStatus;
    statusCode: string;
    changedAt: string;
    at: string;
  }): Promise<void> {
    if (change.users.length === 0) return;
    const changedAt = canonicalTime(change.changedAt, "changedAt");
    const at = canonicalTime(change.at);
    // One row per person even when an activity names someone twice.
    const users = [...new Map(change.users.map((u) => [u.id, u])).values()];
    await this.db
      .insertInto("team_members")
      .values(
        users.map((u) => ({
          team_id: change.teamId,
          user_id: u.id,
          tenant_id: change.tenantId,
          aad_object_id: u.aadObjectId ?? null,
          user_name: u.name ?? null,
          service_url: change.serviceUrl,
          status: change.status,
          status_code: change.statusCode,
          changed_at: changedAt,
          updated_at: at,
        })),
      )
      .onConflict((oc) =>
        oc
          .columns(["team_id", "user_id"])
          .doUpdateSet((eb) => ({
            tenant_id: eb.ref("excluded.tenant_id"),
            aad_object_id: eb.fn.coalesce("excluded.aad_object_id", "team_members.aad_object_id"),
            user_name: eb.fn.coalesce("excluded.user_name", "team_members.user_name"),
            service_url: eb.ref("excluded.service_url"),
            status: eb.ref("excluded.status"),
            status_code: eb.ref("excluded.status_code"),
            changed_at: eb.ref("excluded.changed_at"),
            updated_at: eb.ref("excluded.updated_at"),
          }))
          // An older change (a late redelivery) never undoes a newer one.
          .where("team_members.changed_at", "<=", (eb) => eb.ref("excluded.changed_at")),
      )
      .execute();
  }

  async list(teamId: string): Promise<TeamMemberRecord[]> {
    const rows = await this.db.selectFrom("team_members").selectAll().where("team_id", "=", teamId).orderBy("user_id").execute();
    return rows.map((r) => ({
      teamId: r.team_id,
      tenantId: r.tenant_id,
      serviceUrl: r.service_url,
      user: { id: r.user_id, name: r.user_name ?? undefined, aadObjectId: r.aad_object_id ?? undefined },
      status: r.status as TeamMemberStatus,
      statusCode: r.status_code,
      changedAt: r.changed_at,
      updatedAt: r.updated_at,
    }));
  }
}
