/**
 * Saved templates (issue 12): a message an author keeps to start new notifications from, with its
 * category and send options. Shared by everyone who may compose; only its creator (or an admin)
 * changes or deletes it. The store port; SQLite and PostgreSQL implement it (src/store/kysely/templates.ts).
 */

/** How a notification made from the template is sent (the request's fields besides audience and schedule). */
export interface TemplateOptions {
  /** `urgent` passes quiet hours and the frequency cap. */
  priority?: "normal" | "urgent" | undefined;
  /** End the message with how to stop it. */
  footer?: boolean | undefined;
  /** Values for `${...}` templating besides the recipient's fields. */
  data?: Record<string, unknown> | undefined;
}

export interface Template {
  id: string;
  name: string;
  description?: string | undefined;
  /** The `message` of `POST /v1/notifications` (text/markdown, card, summary, alert, poll, ack or survey), as validated. */
  message: Record<string, unknown>;
  category?: string | undefined;
  options: TemplateOptions;
  /** The creator's key id. */
  createdBy: string;
  /**
   * The creator key's tenant limit when it was saved; undefined = every tenant. A key limited to
   * some tenants sees only templates whose every tenant is its own (templatePolicy.ts).
   */
  tenants?: string[] | undefined;
  /** The key id of the last change. */
  updatedBy: string;
  createdAt: string;
  updatedAt: string;
}

/** What a change may set. */
export type TemplateChange = Pick<Template, "name" | "description" | "message" | "category" | "options" | "updatedBy" | "updatedAt">;

/** One page of templates. */
export interface TemplatePage {
  items: Template[];
  /** Opaque (templateCursor of the last item); pass it as `after` for the next page. Absent on the last page. */
  nextCursor?: string | undefined;
}

export interface TemplateStore {
  create(t: Template): Promise<void>;
  get(id: string): Promise<Template | undefined>;
  /**
   * By name (lower case, compared byte by byte, the same on every database), then id; `limit`
   * (1..1000) templates after the cursor `after`. Throws StoreError `HERALD_E_STORE_CURSOR` for a
   * cursor it did not make.
   */
  list(page: { after?: string | undefined; limit: number }): Promise<TemplatePage>;
  /** Replace the changeable fields; false when there is no such template. */
  update(id: string, change: TemplateChange): Promise<boolean>;
  /** false when there is no such template. */
  delete(id: string): Promise<boolean>;
}
