import type { EmulatorContext } from "../context.js";
import { isRecord, parseJsonBody, queryOf } from "../http/io.js";
import type { Call, Router } from "../http/router.js";
import type { OrgTenant } from "../org/model.js";
import { C } from "../store/counters.js";
import type { BatchOperation, BatchTarget } from "./batch-ops.js";
import { badArgument, badSyntax, errors, type TeamsError } from "./errors.js";
import { admit, fail, ok, withAuth } from "./gate.js";
import { decodeToken, encodeToken } from "./paging.js";

/** Failed entries per page of `failedentries`. */
const FAILED_PAGE = 200;

/**
 * Bulk ("batch") messaging routes, shapes from Microsoft's SDKs (no official REST page):
 * `POST /v3/batch/conversation/{users|tenant|team|channels}` → 201 `{operationId}`;
 * `GET /v3/batch/conversation/{id}` → `{state, statusMap, stateMap, retryAfter, totalEntriesCount}`
 * (both map spellings, since SDKs read one or the other); `GET .../failedentries/{id}` →
 * `{failedEntryResponses:[{id, error}], continuationToken}`; `DELETE .../{id}` cancels.
 */
export function registerBatch(router: Router, ctx: EmulatorContext): void {
  const base = `${ctx.urls.connectorPath}/v3/batch/conversation`;
  for (const kind of ["users", "tenant", "team", "channels"] as const) {
    router.add("POST", `${base}/${kind}`, (call) => withAuth(ctx, call, () => startBatch(ctx, call, kind)));
  }
  const withOp = (fn: (op: BatchOperation, call: Call) => void) => (call: Call) =>
    withAuth(ctx, call, () => {
      const op = ctx.batches.get(call.params[0]!);
      if (!op) {
        ctx.counters.inc(-1, C.requests);
        fail(ctx, call, -1, errors.operationNotFound);
        return;
      }
      admit(ctx, call, op.tenant, undefined, "read", () => fn(op, call));
    });
  router.add(
    "GET",
    `${base}/:op`,
    withOp((op, call) => {
      const map = Object.fromEntries([...op.statusMap].map(([k, v]) => [String(k), v]));
      const counts = ctx.batches.stateWithoutCounts ? { statusMap: {} } : { statusMap: map, stateMap: map };
      ok(ctx, call, op.tenant, 200, JSON.stringify({ state: op.state, ...counts, retryAfter: null, totalEntriesCount: op.total }));
    }),
  );
  router.add(
    "GET",
    `${base}/failedentries/:op`,
    withOp((op, call) => {
      const offset = decodeToken(op.id, queryOf(call.query).get("continuationToken"));
      if (offset < 0) {
        fail(ctx, call, op.tenant, badArgument("The continuation token is not valid."));
        return;
      }
      const end = Math.min(op.failed.length, offset + FAILED_PAGE);
      const page: Record<string, unknown> = { failedEntryResponses: op.failed.slice(offset, end) };
      if (end < op.failed.length) page["continuationToken"] = encodeToken(op.id, end);
      ok(ctx, call, op.tenant, 200, JSON.stringify(page));
    }),
  );
  router.add(
    "DELETE",
    `${base}/:op`,
    withOp((op, call) => {
      ctx.batches.cancel(op);
      ok(ctx, call, op.tenant, 200, "{}");
    }),
  );
}

function refuse(ctx: EmulatorContext, call: Call, tenant: number, error: TeamsError): void {
  if (tenant < 0) ctx.counters.inc(-1, C.requests);
  fail(ctx, call, tenant, error);
}

function memberIds(body: Record<string, unknown>): string[] | undefined {
  const members = body["members"];
  if (!Array.isArray(members) || members.length === 0) return undefined;
  const ids: string[] = [];
  for (const m of members) {
    if (!isRecord(m) || typeof m["id"] !== "string" || m["id"].length === 0) return undefined;
    ids.push(m["id"]);
  }
  return ids;
}

function startBatch(ctx: EmulatorContext, call: Call, kind: BatchOperation["kind"]): void {
  const body = parseJsonBody(call.body);
  if (!isRecord(body)) {
    refuse(ctx, call, -1, badSyntax("The request body must be a JSON object."));
    return;
  }
  const activity = body["activity"];
  if (!isRecord(activity)) {
    refuse(ctx, call, -1, badArgument("An activity is required."));
    return;
  }
  const tenantId = typeof body["tenantId"] === "string" ? body["tenantId"] : undefined;
  const tenant: OrgTenant | undefined = tenantId ? ctx.org.tenantByIdOrDomain(tenantId) : undefined;
  if (!tenant) {
    refuse(ctx, call, -1, badArgument(tenantId ? `Tenant ${tenantId} is unknown.` : "A tenantId is required."));
    return;
  }
  const t = tenant.index;
  admit(ctx, call, t, undefined, "send", () => {
    if (Buffer.byteLength(JSON.stringify(activity)) > ctx.options.maxMessageBytes) {
      fail(ctx, call, t, errors.messageSizeTooBig);
      return;
    }
    const typed = typeof activity["type"] === "string" ? activity : { ...activity, type: "message" };
    let total: number;
    let target: (k: number) => BatchTarget;
    if (kind === "tenant") {
      total = tenant.userCount;
      target = (k) => {
        const user = tenant.userStart + k;
        return { kind: "user", raw: ctx.org.user(user).id, user };
      };
    } else if (kind === "team") {
      const team = typeof body["teamId"] === "string" ? ctx.org.teamById(body["teamId"]) : undefined;
      if (!team || team.tenantIndex !== t) {
        fail(ctx, call, t, errors.teamNotFound);
        return;
      }
      total = ctx.state.rosters.count(team.index);
      target = (k) => {
        const user = ctx.state.rosters.at(team.index, k);
        return { kind: "user", raw: ctx.org.user(user).id, user };
      };
    } else {
      const ids = memberIds(body);
      if (!ids) {
        fail(ctx, call, t, badArgument("members must be a non-empty list of {id}."));
        return;
      }
      total = ids.length;
      target =
        kind === "users"
          ? (k) => ({ kind: "user", raw: ids[k]!, user: ctx.org.userIndexOf(ids[k]!) })
          : (k) => ({ kind: "channel", raw: ids[k]! });
    }
    const op = ctx.batches.start(kind, t, total, target, typed);
    ok(ctx, call, t, 201, JSON.stringify({ operationId: op.id }));
  });
}
