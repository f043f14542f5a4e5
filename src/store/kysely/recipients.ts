import type { Kysely } from "kysely";
import type { ChatWindow, KnownTeamMember, RecipientDirectory, StoredRecipient, TeamHome } from "../../delivery/store/port.js";
import type { StoreDialect } from "./backend.js";
import { idInCodePoints, mayOptOut, nextWindow, personalChatsById, teamsChannelId } from "./chat-window.js";
import type { AllTables } from "./delivery-schema.js";
import { chunk } from "./delivery-sql.js";

/** The 1:1 chat statuses a broadcast pages through (`blocked` ones are retried after a while). */
export const personalStatuses = ["active", "blocked"] as const;

/**
 * A tenant id as given and in both letter cases: tenant ids are GUIDs, which Teams sends in lower
 * case but a request may name in upper case (an exact match missed the team, and the install path
 * then fell back to the public serviceUrl and retried for ever: review rev3).
 */
const spellings = (tenantId: string): string[] => [...new Set([tenantId, tenantId.toLowerCase(), tenantId.toUpperCase()])];

/**
 * The spelling the stored chats keep a tenant in, when `tenantId` is another letter case of it
 * (tenantSpellingMessage): undefined when chats are stored under `tenantId` itself, or under
 * neither its lower- nor its upper-case form. One index probe per spelling, at most three.
 */
export async function otherTenantSpelling(db: Kysely<AllTables>, tenantId: string): Promise<string | undefined> {
  const stored = async (spelling: string) =>
    (await db.selectFrom("conversations").select("tenant_id").where("tenant_id", "=", spelling).limit(1).executeTakeFirst()) !== undefined;
  if (await stored(tenantId)) return undefined;
  for (const spelling of [tenantId.toLowerCase(), tenantId.toUpperCase()])
    if (spelling !== tenantId && (await stored(spelling))) return spelling;
  return undefined;
}

/** Lookups per statement (each id is one bound parameter, twice for user lookups). */
const idsPerQuery = 500;

/**
 * Audience expansion's view of the conversation store: batched lookups, each joined with the
 * user's preferences, so a page of a thousand recipients costs one query.
 */
export class KyselyRecipientDirectory implements RecipientDirectory {
  constructor(
    private readonly db: Kysely<AllTables>,
    private readonly dialect: StoreDialect,
  ) {}

  /**
   * The stored conversations with their user's preferences. On PostgreSQL the preferences are
   * joined LATERAL with LIMIT 1, so that each chat's user is looked up by key whatever the
   * planner estimates: with the statistics of a real table (50,000 preferences) it hashed the
   * whole `preferences` table for each window's opted-out chats (`optingOutQuery`,
   * test/store/window-plan.test.ts). SQLite always looks them up by key.
   */
  private base(db: Kysely<AllTables> = this.db) {
    const joined =
      this.dialect === "postgres"
        ? (db.selectFrom("conversations as c").leftJoinLateral(
            (eb) =>
              eb
                .selectFrom("preferences as o")
                .select(["o.tenant_id", "o.user_id", "o.opted_out", "o.opted_out_categories"])
                .whereRef("o.tenant_id", "=", "c.tenant_id")
                .whereRef("o.user_id", "=", "c.user_id")
                .limit(1)
                .as("p"),
            (join) => join.onTrue(),
          ) as unknown as ReturnType<typeof joinPreferences>)
        : joinPreferences(db);
    return joined
      .select([
        "c.seq",
        "c.id",
        "c.kind",
        "c.tenant_id",
        "c.service_url",
        "c.status",
        "c.status_code",
        "c.user_id",
        "c.user_name",
        "c.user_aad_object_id",
        "c.locale",
        "c.timezone",
        "c.last_activity_at",
        "p.opted_out",
        "p.opted_out_categories",
      ])
      .where("c.channel_id", "=", teamsChannelId)
      .where("c.tenant_id", "<>", "");
  }

  async conversations(ids: readonly string[], tenants?: readonly string[]): Promise<Map<string, StoredRecipient>> {
    const out = new Map<string, StoredRecipient>();
    if (tenants?.length === 0) return out;
    for (const part of chunk([...new Set(ids)], idsPerQuery)) {
      const rows = await this.base()
        .where("c.id", "in", part)
        .$if(tenants !== undefined, (q) => q.where("c.tenant_id", "in", tenants ?? []))
        .execute();
      for (const row of rows) out.set(row.id, toRecipient(row));
    }
    return out;
  }

  otherTenantSpelling(tenantId: string): Promise<string | undefined> {
    return otherTenantSpelling(this.db, tenantId);
  }

  async personalChats(userIds: readonly string[], tenantId: string | undefined): Promise<Map<string, StoredRecipient>> {
    const out = new Map<string, StoredRecipient>();
    const rank = new Map<string, [number, string, number]>();
    for (const part of chunk([...new Set(userIds)], idsPerQuery)) {
      const rows = await this.base()
        .where("c.kind", "=", "personal")
        .where((eb) => eb.or([eb("c.user_id", "in", part), eb("c.user_aad_object_id", "in", part)]))
        .$if(tenantId !== undefined, (q) => q.where("c.tenant_id", "=", tenantId ?? ""))
        .execute();
      const asked = new Set(part);
      for (const row of rows) {
        // Same preference as ConversationStore.findPersonal: active first, then the latest activity.
        const score: [number, string, number] = [row.status === "active" ? 1 : 0, row.last_activity_at, Number(row.seq)];
        for (const id of [row.user_id, row.user_aad_object_id]) {
          if (id === null || !asked.has(id)) continue;
          const best = rank.get(id);
          if (best && compare(best, score) >= 0) continue;
          rank.set(id, score);
          out.set(id, toRecipient(row));
        }
      }
    }
    return out;
  }

  async teams(teamIds: readonly string[], tenants?: readonly string[]): Promise<Map<string, TeamHome>> {
    const out = new Map<string, TeamHome>();
    if (tenants?.length === 0) return out;
    for (const part of chunk([...new Set(teamIds)], idsPerQuery)) {
      const rows = await this.db
        .selectFrom("conversations")
        .select(["team_id", "tenant_id", "service_url", "status"])
        .where("team_id", "in", part)
        .where("channel_id", "=", teamsChannelId)
        .where("tenant_id", "<>", "")
        .$if(tenants !== undefined, (q) => q.where("tenant_id", "in", tenants ?? []))
        .orderBy("last_activity_at", "desc")
        .execute();
      for (const r of rows) {
        if (r.team_id === null || out.has(r.team_id)) continue;
        out.set(r.team_id, { teamId: r.team_id, tenantId: r.tenant_id, serviceUrl: r.service_url });
      }
    }
    return out;
  }

  async teamsByGroup(
    groupIds: readonly string[],
    tenantId: string,
    tenants?: readonly string[],
  ): Promise<Map<string, TeamHome & { active: boolean }>> {
    const out = new Map<string, TeamHome & { active: boolean }>();
    if (tenants !== undefined && !tenants.includes(tenantId)) return out;
    // A GUID may be stored in any letter case: ask for each spelling, key the answer in lower case.
    const forms = [...new Set(groupIds.flatMap((g) => [g, g.toLowerCase(), g.toUpperCase()]))];
    const rank = new Map<string, [number, string]>();
    for (const part of chunk(forms, idsPerQuery)) {
      const rows = await this.db
        .selectFrom("conversations")
        .select(["team_id", "team_aad_group_id", "tenant_id", "service_url", "status", "last_activity_at"])
        // Only conversations of a team have a team id (the (team_id, seq) index keeps this to them).
        .where("team_id", "is not", null)
        .where("team_aad_group_id", "in", part)
        .where("channel_id", "=", teamsChannelId)
        .where("tenant_id", "in", spellings(tenantId))
        .execute();
      for (const r of rows) {
        if (r.team_id === null || r.team_aad_group_id === null) continue;
        const key = r.team_aad_group_id.toLowerCase();
        // Active first, then the latest activity: a team uninstalled and installed again is active.
        const score: [number, string] = [r.status === "active" ? 1 : 0, r.last_activity_at];
        const best = rank.get(key);
        if (best && (best[0] > score[0] || (best[0] === score[0] && best[1] >= score[1]))) continue;
        rank.set(key, score);
        out.set(key, { teamId: r.team_id, tenantId: r.tenant_id, serviceUrl: r.service_url, active: r.status === "active" });
      }
    }
    return out;
  }

  async channels(channelIds: readonly string[], tenants?: readonly string[]): Promise<Map<string, TeamHome>> {
    const out = new Map<string, TeamHome>();
    if (tenants?.length === 0) return out;
    for (const part of chunk([...new Set(channelIds)], idsPerQuery)) {
      const rows = await this.db
        .selectFrom("conversations")
        .select(["id", "team_id", "teams_channel_id", "tenant_id", "service_url"])
        // The General channel's id is the team's id.
        .where((eb) => eb.or([eb("id", "in", part), eb("teams_channel_id", "in", part), eb("team_id", "in", part)]))
        .where("kind", "=", "channel")
        .where("channel_id", "=", teamsChannelId)
        .where("tenant_id", "<>", "")
        .$if(tenants !== undefined, (q) => q.where("tenant_id", "in", tenants ?? []))
        .orderBy("last_activity_at", "desc")
        .execute();
      for (const r of rows) {
        for (const id of [r.id, r.teams_channel_id, r.team_id]) {
          if (id === null || !part.includes(id) || out.has(id)) continue;
          out.set(id, { teamId: r.team_id ?? id, tenantId: r.tenant_id, serviceUrl: r.service_url });
        }
      }
    }
    return out;
  }

  /**
   * Run a page's two status queries (`active`, `blocked`) on one snapshot of the table. Read apart,
   * a chat going from blocked to active between them (its user wrote to the bot again) was in
   * neither answer and that broadcast skipped it. PostgreSQL: one REPEATABLE READ transaction;
   * SQLite: one transaction on the process's single connection, which nothing else writes
   * through meanwhile.
   */
  private snapshot<T>(read: (db: Kysely<AllTables>) => Promise<T>): Promise<T> {
    const tx = this.db.transaction();
    return (this.dialect === "postgres" ? tx.setIsolationLevel("repeatable read") : tx).execute(read);
  }

  /** The stored 1:1 chats of one status, of one tenant or of all. */
  private personal(status: (typeof personalStatuses)[number], tenantId: string | undefined, db: Kysely<AllTables>) {
    return this.base(db)
      .where("c.kind", "=", "personal")
      .where("c.status", "=", status)
      .$if(tenantId !== undefined, (q) => q.where("c.tenant_id", "=", tenantId ?? ""));
  }

  /**
   * One page of the stored 1:1 chats that can be messaged (`active`, or `blocked` for the blocked
   * retry), in insertion order. One keyset query per status, merged: with `status IN (...)` both
   * planners read every remaining row of both statuses and sort them for each page (no index
   * gives `seq` order across two status values), which made a 1,000,000-chat broadcast quadratic
   * (SQLite stopped answering for minutes). Each `status = ?` query walks its index in order.
   * Both read one snapshot (`snapshot`).
   */
  async personalPage(
    tenantId: string | undefined,
    after: number | undefined,
    limit: number,
  ): Promise<{ items: StoredRecipient[]; last?: number | undefined }> {
    const [active, blocked] = await this.snapshot(async (db) => [
      await this.personalPageQuery("active", tenantId, after, limit, db).execute(),
      await this.personalPageQuery("blocked", tenantId, after, limit, db).execute(),
    ]);
    const rows = [...active, ...blocked].sort((a, b) => Number(a.seq) - Number(b.seq)).slice(0, limit);
    const last = rows.at(-1);
    return { items: rows.map(toRecipient), last: last === undefined ? undefined : Number(last.seq) };
  }

  /** The keyset query for one status (exposed for the query-plan test). */
  personalPageQuery(
    status: (typeof personalStatuses)[number],
    tenantId: string | undefined,
    after: number | undefined,
    limit: number,
    db: Kysely<AllTables> = this.db,
  ) {
    return this.personal(status, tenantId, db)
      .$if(after !== undefined, (q) => q.where("c.seq", ">", after ?? 0))
      .orderBy("c.seq")
      .limit(limit);
  }

  /**
   * `personalPage` in conversation-id order, for the chats stored up to `upTo` (022_personal_id_order):
   * one keyset query per status as there, each walking its index (`conversations_tenant_status_id`,
   * `conversations_status_id`). The active chats are read first; when they fill the page, the
   * blocked ones (few) are read only up to the last of them, not a page of their own to discard.
   *
   * Ids are compared in code point order everywhere: SQLite's BINARY collation, PostgreSQL's
   * `COLLATE "C"` (the database's own collation could order them otherwise), and the merge here.
   * A merge in another order than the queries' would hand the next page a `last` past rows not yet
   * read, and they would be skipped. Both queries read one snapshot (`snapshot`).
   */
  async personalPageById(
    tenantId: string | undefined,
    afterId: string | undefined,
    upTo: number,
    limit: number,
  ): Promise<{ items: StoredRecipient[]; last?: string | undefined }> {
    const [active, blocked] = await this.snapshot(async (db) => {
      const active = await this.personalPageByIdQuery("active", tenantId, afterId, upTo, limit, undefined, db).execute();
      const bound = active.length === limit ? active.at(-1)?.id : undefined;
      return [active, await this.personalPageByIdQuery("blocked", tenantId, afterId, upTo, limit, bound, db).execute()] as const;
    });
    const rows = blocked.length === 0 ? active : [...active, ...blocked].sort((a, b) => compareCodePoints(a.id, b.id)).slice(0, limit);
    return { items: rows.map(toRecipient), last: rows.at(-1)?.id };
  }

  /** The keyset query by id for one status, ids up to `atMost` when given (exposed for the query-plan test). */
  personalPageByIdQuery(
    status: (typeof personalStatuses)[number],
    tenantId: string | undefined,
    afterId: string | undefined,
    upTo: number,
    limit: number,
    atMost?: string | undefined,
    db: Kysely<AllTables> = this.db,
  ) {
    return this.base(db)
      .where(personalChatsById(this.dialect, status, { tenantId, afterId, upTo, atMost }))
      .orderBy(idInCodePoints(this.dialect))
      .limit(limit);
  }

  /**
   * The next window of the walk by id (chat-window.ts): its size and end, and, in the same
   * snapshot, its chats whose rows are decided in code: the blocked ones (few), and the active
   * ones whose user has an opt-out (`mayOptOut`: the walk looks each active chat's user up by key,
   * as the pages do, but returns only those).
   */
  async personalWindow(
    tenantId: string | undefined,
    afterId: string | undefined,
    upTo: number,
    limit: number,
  ): Promise<{ count: number; window?: ChatWindow | undefined; decide: StoredRecipient[] }> {
    return this.snapshot(async (db) => {
      const size = await nextWindow(db, this.dialect, { tenantId, afterId, upTo }, limit).executeTakeFirst();
      const count = Number(size?.count ?? 0);
      const last = size?.last ?? undefined;
      if (last === undefined) return { count, decide: [] };
      const blocked = await this.personalPageByIdQuery("blocked", tenantId, afterId, upTo, limit, last, db).execute();
      const preferring = await this.optingOutQuery(tenantId, afterId, upTo, limit, last, db).execute();
      const decide = [...blocked, ...preferring].sort((a, b) => compareCodePoints(a.id, b.id)).map(toRecipient);
      return { count, window: { tenantId, afterId, last, upTo }, decide };
    });
  }

  /** A window's active chats whose user has an opt-out (`mayOptOut`; exposed for the query-plan test). */
  optingOutQuery(
    tenantId: string | undefined,
    afterId: string | undefined,
    upTo: number,
    limit: number,
    last: string,
    db: Kysely<AllTables> = this.db,
  ) {
    return this.personalPageByIdQuery("active", tenantId, afterId, upTo, limit, last, db).where(mayOptOut(this.dialect));
  }

  async lastSeq(): Promise<number> {
    const row = await this.db
      .selectFrom("conversations")
      .select((eb) => eb.fn.max("seq").as("seq"))
      .executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

  async preferences(tenantId: string, userIds: readonly string[]): Promise<Map<string, { optedOut: boolean; categories: string[] }>> {
    const out = new Map<string, { optedOut: boolean; categories: string[] }>();
    for (const part of chunk([...new Set(userIds)], idsPerQuery)) {
      const rows = await this.db
        .selectFrom("preferences")
        .selectAll()
        .where("tenant_id", "=", tenantId)
        .where("user_id", "in", part)
        .execute();
      for (const r of rows)
        out.set(r.user_id, { optedOut: Number(r.opted_out) === 1, categories: parseCategories(r.opted_out_categories) });
    }
    return out;
  }

  async claimBlockedRetries(ids: readonly string[], dueBefore: number, now: number): Promise<Set<string>> {
    const due = new Date(dueBefore).toISOString();
    const out = new Set<string>();
    for (const part of chunk([...new Set(ids)], idsPerQuery)) {
      const rows = await this.db
        .updateTable("conversations")
        .set({ blocked_retry_at: new Date(now).toISOString() })
        .where("id", "in", part)
        .where("status", "=", "blocked")
        .where((eb) => eb.or([eb("status_changed_at", "is", null), eb("status_changed_at", "<=", due)]))
        .where((eb) => eb.or([eb("blocked_retry_at", "is", null), eb("blocked_retry_at", "<=", due)]))
        .returning("id")
        .execute();
      for (const r of rows) out.add(r.id);
    }
    return out;
  }

  /**
   * Members (status `member`, migration 020) of teams with an active conversation: a team the app
   * was removed from, or that was deleted, reaches nobody through its members. The serviceUrl is
   * the team's latest (refreshed by every activity in the team).
   */
  async teamMembers(userIds: readonly string[], tenantId: string): Promise<Map<string, KnownTeamMember>> {
    const out = new Map<string, KnownTeamMember>();
    for (const part of chunk([...new Set(userIds)], idsPerQuery)) {
      const rows = await this.db
        .selectFrom("team_members as m")
        .innerJoin("conversations as c", (join) => join.onRef("c.team_id", "=", "m.team_id").onRef("c.tenant_id", "=", "m.tenant_id"))
        .select(["m.user_id", "m.aad_object_id", "m.user_name", "m.team_id", "m.tenant_id", "c.service_url"])
        .where("m.tenant_id", "=", tenantId)
        .where("m.status", "=", "member")
        .where((eb) => eb.or([eb("m.user_id", "in", part), eb("m.aad_object_id", "in", part)]))
        .where("c.status", "=", "active")
        .where("c.channel_id", "=", teamsChannelId)
        .orderBy("c.last_activity_at", "desc")
        .execute();
      const asked = new Set(part);
      for (const r of rows) {
        for (const id of [r.user_id, r.aad_object_id]) {
          if (id === null || !asked.has(id) || out.has(id)) continue;
          out.set(id, {
            userId: r.user_id,
            aadObjectId: r.aad_object_id ?? undefined,
            name: r.user_name ?? undefined,
            home: { teamId: r.team_id, tenantId: r.tenant_id, serviceUrl: r.service_url },
          });
        }
      }
    }
    return out;
  }

  async serviceUrlOf(tenantId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom("conversations")
      .select("service_url")
      .where("tenant_id", "in", spellings(tenantId))
      .where("channel_id", "=", teamsChannelId)
      .orderBy("seq", "desc")
      .limit(1)
      .executeTakeFirst();
    return row?.service_url;
  }
}

/** The conversations joined with their user's preferences (`KyselyRecipientDirectory.base`). */
const joinPreferences = (db: Kysely<AllTables>) =>
  db
    .selectFrom("conversations as c")
    .leftJoin("preferences as p", (join) => join.onRef("p.tenant_id", "=", "c.tenant_id").onRef("p.user_id", "=", "c.user_id"));

interface JoinedRow {
  seq: number | string;
  id: string;
  kind: string;
  tenant_id: string;
  service_url: string;
  status: string;
  status_code: string | null;
  user_id: string | null;
  user_name: string | null;
  user_aad_object_id: string | null;
  locale: string | null;
  timezone: string | null;
  opted_out: number | null;
  opted_out_categories: string | null;
}

function toRecipient(r: JoinedRow): StoredRecipient {
  const out: StoredRecipient = {
    conversationId: r.id,
    kind: r.kind,
    tenantId: r.tenant_id,
    serviceUrl: r.service_url,
    status: r.status,
    optedOut: Number(r.opted_out ?? 0) === 1,
    optedOutCategories: r.opted_out_categories === null ? [] : parseCategories(r.opted_out_categories),
    seq: Number(r.seq),
  };
  if (r.status_code !== null) out.statusCode = r.status_code;
  if (r.user_id !== null) out.userId = r.user_id;
  if (r.user_name !== null) out.userName = r.user_name;
  if (r.user_aad_object_id !== null) out.userAadObjectId = r.user_aad_object_id;
  if (r.locale !== null) out.locale = r.locale;
  if (r.timezone !== null) out.timezone = r.timezone;
  return out;
}

function parseCategories(text: string): string[] {
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.filter((c): c is string => typeof c === "string") : [];
  } catch {
    return [];
  }
}

function compare(a: [number, string, number], b: [number, string, number]): number {
  return a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || a[2] - b[2];
}

/**
 * Code point order, as SQLite's BINARY collation and PostgreSQL's "C" compare UTF-8 bytes. `<` on
 * JS strings compares UTF-16 units, which puts a character past U+FFFF (two surrogate units,
 * 0xD800-0xDFFF) before one in U+E000-U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(i) ?? 0;
    if (x !== y) return x - y;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}
