import type { Generated } from "kysely";

/**
 * The tables as the shared Kysely implementation sees them, after every migration in
 * `../migrations/index.ts`. A migration that adds or changes a table updates this file too.
 *
 * Conventions (both databases, as the code sees the values):
 * - times are ISO 8601 text in UTC with milliseconds (`2025-01-31T09:00:00.000Z`), so text order is
 *   time order and values round-trip exactly;
 * - booleans are integers 0/1 (better-sqlite3 cannot bind booleans);
 * - JSON documents are their text (the code stringifies and parses them).
 * On PostgreSQL the columns have PostgreSQL's own types (`timestamptz`, `boolean`, `jsonb`;
 * migration 018_postgres_types) and the pool reads them back in the forms above
 * (../postgres/types.ts); values are written as they are on SQLite, PostgreSQL casting the
 * untyped parameters to the column's type. Raw SQL must not compare a flag with `0`/`1` literals
 * or treat a JSON column as text without a cast.
 * - an optional field of the domain is a nullable column; `null` reads back as an absent field;
 * - nested accounts are flattened into `<prefix>_id`, `<prefix>_name`, ... so a team rename or a
 *   user lookup is a plain column update or index lookup, with no JSON functions per dialect.
 */
export interface Database {
  conversations: ConversationsTable;
  preferences: PreferencesTable;
  herald_migrations: MigrationsTable;
  responses: ResponsesTable;
  response_voters: ResponseVotersTable;
  // --- schedules (012_schedules) ---
  notification_series: NotificationSeriesTable;
  survey_sessions: SurveySessionsTable;
  // Read receipts, reactions and answer totals (migration 010_reads_reactions; issue 10).
  response_reactions: ResponseReactionsTable;
  response_counts: ResponseCountsTable;
  // Preferences (migration 013_preferences).
  tenant_settings: TenantSettingsTable;
  frequency_sends: FrequencySendsTable;
  // Proactive installation jobs (issue 15, migration 014).
  installation_jobs: InstallationJobsTable;
  installation_items: InstallationItemsTable;
  drafts: DraftsTable;
  approvals: ApprovalsTable;
  // Saved templates (016, issue 12).
  templates: TemplatesTable;
  // People who joined teams where the app is installed (020, issue 15).
  team_members: TeamMembersTable;
  // Welcomes on their way, holding other messages back (021, issue 15).
  welcome_holds: WelcomeHoldsTable;
  install_leases: InstallLeasesTable;
}

/** A proactive install step under way for one person, in one process (migration 021). */
export interface InstallLeasesTable {
  /** `<tenant>|<graph id>`, lower case. */
  person: string;
  owner: string;
  lease_until: string;
}

/** A welcome on its way into a conversation (migration 021). */
export interface WelcomeHoldsTable {
  conversation_id: string;
  asked_at: string;
  notification_id: string | null;
  hold_until: string;
}

/** A person's membership of a team, from teamMemberAdded / teamMemberRemoved (migration 020). */
export interface TeamMembersTable {
  team_id: string;
  /** Teams id `29:...`. */
  user_id: string;
  tenant_id: string;
  aad_object_id: string | null;
  user_name: string | null;
  /** The serviceUrl of the activity that told the change (the team's). */
  service_url: string;
  /** `member|removed`. */
  status: string;
  /** `teamMemberAdded|teamMemberRemoved`. */
  status_code: string;
  /** When the change happened: the activity's timestamp. */
  changed_at: string;
  updated_at: string;
}

// ---- drafts and approvals (015, issue 12) -------------------------------------------------

export interface DraftsTable {
  id: string;
  title: string;
  /** The `POST /v1/notifications` body, JSON. */
  request: string;
  /** `draft|submitted|returned|approved`. */
  status: string;
  created_by: string;
  /** JSON array: the author key's tenant limit; null = every tenant. */
  tenants: string | null;
  /** The approver's comment when sent back. */
  comment: string | null;
  notification_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface ApprovalsTable {
  seq: Generated<number | string>;
  draft_id: string;
  /** `approved|returned`. */
  decision: string;
  decided_by: string;
  comment: string | null;
  decided_at: string;
}

/** `POST /v1/installations` jobs with their live counts (migration 014). */
export interface InstallationJobsTable {
  id: string;
  created_by: string;
  tenant_id: string;
  /** JSON of the request's audience. */
  audience: string;
  status: string;
  total: number;
  installed: number;
  already_installed: number;
  refused: number;
  failed: number;
  error: string | null;
  created_at: string;
  completed_at: string | null;
  /** The process running the job (migration 016, to be 019); null when none does. */
  lease_owner: string | null;
  /** When that lease ends unless renewed (ISO 8601); null when none. */
  lease_until: string | null;
}

/** One user of an installation job and Graph's answer (migration 014). */
export interface InstallationItemsTable {
  job_id: string;
  seq: number;
  user_id: string;
  status: string;
  code: string | null;
  message: string | null;
  at: string;
}

export interface ConversationsTable {
  /**
   * Insertion order, the key of `list`'s cursor. PostgreSQL returns its bigint as a string,
   * SQLite as a number: read it through `Number()`.
   */
  seq: Generated<number | string>;
  id: string;
  kind: string;
  tenant_id: string;
  service_url: string;
  /** Bot Framework channel id (`msteams`), not a Teams channel. */
  channel_id: string;
  bot_id: string;
  bot_name: string | null;
  bot_aad_object_id: string | null;
  user_id: string | null;
  user_name: string | null;
  user_aad_object_id: string | null;
  team_id: string | null;
  team_name: string | null;
  team_aad_group_id: string | null;
  /** The Teams channel of a channel conversation. */
  teams_channel_id: string | null;
  teams_channel_name: string | null;
  locale: string | null;
  timezone: string | null;
  installed_by_id: string | null;
  installed_by_name: string | null;
  installed_by_aad_object_id: string | null;
  installed_at: string | null;
  last_activity_at: string;
  status: string;
  status_code: string | null;
  status_changed_at: string | null;
  /** When a blocked conversation was last tried again (008_blocked_retry). */
  blocked_retry_at: string | null;
  archived: number;
  created_at: string;
  updated_at: string;
}

export interface PreferencesTable {
  tenant_id: string;
  user_id: string;
  opted_out: number;
  /** JSON array of category names. */
  opted_out_categories: string;
  updated_at: string;
}

/** One row per applied migration; see `../migrations/index.ts`. */
export interface MigrationsTable {
  name: string;
  applied_at: string;
}

/** Answers to notifications (migration 009): poll votes, acknowledgements, survey answers. */
export interface ResponsesTable {
  /** Insertion order, the key of a page's cursor (PostgreSQL returns it as a string). */
  seq: Generated<number | string>;
  notification_id: string;
  delivery_id: string | null;
  tenant_id: string;
  /** Null for an anonymous poll. */
  user_id: string | null;
  user_name: string | null;
  /** `poll`, `ack` or `survey`. */
  kind: string;
  /** A survey question's id; `''` for polls and acknowledgements. */
  question_id: string;
  /** JSON: poll = option indexes, ack = true, survey = `{text, choice?}`. */
  value: string;
  created_at: string;
}

/** Who answered which question (migration 009); kept apart from the answer for anonymous polls. */
export interface ResponseVotersTable {
  notification_id: string;
  question_id: string;
  user_id: string;
  created_at: string;
}

// --- schedules (012_schedules) ---
/** A recurring series (migration 012): each run becomes a notification with `series_id`. */
export interface NotificationSeriesTable {
  id: string;
  created_by: string;
  /** JSON array: the tenants of the tenant-scoped key that created it, or null (every tenant). */
  caller_tenants: string | null;
  tenant_id: string | null;
  /** JSON, as the API accepted them. */
  audience: string;
  message: string;
  data: string | null;
  category: string | null;
  cron: string;
  time_zone: string;
  /** 1: each run reaches every recipient at the cron's wall-clock time in their own zone. */
  local_time: number;
  until: string | null;
  /** `active`, `paused`, `canceled`, `ended`. */
  state: string;
  next_run_at: string | null;
  last_run_at: string | null;
  last_notification_id: string | null;
  runs: number | string;
  /** A run claimed and not yet written as a notification (its claimer's id and when). */
  pending_run_at: string | null;
  pending_owner: string | null;
  pending_since: string | null;
  created_at: string;
  updated_at: string;
}

/** Running surveys, one row per person (migration 011); see src/surveys. */
export interface SurveySessionsTable {
  tenant_id: string;
  user_id: string;
  conversation_id: string;
  service_url: string;
  user_name: string | null;
  /** JSON SessionState (src/surveys/machine.ts). */
  state: string;
  /** The active survey and question, as columns for operators' queries. */
  current_notification_id: string | null;
  current_question: number | null;
  /** When the active question expires (ISO); null when no survey is active. */
  expires_at: string | null;
  /** Optimistic concurrency: every write checks and bumps it. */
  version: number;
  updated_at: string;
}

/** A reaction currently on one delivered message (migration 010). */
export interface ResponseReactionsTable {
  notification_id: string;
  /** The delivery's seq. */
  seq: number | string;
  user_id: string;
  /** Teams' reaction type: `like`, `heart`, `laugh`, ... */
  type: string;
  created_at: string;
}

/** Running totals of a notification's answers (migration 010): option -1 counts the people who answered. */
export interface ResponseCountsTable {
  notification_id: string;
  option: number;
  count: number | string;
}

// --- Preferences (migration 013_preferences): tenant quiet hours and the frequency cap's sends. ---

/** A tenant's delivery settings; null = not set. */
export interface TenantSettingsTable {
  tenant_id: string;
  /** IANA time zone, the tenant's default (recipients whose own zone Teams did not report). */
  time_zone: string | null;
  /** `HH:MM` local, start of quiet hours (inclusive). */
  quiet_start: string | null;
  /** `HH:MM` local, end of quiet hours (exclusive; before `quiet_start` = the next day). */
  quiet_end: string | null;
  /** JSON array of `mon`..`sun`; null = every day. */
  working_days: string | null;
  updated_at: string;
}

/** One non-urgent send let through to a person (HERALD_FREQUENCY_CAP counts these). */
export interface FrequencySendsTable {
  notification_id: string;
  seq: number | string;
  tenant_id: string;
  user_id: string;
  /** ms since the epoch (PostgreSQL returns its bigint as a string). */
  at: number | string;
}

// ---- saved templates (016, issue 12) -------------------------------------------------------

export interface TemplatesTable {
  id: string;
  name: string;
  /** The name lower-cased: the listing's order. */
  name_key: string;
  description: string | null;
  /** The `message` of `POST /v1/notifications`, JSON. */
  message: string;
  category: string | null;
  /** JSON `{priority?, footer?, data?}`. */
  options: string;
  created_by: string;
  /** JSON array: the creator key's tenant limit; null = every tenant. */
  tenants: string | null;
  updated_by: string;
  created_at: string;
  updated_at: string;
}
