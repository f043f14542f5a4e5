// test/delivery-core/.timing.tmp.ts
import { Template as Template3 } from "adaptivecards-templating";

// src/delivery/message/activity.ts
var ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";
var TEAMS_MAX_ACTIVITY_BYTES = 28 * 1024;
var ADDRESSING_RESERVE_BYTES = 1024;
var DEFAULT_MAX_CONTENT_BYTES = TEAMS_MAX_ACTIVITY_BYTES - ADDRESSING_RESERVE_BYTES;
var jsonBytes = (value) => Buffer.byteLength(JSON.stringify(value), "utf8");

// src/delivery/message/prepare.ts
import { GlobalSettings, Template as Template2 } from "adaptivecards-templating";

// src/delivery/message/errors.ts
var MessageError = class extends Error {
  constructor(code, field, message) {
    super(message);
    this.code = code;
    this.field = field;
  }
  code;
  field;
  name = "MessageError";
};
var RenderError = class extends Error {
  constructor(code, field, message, bytes) {
    super(message);
    this.code = code;
    this.field = field;
    this.bytes = bytes;
  }
  code;
  field;
  bytes;
  name = "RenderError";
};
var kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

// src/delivery/message/recipient.ts
var recipientFields = [
  "id",
  "aadObjectId",
  "name",
  "givenName",
  "surname",
  "email",
  "userPrincipalName",
  "locale",
  "timezone",
  "tenantId"
];
function recipientValues(r) {
  return {
    id: r.id ?? "",
    aadObjectId: r.aadObjectId ?? "",
    name: r.name ?? "",
    givenName: r.givenName || givenNameOf(r.name),
    surname: r.surname ?? "",
    email: r.email ?? "",
    userPrincipalName: r.userPrincipalName ?? "",
    locale: r.locale ?? "",
    timezone: r.timezone ?? "",
    tenantId: r.tenantId ?? ""
  };
}
function givenNameOf(name) {
  if (!name) return "";
  const comma = name.indexOf(",");
  const rest = (comma >= 0 ? name.slice(comma + 1) : name).trim();
  return rest.split(/\s+/)[0] ?? "";
}
var sampleRecipient = Object.freeze({
  id: "29:sample-recipient",
  aadObjectId: "00000000-0000-0000-0000-000000000000",
  name: "Sample Recipient",
  givenName: "Sample",
  surname: "Recipient",
  email: "sample.recipient@example.com",
  userPrincipalName: "sample.recipient@example.com",
  locale: "en-US",
  timezone: "UTC",
  tenantId: "00000000-0000-0000-0000-000000000000"
});

// src/delivery/message/template.ts
import { Constant, Expression, ExpressionType } from "adaptive-expressions";
import { Template } from "adaptivecards-templating";
var isTemplated = (s) => s.includes("${");
function escapeTemplate(s) {
  let out = "";
  let i = 0;
  while (i < s.length) {
    if (s.startsWith("\\${", i)) {
      out += "\\${";
      i += 3;
    } else if (s.startsWith("${", i)) {
      const end = expressionEnd(s, i + 2);
      if (end < 0) return void 0;
      out += s.slice(i, end + 1);
      i = end + 1;
    } else {
      const c = s[i];
      out += c === "`" || c === "$" ? `\\${c}` : c;
      i++;
    }
  }
  return out;
}
function expressionEnd(s, from) {
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
function checkSyntax(s, field) {
  const escaped = escapeTemplate(s);
  if (escaped === void 0) {
    throw new MessageError("HERALD_E_TEMPLATE", field, `${field}: a \${ has no closing } on its line; close the expression, or write \\\${ for a literal "\${".`);
  }
  try {
    Expression.parse(`\`${escaped}\``);
  } catch (e) {
    throw new MessageError(
      "HERALD_E_TEMPLATE",
      field,
      `${field}: the \${...} expression cannot be read (${firstLine(e)}); fix it, or write \\\${ for a literal "\${".`
    );
  }
  return escaped;
}
function compileText(s, field) {
  if (!isTemplated(s)) return { literal: s };
  const parsed = Template.parseInterpolatedString(checkSyntax(s, field));
  if (typeof parsed === "string") return { literal: parsed };
  const children = parsed.type === ExpressionType.Concat ? parsed.children : [parsed];
  const parts = children.map((c) => c instanceof Constant ? String(c.value ?? "") : c);
  if (parts.every((p) => typeof p === "string")) return { literal: parts.join("") };
  return { parts };
}
var textScope = (root) => ({ ...root, $root: root, $data: root });
function renderText(t, scope, field, escape, onMissing) {
  if ("literal" in t) return t.literal;
  let out = "";
  for (const p of t.parts) {
    if (typeof p === "string") {
      out += p;
      continue;
    }
    const { value, error } = p.tryEvaluate(scope);
    if (error) throw new RenderError("HERALD_E_TEMPLATE", field, `${field}: \${${p.toString()}} failed: ${firstLine(error)}`);
    if (value === void 0) onMissing?.(p.toString());
    out += escape(stringify(value));
  }
  return out;
}
var stringify = (v) => v === void 0 || v === null ? "" : typeof v === "string" ? v : typeof v === "object" ? JSON.stringify(v) : String(v);
var escapeXml = (s) => s.replace(/[&<>"]/g, (c) => c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&quot;");
var firstLine = (e) => (e instanceof Error ? e.message : String(e)).split("\n")[0].slice(0, 200).replace(/\.$/, "");

// src/delivery/message/prepare.ts
var PreparedMessage = class {
  /** @internal */
  text;
  /** @internal */
  summary;
  /** @internal */
  card;
  /** @internal */
  textFormat;
  /** @internal */
  alert;
  /** @internal */
  data;
  maxBytes;
  /** @internal */
  field;
  /** The activity every recipient gets when nothing is templated (then rendering is a copy). */
  /** @internal */
  fixed;
  /** @internal Use prepareMessage. */
  constructor(parts, fixed) {
    this.text = parts.text;
    this.summary = parts.summary;
    this.card = parts.card;
    this.textFormat = parts.textFormat;
    this.alert = parts.alert;
    this.data = parts.data;
    this.maxBytes = parts.maxBytes;
    this.field = parts.field;
    this.fixed = fixed;
  }
};
function prepareMessage(message, options = {}) {
  const field = options.field ?? "message";
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CONTENT_BYTES;
  const data2 = sanitizeData(options.data ?? {}, options.dataField ?? "data");
  checkRawSize(message, field, maxBytes);
  const templated = [];
  const parts = {
    text: message.text === void 0 ? void 0 : compileText(message.text, `${field}.text`),
    summary: message.summary === void 0 ? void 0 : compileText(message.summary, `${field}.summary`),
    card: message.card === void 0 ? void 0 : planCard(message.card, `${field}.card`, templated),
    textFormat: message.textFormat ?? "markdown",
    alert: message.alert === true,
    data: data2,
    maxBytes,
    field
  };
  const sample = sampleRender(new PreparedMessage(parts, void 0), templated);
  const bytes = jsonBytes(sample);
  if (bytes > maxBytes) {
    const where = message.card ? `${field}.card` : `${field}.text`;
    throw new MessageError("HERALD_E_MESSAGE_TOO_LARGE", where, `${where}: ${kb(bytes)} once rendered with data; ${budget(maxBytes)}.`);
  }
  const templatedAnywhere = isDynamic(parts.text) || isDynamic(parts.summary) || parts.card?.template !== void 0;
  return new PreparedMessage(parts, templatedAnywhere ? void 0 : deepFreeze(sample));
}
function buildActivity(p, root, onMissing) {
  const escape = p.textFormat === "xml" ? escapeXml : identity;
  const scope = isDynamic(p.text) || isDynamic(p.summary) ? textScope(root) : root;
  const textField = `${p.field}.text`;
  const text = p.text && renderText(p.text, scope, textField, escape, onMissing && ((e) => onMissing(e, textField)));
  const summaryField = `${p.field}.summary`;
  const summary = p.summary && renderText(p.summary, scope, summaryField, identity, onMissing && ((e) => onMissing(e, summaryField)));
  let activity;
  if (p.card) {
    let content = p.card.template ? expandCard(p.card.template, root, `${p.field}.card`) : p.card.fixed;
    if (text !== void 0) {
      const body = Array.isArray(content.body) ? content.body : [];
      content = { ...content, body: [{ type: "TextBlock", text, wrap: true }, ...body] };
    }
    activity = { type: "message", attachments: [{ contentType: ADAPTIVE_CARD_CONTENT_TYPE, content }] };
  } else {
    activity = { type: "message", text: text ?? "", textFormat: p.textFormat };
  }
  if (summary !== void 0) activity.summary = summary;
  if (p.alert) activity.channelData = { notification: { alert: true } };
  return activity;
}
var rootFor = (p, r) => ({ ...p.data, ...recipientValues(r) });
function expandCard(template, root, field) {
  let out;
  try {
    out = template.expand({ $root: root });
  } catch (e) {
    throw new RenderError("HERALD_E_TEMPLATE", field, `${field}: templating failed: ${firstLine(e)}`);
  }
  if (typeof out !== "object" || out === null || Array.isArray(out) || out.type !== "AdaptiveCard") {
    throw new RenderError("HERALD_E_TEMPLATE", field, `${field}: templating must produce one card (a $data or $when on the card itself removed or repeated it).`);
  }
  return out;
}
function planCard(card2, field, templated) {
  const prepared = walkCard(card2, field, templated);
  return templated.length === 0 ? { template: void 0, fixed: deepFreeze(structuredClone(card2)) } : { template: new Template2(prepared), fixed: void 0 };
}
function walkCard(node, path, templated) {
  if (typeof node === "string") {
    if (!isTemplated(node)) return node;
    templated.push({ field: path, source: node });
    return checkSyntax(node, path);
  }
  if (Array.isArray(node)) return node.map((v, i) => walkCard(v, `${path}.${i}`, templated));
  if (typeof node === "object" && node !== null) {
    const out = {};
    for (const [k, v] of Object.entries(node)) out[k] = walkCard(v, `${path}.${k}`, templated);
    return out;
  }
  return node;
}
function sampleRender(p, templated) {
  const missing = [];
  const previous = GlobalSettings.getUndefinedFieldValueSubstitutionString;
  GlobalSettings.getUndefinedFieldValueSubstitutionString = (path) => {
    missing.push({ expr: path, field: templated.find((t) => t.source.includes(path))?.field ?? `${p.field}.card` });
    return void 0;
  };
  let activity;
  try {
    activity = buildActivity(p, rootFor(p, sampleRecipient), (expr, field) => missing.push({ expr, field }));
  } catch (e) {
    if (e instanceof RenderError) throw new MessageError(e.code, e.field, e.message);
    throw e;
  } finally {
    GlobalSettings.getUndefinedFieldValueSubstitutionString = previous;
  }
  const first = missing[0];
  if (first) {
    throw new MessageError(
      "HERALD_E_TEMPLATE",
      first.field,
      `${first.field}: \${${first.expr}} refers to nothing: use a recipient field (${recipientFields.join(", ")}) or a key of data, or write \\\${ for a literal "\${".`
    );
  }
  return activity;
}
function checkRawSize(message, field, maxBytes) {
  const sizes = [
    [`${field}.card`, message.card ? jsonBytes(message.card) : 0],
    [`${field}.text`, message.text ? jsonBytes(message.text) : 0],
    [`${field}.summary`, message.summary ? jsonBytes(message.summary) : 0]
  ];
  const total = sizes.reduce((s, [, n]) => s + n, 0) + 100;
  if (total <= maxBytes) return;
  const [largest, bytes] = sizes.reduce((a, b) => b[1] > a[1] ? b : a);
  const detail = bytes >= maxBytes ? kb(bytes) : `${kb(total)} in all, ${kb(bytes)} of it here`;
  throw new MessageError("HERALD_E_MESSAGE_TOO_LARGE", largest, `${largest}: ${detail}; ${budget(maxBytes)}.`);
}
var budget = (maxBytes) => `Teams accepts at most 28 KB per message and Herald keeps ${kb(28 * 1024 - maxBytes)} for addressing, so ${kb(maxBytes)} remain: shorten it or split it into several notifications`;
function sanitizeData(data2, dataField) {
  for (const k of recipientFields) {
    if (Object.hasOwn(data2, k)) {
      throw new MessageError("HERALD_E_INVALID_MESSAGE", `${dataField}.${k}`, `${dataField}.${k}: "${k}" is a recipient field templates already see; rename the key.`);
    }
  }
  return deepFreeze(nullsToEmpty(data2));
}
function nullsToEmpty(v) {
  if (v === null) return "";
  if (Array.isArray(v)) return v.map(nullsToEmpty);
  if (typeof v === "object" && v !== void 0) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, nullsToEmpty(x)]));
  return v;
}
function deepFreeze(v) {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
var identity = (s) => s;
var isDynamic = (t) => t !== void 0 && "parts" in t;

// src/delivery/message/render.ts
function renderActivity(prepared, recipient) {
  if (prepared.fixed) return { ...prepared.fixed };
  const activity = buildActivity(prepared, rootFor(prepared, recipient));
  const bytes = jsonBytes(activity);
  if (bytes > prepared.maxBytes) {
    const field = activity.attachments ? `${prepared.field}.card` : `${prepared.field}.text`;
    throw new RenderError(
      "HERALD_E_MESSAGE_TOO_LARGE",
      field,
      `${field}: ${kb(bytes)} once rendered for this recipient; at most ${kb(prepared.maxBytes)} fit in a Teams message.`,
      bytes
    );
  }
  return activity;
}

// src/delivery/message/schema.ts
import { z } from "zod";
var textFormats = ["markdown", "plain", "xml"];
var element = z.looseObject({
  type: z.string({ error: 'every element needs a string "type" (e.g. "TextBlock")' }).min(1, { error: '"type" must not be empty' })
});
var adaptiveCardSchema = z.looseObject({
  type: z.literal("AdaptiveCard", { error: 'must be "AdaptiveCard"' }),
  version: z.string({ error: (issue) => issue.input === void 0 ? 'is required: a version string such as "1.5"' : 'must be a version string such as "1.5"' }).regex(/^\d+\.\d+$/, { error: 'must be a version string such as "1.5" (Teams renders up to 1.5)' }),
  body: z.array(element, { error: "must be an array of elements" }).optional(),
  actions: z.array(element, { error: "must be an array of actions" }).optional()
}, { error: 'must be an Adaptive Card object: {"type": "AdaptiveCard", "version": "1.5", "body": [...]}' }).refine((card2) => (card2.body?.length ?? 0) + (card2.actions?.length ?? 0) > 0, {
  error: "needs at least one element in body or one action"
});
var nonBlank = (what) => z.string({ error: `must be a string (${what})` }).refine((s) => s.trim() !== "", { error: `must not be empty (${what})` });
var messageSchema = z.strictObject({
  text: nonBlank("the message text").optional(),
  textFormat: z.enum(textFormats, { error: 'must be "markdown", "plain" or "xml"' }).optional(),
  card: adaptiveCardSchema.optional(),
  summary: nonBlank("the feed preview").optional(),
  alert: z.boolean({ error: "must be true or false" }).optional()
}).superRefine((m, ctx) => {
  if (m.text === void 0 && m.card === void 0) {
    ctx.addIssue({ code: "custom", path: [], message: "give text, a card, or both" });
  }
  if (m.textFormat !== void 0 && m.text === void 0) {
    ctx.addIssue({ code: "custom", path: ["textFormat"], message: "is given without text; remove it or add text" });
  }
  if (m.textFormat === "xml" && m.card !== void 0) {
    ctx.addIssue({
      code: "custom",
      path: ["textFormat"],
      message: 'cannot be "xml" with a card: the text goes into the card as a TextBlock, which renders Markdown only; use markdown or plain'
    });
  }
});

// test/delivery-core/.timing.tmp.ts
var card = {
  type: "AdaptiveCard",
  version: "1.5",
  body: [
    { type: "TextBlock", text: "Hello ${givenName}", size: "Large", weight: "Bolder", wrap: true },
    { type: "TextBlock", text: "The ${project} release ships on ${date}. Please review the checklist below before ${deadline}.", wrap: true },
    { type: "FactSet", facts: [{ title: "Owner", value: "${owner}" }, { title: "Team", value: "${team}" }, { title: "Locale", value: "${locale}" }, { title: "Status", value: "On track" }] },
    { type: "Container", items: [{ type: "TextBlock", $data: "${items}", text: "- ${title}", wrap: true }] },
    { type: "Image", url: "https://example.com/banner.png", altText: "Banner" },
    { type: "TextBlock", $when: "${equals(locale, 'fr-FR')}", text: "Version fran\xE7aise disponible." }
  ],
  actions: [{ type: "Action.OpenUrl", title: "Open checklist", url: "https://example.com/checklist?user=${aadObjectId}" }, { type: "Action.Submit", title: "Acknowledge", data: { ack: true } }]
};
var data = { project: "Apollo", date: "1 July", deadline: "Friday", owner: "Ops", team: "Platform", items: [{ title: "Tests green" }, { title: "Docs updated" }, { title: "Rollback plan" }] };
(() => {
  const m = messageSchema.parse({ card, text: "Heads-up for **${name}**", summary: "Apollo release: action needed", alert: true });
  let t0 = performance.now();
  const p = prepareMessage(m, { data });
  const prepMs = performance.now() - t0;
  const recipients = Array.from({ length: 2e4 }, (_, i) => ({ id: `29:u${i}`, aadObjectId: `oid-${i}`, name: `User Number ${i}`, locale: i % 3 ? "en-US" : "fr-FR" }));
  for (let i = 0; i < 2e3; i++) renderActivity(p, recipients[i]);
  t0 = performance.now();
  let bytes = 0;
  for (const r of recipients) bytes += jsonBytes(renderActivity(p, r));
  const perRender = (performance.now() - t0) * 1e3 / recipients.length;
  t0 = performance.now();
  for (const r of recipients.slice(0, 5e3)) new Template3(card).expand({ $root: { ...data, ...r } });
  const naive = (performance.now() - t0) * 1e3 / 5e3;
  t0 = performance.now();
  const pt = prepareMessage(messageSchema.parse({ text: "Hello ${givenName}, the ${project} release ships on ${date}." }), { data });
  for (const r of recipients) renderActivity(pt, r);
  const textOnly = (performance.now() - t0) * 1e3 / recipients.length;
  const pf = prepareMessage(messageSchema.parse({ card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "static" }] } }));
  t0 = performance.now();
  for (const r of recipients) renderActivity(pf, r);
  const fixed = (performance.now() - t0) * 1e3 / recipients.length;
  console.log(JSON.stringify({ node: process.version, prepareMs: prepMs.toFixed(2), avgActivityBytes: Math.round(bytes / recipients.length), perRenderUs_cachedTemplate_incl_sizeCheck: perRender.toFixed(1), perRenderUs_newTemplateEachTime_noChecks: naive.toFixed(1), perRenderUs_templatedTextOnly: textOnly.toFixed(1), perRenderUs_noTemplating: fixed.toFixed(2), millionRecipientsSeconds: perRender.toFixed(1) }));
})();
