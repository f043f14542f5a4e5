import type { Kysely } from "kysely";
import type { Database } from "./schema.js";

/**
 * The delivery engine's tables (migration 003_deliveries) as Kysely sees them. Conventions of
 * ./schema.ts apply (ISO text times, 0/1 booleans, nullable = optional), with one exception on
 * the hot path: `due_at` and `first_attempt_at` are integer milliseconds since the epoch,
 * because the dispatcher compares and adds to them on every claim and retry (`heartbeat_at` too
 * on SQLite; on PostgreSQL it is a `timestamptz` written with `now()`, see delivery-control.ts).
 * PostgreSQL returns its bigints as strings: read every integer through `Number()`.
 */
export interface DeliveryTables {
  notifications: NotificationsTable;
  deliveries: DeliveriesTable;
  notification_tenants: NotificationTenantsTable;
  delivery_workers: DeliveryWorkersTable;
  paused_tenants: PausedTenantsTable;
}

type Int = number | string;

export interface NotificationsTable {
  id: string;
  /** The API key id that created it. */
  created_by: string;
  idempotency_key: string | null;
  request_hash: string;
  tenant_id: string | null;
  status: string;
  /** 1 while anything is left to do (expansion, sends, edits, deletes). */
  active: number;
  /** JSON. */
  audience: string;
  /** JSON, as the API accepted it. */
  message: string;
  message_version: number;
  /** JSON object of template data, or null. */
  data: string | null;
  category: string | null;
  created_at: string;
  scheduled_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  canceled_at: string | null;
  updated_at: string;
  expansion_done: number;
  /** JSON: where a streaming expansion resumes. */
  expansion_cursor: string | null;
  expansion_owner: string | null;
  /** Sequence number of the next row. */
  next_seq: Int;
  total: Int;
  pending: Int;
  sent: Int;
  failed: Int;
  blocked: Int;
  not_found: Int;
  opted_out: Int;
  canceled: Int;
  unknown: Int;
  edit_pending: Int;
  edit_done: Int;
  edit_failed: Int;
  recall_pending: Int;
  recall_done: Int;
  recall_failed: Int;
  // --- schedules (012_schedules) ---
  /** JSON of the request's `schedule` (local-time schedules), or null. */
  schedule: string | null;
  series_id: string | null;
  series_run_at: string | null;
  /** Deliveries read (010_reads_reactions). */
  read_count?: Int;
  /** `urgent` passes quiet hours and the frequency cap; null = normal (013_preferences). */
  priority?: string | null;
  /** 1: the message ends with how to stop it (013_preferences). */
  footer?: number | null;
}

export interface DeliveriesTable {
  notification_id: string;
  seq: Int;
  recipient_key: string;
  kind: string;
  tenant_id: string;
  conversation_id: string | null;
  service_url: string | null;
  target_id: string | null;
  user_id: string | null;
  user_name: string | null;
  user_aad_object_id: string | null;
  given_name: string | null;
  surname: string | null;
  locale: string | null;
  status: string;
  op: string | null;
  queue: string | null;
  due_at: Int | null;
  lease_owner: string | null;
  /** The claim that leased the row (023_delivery_lease_ids); null for the batch path's leases. */
  lease_id: Int | null;
  attempts: number;
  first_attempt_at: Int | null;
  activity_id: string | null;
  applied_version: number | null;
  recall_state: string | null;
  last_error_code: string | null;
  last_error_message: string | null;
  sent_at: string | null;
  updated_at: string;
  /** 1: the row tries again a conversation that had blocked the bot (008_blocked_retry). */
  retry_blocked: number | null;
  // --- schedules (012_schedules) ---
  /** When the row may first be sent (ISO); its `due_at` starts there too. */
  not_before: string | null;
  /** The IANA zone of the recipient (or the schedule's fallback) the row was placed in. */
  timezone: string | null;
  /** When the recipient read it (010_reads_reactions). */
  read_at?: string | null;
  /** Answers the shared channel card last showed (010_reads_reactions). */
  card_total?: number | null;
  /** ISO time the row was last held until (quiet hours, working days, frequency cap; 013_preferences). */
  held_until?: string | null;
  /** `quietHours`, `workingDays` or `frequencyCap` (013_preferences). */
  held_reason?: string | null;
}

export interface NotificationTenantsTable {
  notification_id: string;
  tenant_id: string;
}

export interface DeliveryWorkersTable {
  id: string;
  started_at: string;
  /** SQLite: ms since the epoch; PostgreSQL: `timestamptz` (read as ISO text), the database's `now()`. */
  heartbeat_at: Int;
}

export interface PausedTenantsTable {
  tenant_id: string;
  code: string;
  paused_at: string;
}

/** Every table the delivery store reads: its own and the conversation store's. */
export type AllTables = Database & DeliveryTables;

/**
 * The back end's Kysely instance typed with the delivery tables too. `Database` (./schema.ts)
 * lists the conversation store's tables; the delivery tables are declared here so the two
 * stores evolve in separate files. Same connection, same transactions.
 */
export const withDeliveryTables = (db: Kysely<Database>): Kysely<AllTables> => db as unknown as Kysely<AllTables>;
