import { type Expression, type ExpressionBuilder, type SqlBool, sql } from "kysely";

/** A tenant-limited reader: its key id and the tenants it may see (NotificationFilter and SeriesFilter `visibleTo`). */
export interface Visibility {
  keyId: string;
  tenants: readonly string[];
}

/**
 * The where-clause of a listing for a limited reader, on any table with `created_by` and
 * `tenant_id` (notifications, notification_series): the rows its own key made, or the rows of
 * one of its tenants. Call it only with a reader (`$if(visible !== undefined, ...)`).
 */
export function visibleTo(visible: Visibility | undefined) {
  return <DB, TB extends keyof DB>(eb: ExpressionBuilder<DB, TB>): Expression<SqlBool> =>
    eb.or([
      eb(sql.ref<string>("created_by"), "=", visible?.keyId ?? ""),
      ...(visible && visible.tenants.length > 0 ? [eb(sql.ref<string>("tenant_id"), "in", visible.tenants)] : []),
    ]);
}
