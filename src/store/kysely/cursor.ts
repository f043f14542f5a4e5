import { StoreError } from "../errors.js";

/**
 * `list` pages by keyset on the insertion sequence (`seq`): stable while rows are added or
 * updated, and each page is an index range scan however deep the page, unlike OFFSET. The cursor
 * is that key, versioned and base64url-encoded so callers treat it as opaque.
 */
export function encodeCursor(seq: number): string {
  return Buffer.from(`c1:${seq}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): number {
  const match = /^c1:(\d{1,16})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  const seq = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(seq)) {
    throw new StoreError("HERALD_E_STORE_CURSOR", "The page cursor is not one this server issued; start again without a cursor.");
  }
  return seq;
}
