import type { Kysely } from "kysely";
import type { Preference } from "../../domain/conversation.js";
import type { OptOutCount, TenantSettings } from "../../preferences/model.js";
import type { Page, PreferenceStore } from "../ports.js";
import { canonicalTime } from "../time.js";
import { categoriesToText, rowToPreference } from "./rows.js";
import type { Database } from "./schema.js";
import * as tenants from "./tenant-settings.js";

/** Users' notification preferences over Kysely; every write is one `INSERT ... ON CONFLICT DO UPDATE`. */
export class KyselyPreferenceStore implements PreferenceStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(tenantId: string, userId: string): Promise<Preference | undefined> {
    const row = await this.db
      .selectFrom("preferences")
      .selectAll()
      .where("tenant_id", "=", tenantId)
      .where("user_id", "=", userId)
      .executeTakeFirst();
    return row && rowToPreference(row);
  }

  /** Opt out of everything or back in; the user's category choices are kept either way. */
  async setOptedOut(tenantId: string, userId: string, optedOut: boolean, at: string): Promise<Preference> {
    const updatedAt = canonicalTime(at);
    const row = await this.db
      .insertInto("preferences")
      .values({ tenant_id: tenantId, user_id: userId, opted_out: optedOut ? 1 : 0, opted_out_categories: "[]", updated_at: updatedAt })
      .onConflict((oc) => oc.columns(["tenant_id", "user_id"]).doUpdateSet({ opted_out: optedOut ? 1 : 0, updated_at: updatedAt }))
      .returningAll()
      .executeTakeFirstOrThrow();
    return rowToPreference(row);
  }

  /** Replace the categories the user opted out of (duplicates dropped, order kept); `optedOut` is kept. */
  async setOptedOutCategories(tenantId: string, userId: string, categories: readonly string[], at: string): Promise<Preference> {
    const updatedAt = canonicalTime(at);
    const text = categoriesToText(categories);
    const row = await this.db
      .insertInto("preferences")
      .values({ tenant_id: tenantId, user_id: userId, opted_out: 0, opted_out_categories: text, updated_at: updatedAt })
      .onConflict((oc) => oc.columns(["tenant_id", "user_id"]).doUpdateSet({ opted_out_categories: text, updated_at: updatedAt }))
      .returningAll()
      .executeTakeFirstOrThrow();
    return rowToPreference(row);
  }

  tenantSettings(tenantId: string): Promise<TenantSettings | undefined> {
    return tenants.getTenantSettings(this.db, tenantId);
  }

  putTenantSettings(settings: TenantSettings): Promise<TenantSettings> {
    return tenants.putTenantSettings(this.db, settings);
  }

  optOutCounts(tenantIds?: readonly string[]): Promise<OptOutCount[]> {
    return tenants.optOutCounts(this.db, tenantIds);
  }

  listOptOuts(
    filter: { tenantIds?: readonly string[] | undefined },
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<Preference>> {
    return tenants.listOptOuts(this.db, filter, page);
  }
}
