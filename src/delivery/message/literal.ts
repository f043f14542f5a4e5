/**
 * A message that must be sent exactly as written (the bot's own replies, which may quote what a
 * user typed): every `${` in its strings becomes `\${`, which templating renders as a literal
 * `${` (template.ts), so a user's `${...}` is never evaluated.
 */
export function literal<T>(value: T): T {
  if (typeof value === "string") return value.replaceAll("${", "\\${") as T;
  if (Array.isArray(value)) return value.map((v: unknown) => literal(v)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = literal(v);
    return out as T;
  }
  return value;
}
