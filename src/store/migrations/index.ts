import { m001Conversations } from "./001_conversations.js";
import { m002Preferences } from "./002_preferences.js";
import { m003Deliveries } from "./003_deliveries.js";
import { m004Access } from "./004_access.js";
import { m005ReadyIndex } from "./005_ready_index.js";
import { m006AuditTenants } from "./006_audit_tenants.js";
import { m007UserChatIndex } from "./007_user_chat_index.js";
import { m008BlockedRetry } from "./008_blocked_retry.js";
import { m009Responses } from "./009_responses.js";
import { m010ReadsReactions } from "./010_reads_reactions.js";
import { m011Surveys } from "./011_surveys.js";
import { m012Schedules } from "./012_schedules.js";
import { m013Preferences } from "./013_preferences.js";
import { m014Installations } from "./014_installations.js";
import { m015Drafts } from "./015_drafts.js";
import { m016Templates } from "./016_templates.js";
import { m017KeyAudiences } from "./017_key_audiences.js";
import { m018PostgresTypes } from "./018_postgres_types.js";
import { m019InstallationLeases } from "./019_installation_leases.js";
import { m020TeamMembers } from "./020_team_members.js";
import { m021WelcomeHolds } from "./021_welcome_holds.js";
import { m022PersonalIdOrder } from "./022_personal_id_order.js";
import { m023DeliveryLeaseIds } from "./023_delivery_lease_ids.js";
import type { Migration } from "./migration.js";

export type { Migration } from "./migration.js";

/**
 * Every migration, in the order they apply. `openStore` applies the ones a database lacks, in one
 * transaction under a lock, and records each in `herald_migrations`.
 *
 * To add one:
 * 1. create `NNN_what.ts` next to this file (the next number, e.g. `004_api_keys.ts`)
 *    exporting a `Migration` named `"NNN_what"`; use Kysely's schema builder, branching on
 *    `dialect` only where SQLite and PostgreSQL differ;
 * 2. append it to this list;
 * 3. describe the new or changed tables in `../kysely/schema.ts` (the `Database` interface).
 * Migrations are TypeScript modules imported here (not files read at run time), so they ship in
 * `dist/` with the rest of the code. Never edit one that has shipped.
 */
export const migrations: readonly Migration[] = [
  m001Conversations,
  m002Preferences,
  m003Deliveries,
  m004Access,
  m005ReadyIndex,
  m006AuditTenants,
  m007UserChatIndex,
  m008BlockedRetry,
  m009Responses,
  m010ReadsReactions,
  m011Surveys,
  m012Schedules,
  m013Preferences,
  m014Installations,
  m015Drafts,
  m016Templates,
  m017KeyAudiences,
  m018PostgresTypes,
  m019InstallationLeases,
  m020TeamMembers,
  m021WelcomeHolds,
  m022PersonalIdOrder,
  m023DeliveryLeaseIds,
];
