import { createHash, randomBytes } from "node:crypto";
import { hostname } from "node:os";

/**
 * Identifiers of the delivery engine, and the request fingerprint behind idempotency.
 */

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

/**
 * A notification id: `n_` + 10 characters of time (ms, base32) + 16 random characters (80 bits).
 * Ids sort by creation time, so "newest first" is an index scan on the primary key.
 */
export function notificationId(now: number): string {
  let time = "";
  let t = Math.max(0, Math.floor(now));
  for (let i = 0; i < 10; i++) {
    time = alphabet[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(10);
  let rand = "";
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      rand += alphabet[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return `n_${time}${rand}`;
}

/** This process as a delivery worker: host, pid and a random part (a restarted pid is a new worker). */
export function workerId(): string {
  return `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** JSON with object keys sorted at every level: equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

/** SHA-256 (hex) of the canonical JSON of what defines a notification. */
export function requestHash(parts: unknown): string {
  return createHash("sha256").update(canonicalJson(parts)).digest("hex");
}
