import { sql } from "kysely";
import { StoreError } from "../errors.js";
import { migrations } from "../migrations/index.js";
import type { Store } from "../ports.js";
import { type AccessTables, KyselyApiKeyStore, KyselyAuditLog } from "./access.js";
import type { SqlBackend } from "./backend.js";
import { KyselyBatchStore } from "./batch.js";
import { KyselyConversationStore } from "./conversations.js";
import { KyselyDeliveryStore } from "./deliveries.js";
import { withDeliveryTables } from "./delivery-schema.js";
import { KyselyDraftStore } from "./drafts.js";
import { KyselyInstallationStore } from "./installations.js";
import { appliedMigrations, migrate } from "./migrator.js";
import { KyselyPreferenceStore } from "./preferences.js";
import { KyselyResponseStore } from "./responses.js";
import { KyselySeriesStore } from "./series.js";
import { KyselySurveyStore } from "./surveys.js";
import { KyselyTeamMemberStore } from "./team-members.js";
import { KyselyTemplateStore } from "./templates.js";
import { KyselyWelcomeStore } from "./welcomes.js";

/** The `Store` over a connected back end: the same code for every SQL database. */
export class KyselyStore implements Store {
  readonly conversations: KyselyConversationStore;
  readonly preferences: KyselyPreferenceStore;
  readonly deliveries: KyselyDeliveryStore;
  readonly recipients: KyselyDeliveryStore["recipients"];
  readonly apiKeys: KyselyApiKeyStore;
  readonly audit: KyselyAuditLog;
  readonly series: KyselySeriesStore;
  readonly surveys: KyselySurveyStore;
  readonly responses: KyselyResponseStore;
  readonly drafts: KyselyDraftStore;
  readonly installations: KyselyInstallationStore;
  readonly templates: KyselyTemplateStore;
  readonly batches: KyselyBatchStore;
  readonly teamMembers: KyselyTeamMemberStore;
  readonly welcomes: KyselyWelcomeStore;
  private closed = false;

  constructor(private readonly backend: SqlBackend) {
    this.conversations = new KyselyConversationStore(backend);
    this.preferences = new KyselyPreferenceStore(backend.db);
    this.deliveries = new KyselyDeliveryStore(backend);
    this.recipients = this.deliveries.recipients;
    this.apiKeys = new KyselyApiKeyStore(backend.db.withTables<AccessTables>());
    this.audit = new KyselyAuditLog(backend.db.withTables<AccessTables>());
    this.series = new KyselySeriesStore(withDeliveryTables(backend.db));
    this.surveys = new KyselySurveyStore(backend.db);
    this.responses = new KyselyResponseStore(withDeliveryTables(backend.db));
    this.drafts = new KyselyDraftStore(backend.db);
    this.installations = new KyselyInstallationStore(backend.db, backend.dialect);
    this.templates = new KyselyTemplateStore(backend.db, backend.dialect);
    this.batches = new KyselyBatchStore(withDeliveryTables(backend.db), backend.dialect, () => this.deliveries.holdSettings());
    this.teamMembers = new KyselyTeamMemberStore(backend.db);
    this.welcomes = new KyselyWelcomeStore(backend.db);
  }

  /** True when the database answers and every migration this code knows is applied; false once closed. */
  async ready(): Promise<boolean> {
    if (this.closed) return false;
    const applied = await appliedMigrations(this.backend);
    return applied !== undefined && migrations.every((m) => applied.has(m.name));
  }

  /** Close the connection (SQLite) or end the pool (PostgreSQL). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.deliveries.close();
    try {
      await this.backend.beforeClose?.();
      await this.backend.db.destroy();
    } finally {
      this.backend.release?.();
    }
  }
}

/**
 * Check that the database answers, apply pending migrations, and return the store. On failure the
 * back end is released and a `StoreError` says what to fix; `where` names the database for that
 * message (never with a password).
 */
export async function openKyselyStore(backend: SqlBackend, where: string): Promise<KyselyStore> {
  try {
    try {
      await sql`select 1`.execute(backend.db);
    } catch (e) {
      throw new StoreError(
        "HERALD_E_STORE_OPEN",
        `Cannot reach the ${backend.dialect} database at ${where} (${(e as Error).message}). Check HERALD_DATABASE_URL and that the database is running and accepts this user.`,
        { cause: e },
      );
    }
    await migrate(backend, migrations);
    return new KyselyStore(backend);
  } catch (e) {
    await backend.db.destroy().catch(() => undefined);
    backend.release?.();
    throw e;
  }
}
