import { Constant, Expression, ExpressionType } from "adaptive-expressions";
import { Template } from "adaptivecards-templating";
import { MessageError, RenderError } from "./errors.js";

/**
 * `${...}` templating of text, summary and card strings, through Microsoft's Adaptive Card
 * templating library (adaptivecards-templating, expressions of adaptive-expressions) so that
 * text and cards share one syntax and one set of functions: `${name}`, `${toUpper(givenName)}`,
 * `${if(equals(locale, 'fr-FR'), 'Bonjour', 'Hello')}`. `\${` writes a literal `${`.
 *
 * The library reads a string as the body of a JavaScript-like template literal, so a backtick
 * or a `\$` in ordinary text (Markdown code spans!) would break it or vanish. `escapeTemplate`
 * escapes the literal parts first, leaving the expressions alone, so text means what it says.
 */

/** A template string prepared once: literal pieces and expressions, in order. */
export type CompiledText = { readonly literal: string } | { readonly parts: readonly (string | Expression)[] };

/** True when `s` holds an expression or an escaped `\${`, i.e. the library must see it. */
export const isTemplated = (s: string): boolean => s.includes("${");

/**
 * Rewrites `s` (Herald's syntax: literal text, `${expr}`, `\${` for a literal `${`) into the
 * library's template-literal syntax: backticks and dollars of the literal text escaped,
 * expressions verbatim. Only for strings where isTemplated is true. Undefined when a `${` has
 * no closing `}` on its line (the library would silently keep such text literally).
 */
export function escapeTemplate(s: string): string | undefined {
  let out = "";
  let i = 0;
  while (i < s.length) {
    if (s.startsWith("\\${", i)) {
      out += "\\${";
      i += 3;
    } else if (s.startsWith("${", i)) {
      const end = expressionEnd(s, i + 2);
      if (end < 0) return undefined;
      out += s.slice(i, end + 1);
      i = end + 1;
    } else {
      const c = s[i]!;
      out += c === "`" || c === "$" ? `\\${c}` : c;
      i++;
    }
  }
  return out;
}

/**
 * Index of the `}` closing an expression whose body starts at `from`, skipping quoted strings and
 * `{...}` objects; -1 if none before the end, a line break or a backtick (which the library's
 * grammar does not allow in an expression).
 */
function expressionEnd(s: string, from: number): number {
  let depth = 0;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (c === "'" || c === '"') {
      for (i++; i < s.length && s[i] !== c; i++) if (s[i] === "\\") i++;
    } else if (c === "\n" || c === "\r" || c === "`") return -1;
    else if (c === "{") depth++;
    else if (c === "}") {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/** Parses the template string `s` (Herald syntax) or throws MessageError HERALD_E_TEMPLATE naming `field`. */
export function checkSyntax(s: string, field: string): string {
  const escaped = escapeTemplate(s);
  if (escaped === undefined) {
    throw new MessageError("HERALD_E_TEMPLATE", field, `${field}: a \${ has no closing } on its line; close the expression, or write \\\${ for a literal "\${".`);
  }
  try {
    // The default lookup knows the built-in functions only: an unknown name fails here, once,
    // where the library would make it fail for every recipient.
    Expression.parse(`\`${escaped}\``);
  } catch (e) {
    throw new MessageError(
      "HERALD_E_TEMPLATE",
      field,
      `${field}: the \${...} expression cannot be read (${firstLine(e)}); fix it, or write \\\${ for a literal "\${".`,
    );
  }
  return escaped;
}

/** Text or summary, checked and parsed once per message. */
export function compileText(s: string, field: string): CompiledText {
  if (!isTemplated(s)) return { literal: s };
  const parsed = Template.parseInterpolatedString(checkSyntax(s, field));
  if (typeof parsed === "string") return { literal: parsed };
  const children = parsed.type === ExpressionType.Concat ? parsed.children : [parsed];
  const parts = children.map((c) => (c instanceof Constant ? String(c.value ?? "") : c));
  if (parts.every((p) => typeof p === "string")) return { literal: parts.join("") };
  return { parts };
}

/**
 * What text expressions see: the root's fields, and `$root` / `$data` as in a card. Evaluating
 * against it directly costs ~0.5 µs an expression; going through the card library's
 * `Template.tryEvaluateExpression` costs ~3 µs (it builds a context and memory every call).
 */
export const textScope = (root: Readonly<Record<string, unknown>>): Record<string, unknown> => ({ ...root, $root: root, $data: root });

/**
 * Evaluates compiled text against `scope` (textScope). Each expression's value is passed
 * through `escape` (XML escaping for `xml` text, so a name like "A & B" cannot break the
 * markup). `onMissing` is called for an expression that evaluates to undefined (rendered as "").
 */
export function renderText(
  t: CompiledText,
  scope: Readonly<Record<string, unknown>>,
  field: string,
  escape: (s: string) => string,
  onMissing?: (expr: string) => void,
): string {
  if ("literal" in t) return t.literal;
  let out = "";
  for (const p of t.parts) {
    if (typeof p === "string") {
      out += p;
      continue;
    }
    const { value, error } = p.tryEvaluate(scope);
    if (error) throw new RenderError("HERALD_E_TEMPLATE", field, `${field}: \${${p.toString()}} failed: ${firstLine(error)}`);
    if (value === undefined) onMissing?.(p.toString());
    out += escape(stringify(value));
  }
  return out;
}

const stringify = (v: unknown): string => (v === undefined || v === null ? "" : typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v));

/** `&`, `<`, `>`, `"` as entities, for values put into `xml` text. */
export const escapeXml = (s: string): string => s.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));

export const firstLine = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e))
    .split("\n")[0]!
    .slice(0, 200)
    .replace(/\.$/, "");
