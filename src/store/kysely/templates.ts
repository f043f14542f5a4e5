import { type Kysely, sql } from "kysely";
import { decodeTemplateCursor, templateCursor, templateNameKey } from "../../templates/cursor.js";
import type { Template, TemplateChange, TemplateOptions, TemplatePage, TemplateStore } from "../../templates/port.js";
import { StoreError } from "../errors.js";
import type { StoreDialect } from "./backend.js";
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
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: StoreDialect,
  ) {}

  /**
   * A column compared byte by byte: SQLite's default (BINARY) already is; PostgreSQL's follows the
   * database's collation (e.g. en_US ignores punctuation), so the order would differ by database.
   */
  private bytes(column: "name_key" | "id") {
    return this.dialect === "postgres" ? sql<string>`${sql.ref(column)} collate "C"` : sql<string>`${sql.ref(column)}`;
  }

  async create(t: Template): Promise<void> {
    await this.db
      .insertInto("templates")
      .values({
        id: t.id,
        name: t.name,
        name_key: templateNameKey(t.name),
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

  async list(page: { after?: string | undefined; limit: number }): Promise<TemplatePage> {
    if (!Number.isInteger(page.limit) || page.limit < 1 || page.limit > 1_000)
      throw new StoreError("HERALD_E_STORE_LIMIT", `A page holds 1 to 1000 templates (asked for ${page.limit}).`);
    const after = page.after === undefined ? undefined : decodeTemplateCursor(page.after);
    if (page.after !== undefined && !after)
      throw new StoreError(
        "HERALD_E_STORE_CURSOR",
        "The page cursor is not one this server issued for templates; start again without a cursor.",
      );
    const nameKey = this.bytes("name_key");
    const id = this.bytes("id");
    const rows = await this.db
      .selectFrom("templates")
      .selectAll()
      .$if(after !== undefined, (q) =>
        q.where(sql<boolean>`(${nameKey} > ${after?.nameKey} or (${nameKey} = ${after?.nameKey} and ${id} > ${after?.id}))`),
      )
      .orderBy(nameKey)
      .orderBy(id)
      .limit(page.limit + 1)
      .execute();
    const items = rows.slice(0, page.limit).map(toTemplate);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > page.limit && last ? templateCursor(last) : undefined };
  }

  async update(id: string, change: TemplateChange): Promise<boolean> {
    const r = await this.db
      .updateTable("templates")
      .set({
        name: change.name,
        name_key: templateNameKey(change.name),
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
