import type { BatchStore } from "../delivery/batch/port.js";
import type { SeriesStore } from "../delivery/schedule/series.js";
import type { DeliveryStore, RecipientDirectory } from "../delivery/store/port.js";
import type {
  Account,
  ChannelInfo,
  ConversationKind,
  ConversationRecord,
  ConversationStatus,
  Preference,
  TeamInfo,
} from "../domain/conversation.js";
import type { DraftStore } from "../drafts/port.js";
import type { OptOutCount, TenantSettings } from "../preferences/model.js";
import type { SurveyStore } from "../surveys/port.js";
import type { TemplateStore } from "../templates/port.js";
import type { ResponseStore } from "./responses.js";

/**
 * What an inbound activity tells us about a conversation. `upsert` merges it into the stored
 * record: fields left undefined keep their stored value; `serviceUrl` and `lastActivityAt`
 * always refresh.
 */
export interface ConversationObservation {
  id: string;
  kind: ConversationKind;
  tenantId: string;
  serviceUrl: string;
  channelId: string;
  bot: Account;
  user?: Account | undefined;
  team?: TeamInfo | undefined;
  channel?: ChannelInfo | undefined;
  locale?: string | undefined;
  timezone?: string | undefined;
  /** ISO 8601 time of the activity. */
  at: string;
  /** Set on install: who installed the app (kept from the first install unless reinstalled). */
  installedBy?: Account | undefined;
  /** Set the status (install → active, uninstall → uninstalled); undefined keeps the stored one. */
  status?: ConversationStatus | undefined;
  statusCode?: string | undefined;
}

export interface UpsertResult {
  record: ConversationRecord;
  /** No record existed before. */
  created: boolean;
  /** The status went from something other than `active` to `active` (or the record is new and active). */
  activated: boolean;
}

export interface ConversationFilter {
  kind?: ConversationKind | undefined;
  tenantId?: string | undefined;
  status?: ConversationStatus | undefined;
  teamId?: string | undefined;
}

export interface Page<T> {
  items: T[];
  /** Opaque; pass back to get the next page. Absent on the last page. */
  nextCursor?: string | undefined;
}

/** Durable conversation references. */
export interface ConversationStore {
  /**
   * Record what an activity tells of a conversation. `welcome`: when this upsert activates the
   * conversation (an install), open the hold of its welcome (WelcomeStore.expect) in the same
   * transaction, so that no reader sees the conversation without the hold.
   */
  upsert(observation: ConversationObservation, welcome?: { conversationId: string; until: string }): Promise<UpsertResult>;
  get(id: string): Promise<ConversationRecord | undefined>;
  /**
   * Optional cheap form of `upsert` for an observation equal to the last one but for its time:
   * `lastActivityAt` becomes the later of the two and `updatedAt` is `at`, only while the stored
   * status is `status`. False when no such row (then `upsert`). Stores without it get `upsert`.
   */
  touch?(id: string, at: string, status: ConversationStatus): Promise<boolean>;
  /** The personal chat of a user, by Teams id (`29:...`) or Entra object id. */
  findPersonal(tenantId: string | undefined, userIdOrAadObjectId: string): Promise<ConversationRecord | undefined>;
  /** The spelling stored chats keep this tenant in, when `tenantId` is another letter case of it (tenantSpellingMessage). */
  otherTenantSpelling(tenantId: string): Promise<string | undefined>;
  list(filter: ConversationFilter, page: { cursor?: string | undefined; limit: number }): Promise<Page<ConversationRecord>>;
  /** Set the status of one conversation; returns false when it does not exist. */
  setStatus(id: string, status: ConversationStatus, code: string, at: string): Promise<boolean>;
  /** Set the status of every conversation of a team (team deleted, restored, bot removed from the team). */
  setTeamStatus(teamId: string, status: ConversationStatus, code: string, at: string): Promise<number>;
  /** Rename a team on every conversation that belongs to it. */
  renameTeam(teamId: string, name: string, at: string): Promise<number>;
  /** Mark a team archived or not on every conversation that belongs to it. */
  setTeamArchived(teamId: string, archived: boolean, at: string): Promise<number>;
}

export interface PreferenceStore {
  get(tenantId: string, userId: string): Promise<Preference | undefined>;
  /** Opt the user out of everything (`optedOut: true`) or back in. Returns the stored preference. */
  setOptedOut(tenantId: string, userId: string, optedOut: boolean, at: string): Promise<Preference>;
  /** Replace the categories the user opted out of (duplicates dropped); `optedOut` is kept. Returns the stored preference. */
  setOptedOutCategories(tenantId: string, userId: string, categories: readonly string[], at: string): Promise<Preference>;
  // Preferences (issue 11): tenant settings and the opt-out report.
  /** A tenant's quiet hours, working days and default time zone; undefined when never set. */
  tenantSettings(tenantId: string): Promise<TenantSettings | undefined>;
  /** Store a tenant's settings whole (fields left undefined are cleared). */
  putTenantSettings(settings: TenantSettings): Promise<TenantSettings>;
  /** People opted out, per tenant and category (`*` = everything); `tenantIds` limits the tenants. */
  optOutCounts(tenantIds?: readonly string[]): Promise<OptOutCount[]>;
  /** Preferences with any opt-out, by tenant then user, cursor-paged. */
  listOptOuts(
    filter: { tenantIds?: readonly string[] | undefined },
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<Preference>>;
}

/** Everything Herald keeps; one implementation per database, chosen in the composition root. */
export interface Store {
  conversations: ConversationStore;
  preferences: PreferenceStore;
  /** Notifications and per-recipient deliveries (the delivery engine's port, src/delivery/store/port.ts). */
  deliveries: DeliveryStore;
  /** Conversations and preferences shaped for audience expansion (batched lookups). */
  recipients: RecipientDirectory;
  /** API keys created through the API. */
  apiKeys: ApiKeyStore;
  /** Every write through the API. */
  audit: AuditLog;
  /** Recurring series (schedules, src/delivery/schedule/series.ts); optional so wrappers of a store need not name it (no series API then). */
  series?: SeriesStore | undefined;
  /** Running surveys and their answers (src/surveys). */
  surveys: SurveyStore;
  /** Answers to notifications, reactions and read receipts (issue 10); absent in stores that keep none. */
  responses?: ResponseStore;
  /** Drafts awaiting approval (015, the dashboard's approval flow); absent in test doubles that predate it. */
  drafts?: DraftStore;
  /** `POST /v1/installations` jobs (proactive installation through Graph); absent in stores without them. */
  installations?: InstallationStore;
  /** Saved templates (016, the dashboard's Compose); absent in test doubles that predate them. */
  templates?: TemplateStore;
  /** Rows sent through Teams' batch API (src/delivery/batch); absent in stores without it. */
  batches?: BatchStore;
  /** People who joined or left teams where the app is installed (020, issue 15); absent in stores without them. */
  teamMembers?: TeamMemberStore;
  /** Welcomes on their way, which hold other messages back in every process (021, issue 15); absent in stores without them. */
  welcomes?: WelcomeStore;
  /** True when the database answers and migrations are applied. */
  ready(): Promise<boolean>;
  close(): Promise<void>;
}

/** An API key as stored: the SHA-256 of its secret, never the secret. */
export interface ApiKeyRecord {
  id: string;
  name: string;
  /** Hex SHA-256 of the secret. */
  hash: string;
  scopes: ("send" | "read" | "admin" | "draft" | "approve")[];
  /** undefined = every tenant. */
  tenants?: string[] | undefined;
  /** Teams the key may reach (issue 12); with `groups`, undefined = no team/group limit. */
  teams?: string[] | undefined;
  /** Entra groups the key may reach. */
  groups?: string[] | undefined;
  createdAt: string;
  /** Key id of the creator. */
  createdBy: string;
  revokedAt?: string | undefined;
}

export interface ApiKeyStore {
  create(record: ApiKeyRecord): Promise<void>;
  /** Every key, newest first (revoked ones included, marked). */
  list(): Promise<ApiKeyRecord[]>;
  /** The key whose secret hashes to `hash` (an index lookup). */
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Revoke now; false when no such key. Revoking twice keeps the first time. */
  revoke(id: string, at: string): Promise<boolean>;
}

/** One write through the API: who (key id), what, on what, when. */
export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
  /**
   * The tenants the entry concerns (the target's tenants, else the acting key's); undefined = every
   * tenant or unknown, visible only to keys without a tenant limit.
   */
  tenants?: readonly string[] | undefined;
}

export interface AuditLog {
  record(entry: AuditEntry): Promise<void>;
  /**
   * Newest first, cursor-paged. With `tenants`, only entries whose tenant set is known and within
   * `tenants` (what a tenant-limited key may read).
   */
  list(page: {
    cursor?: string | undefined;
    limit: number;
    tenants?: readonly string[] | undefined;
  }): Promise<Page<AuditEntry & { id: number }>>;
}

/** What installing the app for one user ended with. */
export type InstallationOutcome = "installed" | "alreadyInstalled" | "refused" | "failed";

/** One user of an installation job. */
export interface InstallationItem {
  seq: number;
  userId: string;
  status: InstallationOutcome;
  /** Herald's code (`HERALD_E_INSTALL_APP_POLICY`, ...) for refused and failed. */
  code?: string | undefined;
  message?: string | undefined;
  at: string;
}

/** An installation job and its live counts. */
export interface InstallationJob {
  id: string;
  createdBy: string;
  tenantId: string;
  audience: unknown;
  status: "running" | "completed" | "failed";
  total: number;
  counts: Record<InstallationOutcome, number>;
  error?: string | undefined;
  createdAt: string;
  completedAt?: string | undefined;
}

/** Installation jobs: outcomes are recorded page by page with the counts in the same transaction. */
export interface InstallationStore {
  /** `lease`: the creating process runs the job (see `claim`). */
  create(job: {
    id: string;
    createdBy: string;
    tenantId: string;
    audience: unknown;
    createdAt: string;
    lease?: { owner: string; until: string } | undefined;
  }): Promise<InstallationJob>;
  /**
   * Leases are compared on the database's clock where it has one (PostgreSQL: `until - now` is
   * the lease's length from the database's `now()`), so processes with skewed clocks agree.
   * Take up to `limit` running jobs whose lease ended (their process stopped) or that have none,
   * for `owner` until `until`: each is taken by one process only.
   */
  claim(owner: string, now: string, until: string, limit: number): Promise<InstallationJob[]>;
  /** Extend the leases `owner` holds on running jobs to `until`; the ids of the jobs it still holds. */
  renew(owner: string, until: string, now?: string): Promise<string[]>;
  /** Give up `owner`'s lease on a job (stopping): the next process takes it at once. */
  release(jobId: string, owner: string): Promise<void>;
  /** The targets (`userId` of every item) the job has an outcome for. */
  targetsDone(jobId: string): Promise<string[]>;
  /** With `owner`: only while `owner` holds the job's lease, else a StoreError HERALD_E_INSTALL_LEASE_LOST. */
  record(jobId: string, items: readonly Omit<InstallationItem, "seq">[], owner?: string): Promise<void>;
  /** With `owner`: only while `owner` holds the job's lease, else a StoreError HERALD_E_INSTALL_LEASE_LOST. */
  finish(jobId: string, at: string, error?: string, owner?: string): Promise<void>;
  get(jobId: string): Promise<InstallationJob | undefined>;
  /** Items after `seq` `after` (-1 for the first page), in order. */
  items(jobId: string, after: number, limit: number): Promise<InstallationItem[]>;
  /**
   * Jobs newest first, of the tenants named (undefined: every tenant); `cursor` is the
   * `nextCursor` of the page before (opaque; one this store did not issue throws `HERALD_E_STORE_CURSOR`).
   */
  list(
    filter: { tenants?: readonly string[] | undefined },
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<InstallationJob>>;
}

/** Whether a person is in a team now, as Teams' teamMemberAdded / teamMemberRemoved said. */
export type TeamMemberStatus = "member" | "removed";

/** One person's membership of one team (issue 15). */
export interface TeamMemberRecord {
  /** The team's Teams id (`19:...@thread.tacv2`, channelData.team.id). */
  teamId: string;
  tenantId: string;
  /** The serviceUrl of the team's activity that told the change: where to create the person's 1:1 chat. */
  serviceUrl: string;
  /** Teams id (`29:...`) and Entra object id; Teams sends no name with these events. */
  user: Account;
  status: TeamMemberStatus;
  /** The event that set `status` (`teamMemberAdded`, `teamMemberRemoved`). */
  statusCode: string;
  /** When the change happened in Teams (the activity's timestamp), ISO 8601. */
  changedAt: string;
  updatedAt: string;
}

/** A welcome on its way into a conversation (WelcomeStore); times are canonical ISO 8601. */
export interface WelcomeHold {
  conversationId: string;
  /** When the install event asked for it. */
  askedAt: string;
  /** The welcome's notification, once stored. */
  notificationId?: string | undefined;
  /** When the hold ends at the latest: in the past once the welcome was sent, failed or given up. */
  until: string;
}

/**
 * Welcomes on their way (issue 15): the person sees the welcome an install causes before any
 * other message, whichever process took the install event and whichever sends. The install's
 * upsert opens the hold in its own transaction (`ConversationStore.upsert`'s `welcome`). While a
 * hold is live, a row of another notification into the conversation is held back at claim time
 * (`heldReason: "welcome"`), and install steps wait for it. `install_leases`: one process at a
 * time installs the app for a person.
 */
export interface WelcomeStore {
  /** Open the hold of a new install's welcome into `conversationId`, from `askedAt` until `until` at the latest (replaces the last hold). */
  expect(conversationId: string, askedAt: string, until: string): Promise<void>;
  /** The welcome was stored as `notificationId`: named on the hold that names none yet, held at least until `until`; its end will end the hold. */
  stored(conversationId: string, notificationId: string, until: string): Promise<void>;
  /** These notifications ended (sent or failed): the live holds of the welcomes among them end at `at`. */
  settled(notificationIds: readonly string[], at: string): Promise<void>;
  /** No welcome after all (it could not be stored): the hold asked at `askedAt` ends at `at`, unless it names a welcome. */
  cancel(conversationId: string, askedAt: string, at: string): Promise<void>;
  /** The last hold of `conversationId`, live or ended. */
  get(conversationId: string): Promise<WelcomeHold | undefined>;
  /**
   * Take the install step for `person` (`<tenant>|<graph id>`, lower case) for `owner` until
   * `until`: false while another owner's lease is live at `now`. A step installing beside
   * another process's would get 409 and send before that install's welcome.
   */
  claimInstall(person: string, owner: string, until: string, now: string): Promise<boolean>;
  /** `owner`'s step for `person` ended: its lease goes, or stays until `keepUntil` (an install whose install event may still come). */
  releaseInstall(person: string, owner: string, keepUntil?: string): Promise<void>;
}

/** People joining and leaving teams where the app is installed. */
export interface TeamMemberStore {
  /**
   * Record that `users` joined (`member`) or left (`removed`) the team at `changedAt`; `at` is
   * Herald's time. One row per team and person: the same change again (a redelivered activity)
   * changes nothing, and a change older than the stored one is ignored, so a late redelivery of
   * an add cannot undo a later removal.
   */
  record(change: {
    teamId: string;
    tenantId: string;
    serviceUrl: string;
    users: readonly Account[];
    status: TeamMemberStatus;
    statusCode: string;
    changedAt: string;
    at: string;
  }): Promise<void>;
  /** Everyone Herald knows joined or left the team, by Teams id. */
  list(teamId: string): Promise<TeamMemberRecord[]>;
}
