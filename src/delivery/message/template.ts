import { Expression, type MemoryInterface, SimpleObjectMemory } from "adaptive-expressions";
import { MessageError, RenderError } from "./errors.js";

/**
 * `${...}` templating of text, summary and card strings, with the expressions of Microsoft's
 * Adaptive Card templating (adaptive-expressions; cards expanded by adaptivecards-templating),
 * so that text and cards share one syntax and one set of functions: `${name}`,
 * `${toUpper(givenName)}`, `${if(equals(locale, 'fr-FR'), 'Bonjour', 'Hello')}`.
 * Everything outside `${...}` is literal text; `\${` writes a literal `${`.
 *
 * Herald splits strings into literal text and expressions itself and parses each expression
 * alone. The library would read the whole string as a JavaScript-like template literal: a
 * backtick or `\$` in ordinary text (Markdown code spans!) would break or vanish, and its
 * parser spends ~60 µs per character of literal text (a 16 KB paragraph: one second).
 */

/** A piece of a template string: literal text, or the source of one expression. */
type Segment = string | { readonly source: string };

/** A template string prepared once: literal pieces and parsed expressions, in order. */
export type CompiledText = { readonly literal: string } | { readonly parts: readonly (string | Expression)[] };

/** True when `s` holds an expression or an escaped `\${`, i.e. it needs the template machinery. */
export const isTemplated = (s: string): boolean => s.includes("${");

/**
 * Splits `s` into literal text (with `\${` unescaped) and expression sources; undefined when a
 * `${` has no closing `}` before the end of its line.
 */
function split(s: string): Segment[] | undefined {
  const out: Segment[] = [];
  let literal = "";
  let i = 0;
  while (i < s.length) {
    if (s.startsWith("\\${", i)) {
      literal += "${";
      i += 3;
    } else if (s.startsWith("${", i)) {
      const end = expressionEnd(s, i + 2);
      if (end < 0) return undefined;
      if (literal) out.push(literal);
      literal = "";
      out.push({ source: s.slice(i + 2, end) });
      i = end + 1;
    } else {
      literal += s[i];
      i++;
    }
  }
  if (literal) out.push(literal);
  return out;
}

/**
 * Index of the `}` closing an expression whose body starts at `from`, skipping quoted strings and
 * `{...}` objects; -1 if none before the end, a line break or a backtick (which the expression
 * grammar does not allow outside quotes).
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

/** Splits and parses `s`, or throws MessageError HERALD_E_TEMPLATE naming `field`. */
function parse(s: string, field: string): (string | { source: string; expression: Expression })[] {
  const segments = split(s);
  if (!segments) {
    throw new MessageError(
      "HERALD_E_TEMPLATE",
      field,
      `${field}: a \${ has no closing } on its line; close the expression, or write \\\${ for a literal "\${".`,
    );
  }
  return segments.map((seg) => {
    if (typeof seg === "string") return seg;
    try {
      if (seg.source.trim() === "") throw new Error("the expression is empty");
      // The default lookup knows the built-in functions only: an unknown name fails here, once,
      // where the card library would make it fail for every recipient.
      return { source: seg.source, expression: Expression.parse(seg.source) };
    } catch (e) {
      throw new MessageError(
        "HERALD_E_TEMPLATE",
        field,
        `${field}: \${${seg.source}} cannot be read (${firstLine(e)}); fix it, or write \\\${ for a literal "\${".`,
      );
    }
  });
}

/** Text or summary, checked and parsed once per message. */
export function compileText(s: string, field: string): CompiledText {
  if (!isTemplated(s)) return { literal: s };
  const parts = parse(s, field).map((p) => (typeof p === "string" ? p : p.expression));
  return parts.every((p) => typeof p === "string") ? { literal: parts.join("") } : { parts };
}

/**
 * A templated card string checked, then rewritten for the card library so that it never parses
 * literal text: `Hi ${name}!` → `${concat('Hi ', name, '!')}` (the library evaluates a concat
 * call exactly as it evaluates a string it split itself); a lone `${expr}` stays as it is (its
 * value keeps its type: a number, a boolean, an array for `$data`); literal-only text with an
 * escaped `\${` → `${'…'}`.
 */
export function cardString(s: string, field: string): string {
  const parts = parse(s, field);
  const only = parts[0];
  if (parts.length === 1 && only !== undefined && typeof only !== "string") return `\${${only.source}}`;
  if (parts.every((p) => typeof p === "string")) return `\${${quote(parts.join(""))}}`;
  return `\${concat(${parts.map((p) => (typeof p === "string" ? quote(p) : p.source)).join(", ")})}`;
}

/** An expression string literal whose value is `s` (the parser unescapes \' and then \\, \n, \r, \t). */
const quote = (s: string): string => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

/** A path of one name (no `.`, `[`, quotes): the common `${givenName}`. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * SimpleObjectMemory.getValue for a path of one name, without its per-call split, filter and
 * `Object.keys(...).find` (it is called for every expression of every recipient): the value of
 * the first own key equal to `name` ignoring case, in key order, as the library answers.
 */
function fieldOf(root: Readonly<Record<string, unknown>>, name: string): unknown {
  const lower = name.toLowerCase();
  for (const k of Object.keys(root)) if (k === name || (k.length === name.length && k.toLowerCase() === lower)) return root[k];
  return undefined;
}

/**
 * What text expressions see: the root's fields, and `$root` / `$data` (both the root, as at the
 * top of a card). Evaluating against it directly costs ~0.5 µs an expression; the card
 * library's `Template.tryEvaluateExpression` costs ~3 µs (it builds a context every call).
 */
export class TextScope implements MemoryInterface {
  private readonly memory: SimpleObjectMemory;
  constructor(private readonly root: Readonly<Record<string, unknown>>) {
    this.memory = new SimpleObjectMemory(root);
  }
  getValue(path: string): unknown {
    if (path === "$root" || path === "$data") return this.root;
    if (path.startsWith("$root.") || path.startsWith("$data.")) return this.memory.getValue(path.slice(6));
    if (PLAIN_NAME.test(path)) return fieldOf(this.root, path);
    return this.memory.getValue(path);
  }
  setValue(): void {
    // Expressions in text only read.
  }
  version(): string {
    return this.memory.version();
  }
}

/**
 * Evaluates compiled text against `scope` (a TextScope). Each expression's value is passed
 * through `escapeValue` (XML escaping for `xml` text, so a name like "A & B" cannot break the
 * markup). `onMissing` is called for an expression that evaluates to undefined (rendered as "").
 */
export function renderText(
  t: CompiledText,
  scope: MemoryInterface,
  field: string,
  escapeValue: (s: string) => string,
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
    out += escapeValue(stringify(value));
  }
  return out;
}

const stringify = (v: unknown): string =>
  v === undefined || v === null ? "" : typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);

/** `&`, `<`, `>`, `"` as entities, for values put into `xml` text. */
export const escapeXml = (s: string): string =>
  s.replace(/[&<>"]/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;"));

export const firstLine = (e: unknown): string =>
  (e instanceof Error ? e.message : String(e)).split("\n")[0]!.slice(0, 200).replace(/\.$/, "");
