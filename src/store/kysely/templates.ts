import type { Kysely } from "kysely";
import type { Template, TemplateChange, TemplateOptions, TemplateStore } from "../../templates/port.js";
import type { Database, TemplatesTable } from "./schema.js";

function toTemplate(r: TemplatesTable): Template {
  return {
    id: r.id,
    name: r.name,
    description: r.description ?? undefined,
    message: JSON.parse(r.message) as Record<string, unknown>,
    category: r.category ?? undefined,
    options: JSON.parse(r.options) as TemplateOptions,
    createdBy: r.created_by,
    tenants: r.tenants ? (JSON.parse(r.tenants) as string[]) : undefined,
    updatedBy: r.updated_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** Saved templates over Kysely (SQLite and PostgreSQL alike). */
export class KyselyTemplateStore implements TemplateStore {
  constructor(private readonly db: Kysely<Database>) {}

  async create(t: Template): Promise<void> {
    await this.db
      .insertInto("templates")
      .values({
        id: t.id,
        name: t.name,
        name_key: t.name.toLowerCase(),
        description: t.description ?? null,
        message: JSON.stringify(t.message),
        category: t.category ?? null,
        options: JSON.stringify(t.options),
        created_by: t.createdBy,
        tenants: t.tenants ? JSON.stringify(t.tenants) : null,
        updated_by: t.updatedBy,
        created_at: t.createdAt,
        updated_at: t.updatedAt,
      })
      .execute();
  }

  async get(id: string): Promise<Template | undefined> {
    const row = await this.db.selectFrom("templates").selectAll().where("id", "=", id).executeTakeFirst();
    return row && toTemplate(row);
  }

  async list(): Promise<Template[]> {
    const rows = await this.db.selectFrom("templates").selectAll().orderBy("name_key").orderBy("id").limit(500).execute();
    return rows.map(toTemplate);
  }

  async update(id: string, change: TemplateChange): Promise<boolean> {
    const r = await this.db
      .updateTable("templates")
      .set({
        name: change.name,
        name_key: change.name.toLowerCase(),
        description: change.description ?? null,
        message: JSON.stringify(change.message),
        category: change.category ?? null,
        options: JSON.stringify(change.options),
        updated_by: change.updatedBy,
        updated_at: change.updatedAt,
      })
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom("templates").where("id", "=", id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
