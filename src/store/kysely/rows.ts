import type { Insertable, Selectable } from "kysely";
import type { Account, ConversationKind, ConversationRecord, ConversationStatus, Preference } from "../../domain/conversation.js";
import { withoutUndefined } from "../merge.js";
import type { ConversationsTable, PreferencesTable } from "./schema.js";

/** Mapping between domain records and table rows (see schema.ts for the conventions). Pure. */

export type ConversationRow = Selectable<ConversationsTable>;
export type ConversationValues = Omit<Insertable<ConversationsTable>, "seq">;

export function conversationToRow(r: ConversationRecord): ConversationValues {
  return {
    id: r.id,
    kind: r.kind,
    tenant_id: r.tenantId,
    service_url: r.serviceUrl,
    channel_id: r.channelId,
    bot_id: r.bot.id,
    bot_name: r.bot.name ?? null,
    bot_aad_object_id: r.bot.aadObjectId ?? null,
    user_id: r.user?.id ?? null,
    user_name: r.user?.name ?? null,
    user_aad_object_id: r.user?.aadObjectId ?? null,
    team_id: r.team?.id ?? null,
    team_name: r.team?.name ?? null,
    team_aad_group_id: r.team?.aadGroupId ?? null,
    teams_channel_id: r.channel?.id ?? null,
    teams_channel_name: r.channel?.name ?? null,
    locale: r.locale ?? null,
    timezone: r.timezone ?? null,
    installed_by_id: r.installedBy?.id ?? null,
    installed_by_name: r.installedBy?.name ?? null,
    installed_by_aad_object_id: r.installedBy?.aadObjectId ?? null,
    installed_at: r.installedAt ?? null,
    last_activity_at: r.lastActivityAt,
    status: r.status,
    status_code: r.statusCode ?? null,
    status_changed_at: r.statusChangedAt ?? null,
    archived: r.archived ? 1 : 0,
    created_at: r.createdAt,
    updated_at: r.updatedAt,
  };
}

export function rowToConversation(row: ConversationRow): ConversationRecord {
  return withoutUndefined<ConversationRecord>({
    id: row.id,
    kind: row.kind as ConversationKind,
    tenantId: row.tenant_id,
    serviceUrl: row.service_url,
    channelId: row.channel_id,
    bot: account(row.bot_id, row.bot_name, row.bot_aad_object_id),
    user: row.user_id === null ? undefined : account(row.user_id, row.user_name, row.user_aad_object_id),
    team:
      row.team_id === null
        ? undefined
        : withoutUndefined({ id: row.team_id, name: opt(row.team_name), aadGroupId: opt(row.team_aad_group_id) }),
    channel: row.teams_channel_id === null ? undefined : withoutUndefined({ id: row.teams_channel_id, name: opt(row.teams_channel_name) }),
    locale: opt(row.locale),
    timezone: opt(row.timezone),
    installedBy:
      row.installed_by_id === null ? undefined : account(row.installed_by_id, row.installed_by_name, row.installed_by_aad_object_id),
    installedAt: opt(row.installed_at),
    lastActivityAt: row.last_activity_at,
    status: row.status as ConversationStatus,
    statusCode: opt(row.status_code),
    statusChangedAt: opt(row.status_changed_at),
    archived: Number(row.archived) === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

export function rowToPreference(row: Selectable<PreferencesTable>): Preference {
  return {
    tenantId: row.tenant_id,
    userId: row.user_id,
    optedOut: Number(row.opted_out) === 1,
    optedOutCategories: parseCategories(row.opted_out_categories),
    updatedAt: row.updated_at,
  };
}

/** Categories as stored: a JSON array of distinct strings, in the order given. */
export function categoriesToText(categories: readonly string[]): string {
  return JSON.stringify([...new Set(categories)]);
}

function parseCategories(text: string): string[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value.filter((c): c is string => typeof c === "string") : [];
}

const opt = (v: string | null): string | undefined => (v === null ? undefined : v);

const account = (id: string, name: string | null, aadObjectId: string | null): Account =>
  withoutUndefined({ id, name: opt(name), aadObjectId: opt(aadObjectId) });
