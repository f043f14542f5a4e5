import { it } from "vitest";
import { Template } from "adaptivecards-templating";
import { jsonBytes } from "../../src/delivery/message/activity.js";
import { prepareMessage } from "../../src/delivery/message/prepare.js";
import { renderActivity } from "../../src/delivery/message/render.js";
import { messageSchema } from "../../src/delivery/message/schema.js";
const card = {
  type: "AdaptiveCard", version: "1.5",
  body: [
    { type: "TextBlock", text: "Hello ${givenName}", size: "Large", weight: "Bolder", wrap: true },
    { type: "TextBlock", text: "The ${project} release ships on ${date}. Please review the checklist below before ${deadline}.", wrap: true },
    { type: "FactSet", facts: [ { title: "Owner", value: "${owner}" }, { title: "Team", value: "${team}" }, { title: "Locale", value: "${locale}" }, { title: "Status", value: "On track" } ] },
    { type: "Container", items: [ { type: "TextBlock", $data: "${items}", text: "- ${title}", wrap: true } ] },
    { type: "Image", url: "https://example.com/banner.png", altText: "Banner" },
    { type: "TextBlock", $when: "${equals(locale, 'fr-FR')}", text: "Version française disponible." },
  ],
  actions: [ { type: "Action.OpenUrl", title: "Open checklist", url: "https://example.com/checklist?user=${aadObjectId}" }, { type: "Action.Submit", title: "Acknowledge", data: { ack: true } } ],
};
const data = { project: "Apollo", date: "1 July", deadline: "Friday", owner: "Ops", team: "Platform", items: [{ title: "Tests green" }, { title: "Docs updated" }, { title: "Rollback plan" }] };
it("timing", () => {
  const m = messageSchema.parse({ card, text: "Heads-up for **${name}**", summary: "Apollo release: action needed", alert: true });
  let t0 = performance.now();
  const p = prepareMessage(m, { data });
  const prepMs = performance.now() - t0;
  const recipients = Array.from({ length: 20_000 }, (_, i) => ({ id: `29:u${i}`, aadObjectId: `oid-${i}`, name: `User Number ${i}`, locale: i % 3 ? "en-US" : "fr-FR" }));
  for (let i = 0; i < 2_000; i++) renderActivity(p, recipients[i]!); // warm-up
  t0 = performance.now();
  let bytes = 0;
  for (const r of recipients) bytes += jsonBytes(renderActivity(p, r));
  const perRender = ((performance.now() - t0) * 1000) / recipients.length;
  // Without the cache: a new Template per recipient (what a naive loop would do).
  t0 = performance.now();
  for (const r of recipients.slice(0, 5_000)) new Template(card).expand({ $root: { ...data, ...r } });
  const naive = ((performance.now() - t0) * 1000) / 5_000;
  t0 = performance.now();
  const pt = prepareMessage(messageSchema.parse({ text: "Hello ${givenName}, the ${project} release ships on ${date}." }), { data });
  for (const r of recipients) renderActivity(pt, r);
  const textOnly = ((performance.now() - t0) * 1000) / recipients.length;
  const pf = prepareMessage(messageSchema.parse({ card: { type: "AdaptiveCard", version: "1.5", body: [{ type: "TextBlock", text: "static" }] } }));
  t0 = performance.now();
  for (const r of recipients) renderActivity(pf, r);
  const fixed = ((performance.now() - t0) * 1000) / recipients.length;
  console.log(JSON.stringify({ node: process.version, prepareMs: prepMs.toFixed(2), avgActivityBytes: Math.round(bytes / recipients.length), perRenderUs_cachedTemplate_incl_sizeCheck: perRender.toFixed(1), perRenderUs_newTemplateEachTime_noChecks: naive.toFixed(1), perRenderUs_templatedTextOnly: textOnly.toFixed(1), perRenderUs_noTemplating: fixed.toFixed(2), millionRecipientsSeconds: (perRender).toFixed(1) }));
});
