import { api, type Page } from "./api.js";

/** A stored conversation as `GET /v1/conversations` lists it (the fields the dashboard uses). */
export interface Conversation {
  id: string;
  kind: string;
  tenantId: string;
  status: string;
  locale?: string;
  timezone?: string;
  user?: { id: string; name?: string; aadObjectId?: string };
  team?: { id: string; name?: string };
  channel?: { id: string; name?: string };
}

/** Every stored conversation of a kind (up to `max`), page by page, for searching as one types. */
export async function loadConversations(kind: "personal" | "channel", tenantId?: string, max = 5000): Promise<Conversation[]> {
  const out: Conversation[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ kind, limit: "1000" });
    if (tenantId) q.set("tenantId", tenantId);
    if (cursor) q.set("cursor", cursor);
    const page: Page<Conversation> = await api("GET", `/v1/conversations?${q}`);
    out.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && out.length < max);
  return out;
}

/** The template fields of a person, as Herald binds them when it sends (recipient.ts). */
export function fieldsOf(c: Conversation | undefined): Record<string, string> {
  const name = c?.user?.name ?? "";
  const comma = name.indexOf(",");
  const given = ((comma >= 0 ? name.slice(comma + 1) : name).trim().split(/\s+/)[0] ?? "").trim();
  return {
    id: c?.user?.id ?? "",
    aadObjectId: c?.user?.aadObjectId ?? "",
    name,
    givenName: given,
    surname: "",
    email: "",
    userPrincipalName: "",
    locale: c?.locale ?? "",
    timezone: c?.timezone ?? "",
    tenantId: c?.tenantId ?? "",
  };
}

/**
 * The people of a CSV file: the column named id, userId, aadObjectId, email or upn (else the
 * first column), one person per line, the header line skipped when it names a column.
 */
export function peopleFromCsv(text: string): string[] {
  const rows = text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.split(",").map((c) => c.trim().replace(/^"(.*)"$/, "$1")));
  const header = rows[0]?.map((h) => h.toLowerCase()) ?? [];
  const named = header.findIndex((h) => ["id", "userid", "aadobjectid", "email", "upn", "user"].includes(h));
  const col = Math.max(named, 0);
  const body = named >= 0 ? rows.slice(1) : rows;
  return [...new Set(body.map((r) => r[col] ?? "").filter((v) => v !== ""))];
}
