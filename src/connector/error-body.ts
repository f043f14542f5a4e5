import { sanitize } from "../log.js";

/**
 * What a failed Connector answer says about itself, read from its body (protocol reference,
 * section 6). Raw facts only: deciding what to retry belongs to the delivery's retry table.
 */
export interface ErrorFacts {
  /** The Connector's `error.code` (`ConversationBlockedByUser`, `Throttled`, `BadArgument`, ...); the outermost one wins. */
  code: string | undefined;
  /** A `subCode` nested in the message (`MessageWritesBlocked`). */
  subCode: string | undefined;
  /** Teams' numeric `errorCode` (209 = message writes blocked). */
  errorCode: number | undefined;
  /** The most specific readable text (an inner `details`, else the innermost plain message), sanitized, ≤ 300 characters. */
  message: string | undefined;
}

const MAX_DEPTH = 6;
const MAX_MESSAGE = 300;

/**
 * Read a Connector error body in every shape seen from Teams and Microsoft's SDKs:
 *
 * - `{"error":{"code":"ConversationNotFound","message":"Conversation not found."}}` (the documented envelope);
 * - the 403 for a blocked bot, where the subCode is JSON inside a JSON string inside `message`
 *   ("decode twice"), bare as in Microsoft's documentation
 *   `{"errorCode":209,"message":"{\r\n  \"subCode\": \"MessageWritesBlocked\", \"details\": \"Thread is blocked from message writes.\", ...}"}`
 *   or inside the envelope `{"error":{"code":"Forbidden","message":"{\"errorCode\":209,\"message\":\"{\\\"subCode\\\":...}\"}"}}`;
 * - a message that is an object instead of a string, a JSON string encoded once more, JSON after a
 *   text prefix (`"Forbidden: {...}"`), `errorCode` as a numeric string, `errorSubCode` instead of `subCode`;
 * - plain text or HTML from a proxy, an empty body, or truncated JSON (the subCode is then still
 *   found by a textual scan).
 *
 * Never throws.
 */
export function parseErrorBody(body: string): ErrorFacts {
  const acc: Acc = { code: undefined, subCode: undefined, errorCode: undefined, message: undefined, rank: 0 };
  const root = decodeJson(body);
  if (root === undefined) {
    const text = body.trim();
    if (text !== "") offerMessage(acc, text, 1);
  } else {
    visit(root, acc, 0);
  }
  acc.subCode ??= scanSubCode(body);
  return { code: acc.code, subCode: acc.subCode, errorCode: acc.errorCode, message: acc.message };
}

interface Acc extends ErrorFacts {
  /** Rank of the current message: 2 = `details`, 1 = a plain message. Equal rank: the deeper one wins. */
  rank: number;
}

function visit(value: unknown, acc: Acc, depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (typeof value === "string") {
    const inner = decodeJson(value);
    if (inner !== undefined && typeof inner !== "number" && typeof inner !== "boolean" && inner !== null) visit(inner, acc, depth + 1);
    else if (value.trim() !== "") offerMessage(acc, value, 1);
    return;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return;
  const o = value as Record<string, unknown>;
  if (acc.code === undefined && typeof o.code === "string" && o.code.trim() !== "") acc.code = o.code.trim();
  if (acc.errorCode === undefined) acc.errorCode = toInteger(o.errorCode);
  if (acc.subCode === undefined) acc.subCode = nonEmpty(o.subCode) ?? nonEmpty(o.errorSubCode);
  if (typeof o.details === "string" && o.details.trim() !== "") offerMessage(acc, o.details, 2);
  if (o.error !== undefined) visit(o.error, acc, depth + 1);
  if (o.message !== undefined) visit(o.message, acc, depth + 1);
}

function offerMessage(acc: Acc, text: string, rank: number): void {
  if (rank < acc.rank) return;
  acc.rank = rank;
  acc.message = sanitize(text.trim().replace(/\s+/g, " "), MAX_MESSAGE);
}

/** JSON.parse that tolerates a text prefix before the object; undefined when it is not JSON. */
function decodeJson(text: string): unknown {
  const t = text.trim();
  if (t === "") return undefined;
  const first = t[0];
  if (first === "{" || first === "[" || first === '"') {
    try {
      return JSON.parse(t);
    } catch {
      // fall through: maybe truncated, maybe a prefix; try the outermost braces below
    }
  }
  const open = t.indexOf("{");
  const close = t.lastIndexOf("}");
  if (open < 0 || close <= open || (open === 0 && close === t.length - 1)) return undefined;
  try {
    return JSON.parse(t.slice(open, close + 1));
  } catch {
    return undefined;
  }
}

function nonEmpty(v: unknown): string | undefined {
  return typeof v === "string" && v.trim() !== "" ? v.trim() : undefined;
}

function toInteger(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  return undefined;
}

/**
 * Last resort for bodies that are not valid JSON at any level: `subCode": "X"` with any number
 * of escaping backslashes, or prose `subCode: X`. The lookbehind keeps `errorSubCode: null` out.
 */
function scanSubCode(body: string): string | undefined {
  const m = /(?<![A-Za-z])subCode\\*"?\s*:\s*\\*"?([A-Za-z][A-Za-z0-9_.-]*)/i.exec(body);
  const found = m?.[1];
  return found && found.toLowerCase() !== "null" ? found : undefined;
}
