import {
  type BucketKey,
  conversationCreatePolicy,
  conversationSendPolicy,
  getMembersPolicy,
  type LimitPolicy,
  tenantPolicy,
} from "./limits/index.js";

/**
 * Which rate-limit buckets each request to Teams takes (protocol reference, section 6): every
 * request takes its tenant's bucket (HERALD_TENANT_RPS) and the bucket of its conversation for
 * its class (send/update/delete, create, read). Keys name what Teams counts: `send:<conversation>`,
 * `create:<user or channel>`, `read:<conversation or team>`, `tenant:<tenant>`.
 */
export interface Policies {
  /** Empty when there is no tenant limit. */
  readonly tenant: LimitPolicy;
  readonly send: LimitPolicy;
  readonly create: LimitPolicy;
  readonly read: LimitPolicy;
}

/** Teams' policies, every window divided by `timeScale` (1 = real time); the tenant's in ticks of up to `tenantTick`. */
export function policiesFor(tenantRps: number, timeScale: number, tenantTick = 1): Policies {
  return Object.freeze({
    tenant: scalePolicy(tenantPolicy(tenantRps, tenantTick), timeScale),
    send: scalePolicy(conversationSendPolicy, timeScale),
    create: scalePolicy(conversationCreatePolicy, timeScale),
    read: scalePolicy(getMembersPolicy, timeScale),
  });
}

/** A policy with every window `factor` times shorter (same limits and bursts). */
export function scalePolicy(policy: LimitPolicy, factor: number): LimitPolicy {
  if (factor === 1) return policy;
  return Object.freeze(policy.map((w) => Object.freeze({ ...w, windowMs: w.windowMs / factor })));
}

export type RequestClass = "send" | "create" | "read";

/**
 * The tenant's bucket. With no tenant limit its policy is empty: it then admits everything except
 * while blocked, which is how a tenant-wide Retry-After is honoured even without HERALD_TENANT_RPS.
 */
export function tenantBucket(p: Policies, tenantId: string): BucketKey {
  return { key: `tenant:${tenantId}`, policy: p.tenant };
}

/** The conversation's bucket for a request class; `target` is the conversation (or, for create, the user or channel). */
export function conversationBucket(p: Policies, cls: RequestClass, target: string): BucketKey {
  return { key: `${cls}:${target}`, policy: p[cls] };
}
