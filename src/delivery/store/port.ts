import type {
  Audience,
  BlockedEntry,
  Delivery,
  DeliveryStatus,
  InFlightPolicy,
  Job,
  JobResult,
  LeasedKey,
  NewDelivery,
  Notification,
  NotificationStatus,
  Page,
  RecoveryResult,
  RowError,
} from "../model.js";

/**
 * The delivery engine's storage, named after the domain (no SQL types). One Kysely
 * implementation serves SQLite and PostgreSQL (src/store/kysely/deliveries.ts); its contract
 * suite runs on both (test/delivery/store.contract.ts).
 *
 * Times passed in are milliseconds since the epoch from the engine's Clock, which follows
 * `databaseNow` (src/delivery/store-clock.ts); times returned in
 * records are ISO 8601 strings. Counters of a notification change in the same transaction as
 * the rows they count, so `getNotification` never counts rows.
 */
export interface DeliveryStore {
  /** True when several processes may share this store (PostgreSQL); false for a SQLite file, owned by one process. */
  readonly shared: boolean;
  /**
   * The store's clock (ms since the epoch) when several processes share it (PostgreSQL: the
   * server's `clock_timestamp()`), so that every process writes and compares times on one clock;
   * undefined when the process's own clock is the store's (a SQLite file, one process).
   */
  databaseNow(): Promise<number | undefined>;

  /**
   * Insert a notification and its first rows in ONE transaction (the rows of explicit lists; the
   * durable promise of 202). Idempotent on `(createdBy, idempotencyKey)`: when that pair exists,
   * nothing is written and the stored notification comes back with `created: false`.
   */
  createNotification(input: NewNotification, rows: readonly NewDelivery[]): Promise<{ notification: Notification; created: boolean }>;
  /** The notification `createdBy` made with `idempotencyKey`, if any. */
  findByIdempotencyKey(createdBy: string, idempotencyKey: string): Promise<Notification | undefined>;
  getNotification(id: string): Promise<Notification | undefined>;
  /** Newest first. */
  listNotifications(filter: NotificationFilter, page: PageRequest): Promise<Page<Notification>>;

  /**
   * Notifications with something to do, for the dispatcher's directory. Scheduled notifications
   * whose time has come (`scheduledAt <= now`) are promoted to `queued` first.
   */
  activeWork(now: number): Promise<ActiveNotification[]>;
  /** Take over a notification's streaming expansion (when nobody alive holds it); its resumable cursor, or undefined. */
  claimExpansion(notificationId: string, owner: string, now: number): Promise<{ cursor: unknown } | undefined>;
  /**
   * Add one page of expanded recipients, with the expansion's new cursor, in one transaction.
   * Rows whose recipient key exists are skipped (a user listed twice, a page re-read after a crash).
   * `done` ends the expansion. Returns the rows inserted and the tenants they belong to;
   * `accepted` is false (nothing written) when the notification was recalled or its expansion
   * is no longer `owner`'s: the expansion must stop.
   *
   * With `window`, the page is a window of the `all` audience's walk by id: after `rows` (its
   * chats whose rows were built in code), the store writes a `pending` row for each of the
   * window's other active chats, as `conversationRow` would for a user without an opt-out
   * (`RecipientDirectory.personalWindow`). A user who opted out after the window was read gets a
   * `pending` row, as with pages, which the claim ends `optedOut`.
   */
  appendDeliveries(
    notificationId: string,
    owner: string,
    rows: readonly NewDelivery[],
    progress: { cursor: unknown; done: boolean },
    now: number,
    window?: ChatWindow,
  ): Promise<{ inserted: number; tenants: string[]; accepted: boolean }>;

  /**
   * Lease up to `limit` ready rows of one notification in one tenant whose time has come, oldest
   * due first (PostgreSQL: `FOR UPDATE SKIP LOCKED`). The first claim moves a `queued`
   * notification to `sending`. Each claim leases its rows under a number of its own (`Job.lease`),
   * which every later write about them names.
   */
  claim(owner: string, notificationId: string, tenantId: string, now: number, limit: number): Promise<Job[]>;
  /**
   * Settings of the holds applied at claim time (issue 11): a non-urgent send in its tenant's quiet
   * hours, off its working days, or over HERALD_FREQUENCY_CAP goes back to the pool due when it
   * may go, with `heldUntil`/`heldReason` on its row, instead of being returned.
   */
  configureHolds?(settings: { frequencyCap?: { count: number; windowMs: number } | undefined }): void;
  /** When the next ready row of that notification and tenant comes due (ms), or undefined when none waits. */
  nextDue(notificationId: string, tenantId: string): Promise<number | undefined>;
  /**
   * Mark claimed send rows `inflight`, committed before any of their requests leaves. Returns the
   * keys it marked: rows recalled, taken over or leased anew meanwhile are left out and must not be sent.
   */
  markInflight(owner: string, keys: readonly LeasedKey[], now: number): Promise<LeasedKey[]>;
  /**
   * A 1:1 chat was just created for a row (leased by `owner` under `key.lease`): give the row that chat, unless
   * another row of the same notification already has it (the same person named by another id),
   * in which case that row's seq is returned and this row is left as it is. Serialized per
   * notification (its row is locked), so two rows getting the same chat at once cannot both win.
   */
  claimChat(
    owner: string,
    key: LeasedKey,
    chat: { conversationId: string; serviceUrl: string },
    now: number,
  ): Promise<{ duplicateOf?: number }>;
  /**
   * Write a batch of outcomes and their counter changes in one transaction. Rows no longer under
   * the result's lease (of `owner`) are left alone, so a write replayed after its commit went through changes nothing. A send that lands after an edit or a recall is queued for that
   * edit or delete. Returns the current message version of each notification touched.
   */
  recordResults(owner: string, results: readonly JobResult[], now: number): Promise<Map<string, number>>;
  /** Mark finished the given notifications that have nothing left to do; returns those it finished. */
  finishIfDone(ids: readonly string[], now: number): Promise<string[]>;
  /**
   * markInflight, recordResults and finishIfDone (of the notifications the results touched) in
   * ONE transaction: the dispatcher's write of each turn of the event loop, one commit instead of three.
   */
  writeBatch(owner: string, batch: WorkBatch, now: number): Promise<WorkBatchResult>;

  /** Edit: new message, version + 1, every sent copy queued for an update. Undefined when unknown or recalled. */
  requestEdit(id: string, message: unknown, now: number): Promise<EditOutcome>;
  /**
   * Send again the rows that ended `failed` (and `unknown` when listed), counters moved with them;
   * a completed notification is `sending` again. Rows without a tenant (Herald could never send
   * them) and failed team rows stay. Refused (`canceled`) for a recalled notification.
   */
  requestRetry(id: string, statuses: readonly ("failed" | "unknown")[], now: number): Promise<RetryOutcome>;
  /** Recall: cancel what is not sent, queue a delete of every sent copy, status `canceled`. */
  requestRecall(id: string, now: number): Promise<Notification | undefined>;

  listDeliveries(notificationId: string, filter: { status?: DeliveryStatus | undefined }, page: PageRequest): Promise<Page<Delivery>>;

  /** BotDisabledByAdmin: stop sending to the tenant until `resumeTenant`. */
  pauseTenant(tenantId: string, code: string, now: number): Promise<void>;
  /** Returns true when the tenant was paused. */
  resumeTenant(tenantId: string): Promise<boolean>;
  pausedTenants(): Promise<string[]>;
  /** Every paused tenant with the code and time of its pause. */
  tenantPauses(): Promise<TenantPause[]>;
  /**
   * Tenants Herald knows (from stored conversations, and paused ones), with their pause if any and
   * the rows waiting for them; `disabledOnly` lists only paused tenants (no scan of conversations).
   */
  tenantStates(filter: { tenantIds?: readonly string[] | undefined; disabledOnly?: boolean | undefined }): Promise<TenantState[]>;
  /**
   * A paused tenant's rows that waited long enough end: rows of notifications started (or
   * scheduled) at or before `before` that wait to be sent become `failed` with `error`, waiting
   * edits and deletes fail too; counters move with them and the notifications this finishes are
   * completed (and returned). Rows in flight or leased are left to their worker.
   */
  expireTenantRows(tenantId: string, error: RowError, before: number, now: number): Promise<{ failed: number; finished: string[] }>;

  /**
   * Register or refresh a worker (process) as alive. A shared store (PostgreSQL) records its own
   * clock's time (`now()`), not `now`: leases are judged on the one clock every process shares.
   */
  heartbeat(owner: string, now: number): Promise<void>;
  /**
   * Give back the work of dead workers: their claimed rows become ready, their in-flight sends
   * `unknown` (or ready with `resend`, unless their notification was recalled), their edits and
   * deletes ready. A worker is dead when its
   * heartbeat is older than `staleBefore`, or, with `othersAreDead` (a store one process owns),
   * whenever it is not `self`. A shared store judges this on its own clock: dead = no heartbeat
   * within the last `now - staleBefore` ms of the database's `now()`. With `selfBeatSince`, each
   * statement that judges also requires `self`'s own heartbeat at or after that time (judged the
   * same way): a statement run late, after an outage that aged every heartbeat, takes nothing.
   */
  recover(
    self: string,
    staleBefore: number,
    policy: InFlightPolicy,
    now: number,
    othersAreDead: boolean,
    selfBeatSince?: number,
  ): Promise<RecoveryResult>;
  /**
   * Graceful stop: return `owner`'s claimed rows to the pool and forget the worker; with
   * `keepWorker`, the worker stays (work of it may still be under way, e.g. a batch submit not
   * answered yet: the others judge it by its heartbeat's age, as a dead process's).
   */
  retire(owner: string, now: number, keepWorker?: boolean): Promise<void>;

  /** Conversations that blocked or uninstalled the bot, newest change first. */
  blockedReport(filter: { tenantIds?: readonly string[] | undefined }, page: PageRequest): Promise<Page<BlockedEntry>>;
}

/** A tenant whose admin disabled the bot. `since` is ISO 8601. */
export interface TenantPause {
  tenantId: string;
  code: string;
  since: string;
}

/** A tenant as `GET /v1/tenants` shows it. */
export interface TenantState {
  tenantId: string;
  state: "active" | "disabled";
  /** Teams' code of the pause (BotDisabledByAdmin). */
  code?: string | undefined;
  /** When sending to it paused (ISO 8601). */
  since?: string | undefined;
  /** Stored conversations in the tenant. */
  conversations: number;
  /** Rows waiting to be sent to it (counted for disabled tenants only). */
  waiting?: number | undefined;
}

export interface PageRequest {
  cursor?: string | undefined;
  limit: number;
}

export interface NotificationFilter {
  status?: NotificationStatus | undefined;
  /** Only notifications created by this key or lying in these tenants (tenant-scoped API keys). */
  visibleTo?: { keyId: string; tenants: readonly string[] } | undefined;
  /** Include the bot's own messages (SYSTEM_CREATOR); left out by default. */
  includeSystem?: boolean | undefined;
}

/** A notification to insert. */
export interface NewNotification {
  id: string;
  createdBy: string;
  idempotencyKey?: string | undefined;
  requestHash: string;
  tenantId?: string | undefined;
  audience: Audience;
  message: unknown;
  data?: Record<string, unknown> | undefined;
  category?: string | undefined;
  /** `urgent` passes quiet hours and the frequency cap; undefined = normal. */
  priority?: "urgent" | "normal" | undefined;
  /** The message ends with how to stop it. */
  footer?: boolean | undefined;
  /** ms since the epoch. */
  createdAt: number;
  scheduledAt?: number | undefined;
  /** A local-time schedule (JSON-able), kept so a streaming expansion places its rows the same way. */
  schedule?: unknown;
  /** The series run this notification is (unique per series and run time). */
  seriesId?: string | undefined;
  /** ms since the epoch. */
  seriesRunAt?: number | undefined;
  /** False for audiences streamed in the background (`all`, team rosters). */
  expansionDone: boolean;
  /** Where the background expansion starts (stored as its first cursor); none = the beginning. */
  expansionCursor?: unknown;
}

/** What the dispatcher writes at once (DeliveryStore.writeBatch). */
export interface WorkBatch {
  /** Claimed send rows about to leave, with their claim's lease: mark them `inflight`. */
  marks: readonly LeasedKey[];
  /** Outcomes of requests that ended. */
  results: readonly JobResult[];
}

export interface WorkBatchResult {
  /** The marks that took (rows recalled or taken over meanwhile are left out and must not be sent). */
  marked: LeasedKey[];
  /** Current message version of each notification the results touched. */
  versions: Map<string, number>;
  /** Notifications these results finished. */
  finished: string[];
}

/** What the dispatcher needs to know about a notification with work. */
export interface ActiveNotification {
  id: string;
  status: NotificationStatus;
  messageVersion: number;
  expansionDone: boolean;
  /** The worker streaming its expansion, if any. */
  expansionOwner?: string | undefined;
  /** Tenants it has rows in. */
  tenants: string[];
}

export type RetryOutcome =
  | { ok: true; notification: Notification; retried: number; tenants: string[] }
  | { ok: false; reason: "notFound" | "canceled" };

export type EditOutcome = { ok: true; notification: Notification } | { ok: false; reason: "notFound" | "canceled" };

/**
 * Read access to stored conversations and preferences, shaped for audience expansion (batched
 * lookups joined with preferences, so a page of a thousand costs one query, not a thousand).
 */
export interface RecipientDirectory {
  /**
   * Stored conversations by id. `tenants` (a tenant-limited caller's) leaves out every other
   * tenant's conversation, as if Herald did not know it; the same in `teams` and `channels`.
   */
  conversations(ids: readonly string[], tenants?: readonly string[]): Promise<Map<string, StoredRecipient>>;
  /** Personal chats by user Teams id or Entra object id (in `tenantId` when given); keyed by the id asked for. */
  personalChats(userIds: readonly string[], tenantId: string | undefined): Promise<Map<string, StoredRecipient>>;
  /** The spelling stored chats keep this tenant in, when `tenantId` is another letter case of it (tenantSpellingMessage). */
  otherTenantSpelling(tenantId: string): Promise<string | undefined>;
  /** Where a team lives (serviceUrl, tenant), from any stored conversation of it; keyed by team id. */
  teams(teamIds: readonly string[], tenants?: readonly string[]): Promise<Map<string, TeamHome>>;
  /**
   * Teams of `tenantId` by Entra group id (the `aadGroupId` Teams sends in channelData.team),
   * keyed by the group id in lower case; `active` is false when the team's conversations are
   * known to be uninstalled. Empty when `tenants` leaves out `tenantId`.
   */
  teamsByGroup(
    groupIds: readonly string[],
    tenantId: string,
    tenants?: readonly string[],
  ): Promise<Map<string, TeamHome & { active: boolean }>>;
  /** Where a channel lives, from a stored conversation of the channel or of its team; keyed by channel id. */
  channels(channelIds: readonly string[], tenants?: readonly string[]): Promise<Map<string, TeamHome>>;
  /**
   * One page of active (and blocked, to be tried again or skipped) personal chats stored after
   * `seq` `after`, in insertion order; `last` is the seq to ask the next page after. The `all`
   * audience reads the chats stored since its walk began this way (see `personalPageById`).
   */
  personalPage(
    tenantId: string | undefined,
    after: number | undefined,
    limit: number,
  ): Promise<{ items: StoredRecipient[]; last?: number | undefined }>;
  /**
   * The same chats, those stored up to `seq` `upTo`, in conversation-id order (code points) after
   * the id `afterId`; `last` is the id to ask the next page after. The `all` audience walks the
   * chats stored when it began this way, so that its rows reach the indexes keyed by conversation
   * id in their order (022_personal_id_order).
   */
  personalPageById(
    tenantId: string | undefined,
    afterId: string | undefined,
    upTo: number,
    limit: number,
  ): Promise<{ items: StoredRecipient[]; last?: string | undefined }>;
  /**
   * The next window of the walk by id, for a store that writes its rows itself
   * (`DeliveryStore.appendDeliveries` with a window): the first `limit` active and blocked chats
   * after `afterId` in id order, as `personalPageById` would read them. Returns how many there
   * are, the window (none when it is empty), and the window's chats whose rows need a decision in
   * code: the blocked ones and the active ones whose user has an opt-out, of everything or of any
   * category (read in the same snapshot).
   */
  personalWindow(
    tenantId: string | undefined,
    afterId: string | undefined,
    upTo: number,
    limit: number,
  ): Promise<{ count: number; window?: ChatWindow | undefined; decide: StoredRecipient[] }>;
  /** The highest `seq` of the stored conversations (0 when there is none): where a walk by id ends and the walk by seq of later chats begins. */
  lastSeq(): Promise<number>;
  /** Preferences of users (Teams ids) of one tenant; keyed by user id. */
  preferences(tenantId: string, userIds: readonly string[]): Promise<Map<string, { optedOut: boolean; categories: string[] }>>;
  /** Any serviceUrl known for the tenant (to create chats with users Herald has never talked to). */
  serviceUrlOf(tenantId: string): Promise<string | undefined>;
  /**
   * People Herald learnt joined a team (teamMemberAdded, issue 15) and who are still members of a
   * team whose app is installed, by Teams id or Entra object id in `tenantId`; keyed by the id
   * asked for. Their 1:1 chat can be created with their Teams id on the team's serviceUrl.
   * Optional: a directory without it knows no such people.
   */
  teamMembers?(userIds: readonly string[], tenantId: string): Promise<Map<string, KnownTeamMember>>;
  /**
   * The blocked conversations among `ids` that blocked, and were last tried again, at or before
   * `dueBefore` (ms): their retry time becomes `now` and they are returned. Atomic per
   * conversation, so two expansions at once never both try the same one.
   */
  claimBlockedRetries(ids: readonly string[], dueBefore: number, now: number): Promise<Set<string>>;
}

/** A window of the `all` audience's walk by id: the messageable 1:1 chats with ids in `(afterId, last]` (code points), stored up to `upTo`. */
export interface ChatWindow {
  tenantId?: string | undefined;
  afterId?: string | undefined;
  last: string;
  upTo: number;
}

/** A stored conversation as expansion sees it. */
export interface StoredRecipient {
  conversationId: string;
  kind: string;
  tenantId: string;
  serviceUrl: string;
  status: string;
  statusCode?: string | undefined;
  userId?: string | undefined;
  userName?: string | undefined;
  userAadObjectId?: string | undefined;
  locale?: string | undefined;
  /** IANA time zone Teams reported for the user. */
  timezone?: string | undefined;
  optedOut: boolean;
  optedOutCategories: string[];
  /** Insertion order (the `all` cursor). */
  seq: number;
  /** A blocked conversation to try again now (HERALD_BLOCKED_RETRY_INTERVAL): its row is sent, not written `blocked`. */
  retryBlocked?: boolean | undefined;
}

/** A person known from a team's roster events, and where their team lives. */
export interface KnownTeamMember {
  /** Teams id `29:...`. */
  userId: string;
  aadObjectId?: string | undefined;
  name?: string | undefined;
  home: TeamHome;
}

export interface TeamHome {
  teamId: string;
  tenantId: string;
  serviceUrl: string;
}
