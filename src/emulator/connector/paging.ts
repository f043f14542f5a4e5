import { hash32 } from "../org/hash.js";

/**
 * Continuation tokens that mean something: the offset of the next item plus a check word tied
 * to the listing (conversation id), so a token from another listing or a made-up one is
 * refused (400) instead of silently restarting.
 */
function checkWord(scope: string, offset: number): number {
  let h = 0;
  for (let i = 0; i < scope.length; i++) h = (Math.imul(h, 31) + scope.charCodeAt(i)) | 0;
  return hash32(h, 0x7a6e, offset);
}

export function encodeToken(scope: string, offset: number): string {
  return Buffer.from(`${offset}.${checkWord(scope, offset).toString(36)}`).toString("base64url");
}

/** Offset of a token, 0 for none, -1 for a token this listing did not issue. */
export function decodeToken(scope: string, token: string | null | undefined): number {
  if (!token) return 0;
  const text = Buffer.from(token, "base64url").toString("utf8");
  const dot = text.indexOf(".");
  const offset = Number(text.slice(0, dot));
  if (dot < 0 || !Number.isInteger(offset) || offset < 0) return -1;
  return text.slice(dot + 1) === checkWord(scope, offset).toString(36) ? offset : -1;
}

/** Teams clamps the page size of pagedmembers to 50..500; without one it answers 500. */
export function clampPageSize(raw: string | null): number {
  const n = raw === null || raw === "" ? 500 : Number(raw);
  if (!Number.isFinite(n)) return 500;
  return Math.min(500, Math.max(50, Math.floor(n)));
}
