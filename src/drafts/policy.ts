import type { Draft } from "./port.js";

/**
 * The tenants an approved draft may reach: what both its author and its approver may reach
 * (undefined = every tenant). An approval never widens an author's guardrails, nor lets an
 * approver send where they themselves may not.
 */
export function approvalTenants(author: readonly string[] | undefined, approver: readonly string[] | undefined): string[] | undefined {
  if (!author) return approver ? [...approver] : undefined;
  if (!approver) return [...author];
  return author.filter((t) => approver.includes(t));
}

/** A reader limited to some tenants sees a draft only when every tenant of it is theirs. */
export function mayReadDraft(d: Draft, reader: readonly string[] | undefined): boolean {
  if (!reader) return true;
  return d.tenants?.every((t) => reader.includes(t)) === true;
}

/**
 * Where an author's request names a tenant, or must: a tenant-limited key names one of its own
 * tenants for `all` and `users` audiences. undefined = allowed (other audiences are limited by the
 * lookups when sent); else the refusal's status, code and message.
 */
export function guardrailRefusal(
  audience: Record<string, unknown>,
  tenants: readonly string[] | undefined,
): { status: 400 | 403; code: string; message: string } | undefined {
  if (!tenants) return undefined;
  const named = typeof audience["tenantId"] === "string" ? audience["tenantId"] : undefined;
  if (named !== undefined && !tenants.includes(named))
    return {
      status: 403,
      code: "HERALD_E_FORBIDDEN",
      message: `This API key may not reach tenant ${named}; ask an admin to widen its tenants.`,
    };
  if (named === undefined && ("all" in audience || "users" in audience))
    return {
      status: 400,
      code: "HERALD_E_TENANT_REQUIRED",
      message: "This API key is limited to some tenants: name the audience's tenantId.",
    };
  return undefined;
}
