import type { Message } from "../delivery/message/schema.js";
import type { Survey } from "../delivery/message/survey.js";

/**
 * What the bot says during a survey, as notification messages (sent through the delivery engine
 * as written: no templating). A question with choices is an Adaptive Card whose buttons are
 * `Action.Submit` with `msteams.type: "imBack"`: Teams posts the choice into the chat as if the
 * person typed it, so a click and a typed answer arrive the same way (protocol reference, section 2).
 */

/** The question at `index`, after `lead` (acknowledgements, the intro, a resume note), each a paragraph. */
export function questionMessage(survey: Survey, index: number, lead: readonly string[]): Message {
  const q = survey.questions[index];
  if (!q) return { text: lead.join("\n\n") || "…" };
  const progress = survey.questions.length > 1 ? `Question ${index + 1} of ${survey.questions.length}` : undefined;
  const hint = q.choices
    ? "Pick an answer, or type it (its words or its number). Type cancel to stop the survey."
    : "Type your answer, or cancel to stop the survey.";
  if (!q.choices) {
    const head = progress ? `**${progress}:** ${q.text}` : `**${q.text}**`;
    return { text: [...lead, head, `_${hint}_`].join("\n\n") };
  }
  const body: { type: string; [k: string]: unknown }[] = [
    ...lead.map((t) => ({ type: "TextBlock", text: t, wrap: true })),
    ...(progress ? [{ type: "TextBlock", text: progress, isSubtle: true, size: "Small", spacing: "Medium" }] : []),
    { type: "TextBlock", text: q.text, weight: "Bolder", wrap: true },
    ...q.choices.map((c, i) => ({ type: "TextBlock", text: `${i + 1}. ${c}`, wrap: true, spacing: "None" })),
    { type: "TextBlock", text: hint, isSubtle: true, size: "Small", wrap: true },
  ];
  const actions = q.choices.map((c) => ({ type: "Action.Submit", title: c, data: { msteams: { type: "imBack", value: c } } }));
  return { card: { type: "AdaptiveCard", version: "1.5", body, actions } };
}

/** Words said when a survey ends, before whatever comes next. */
export function endWords(survey: Survey | undefined, reason: "completed" | "canceled" | "expired"): string[] {
  if (reason === "canceled") return ["Survey canceled: the answers you gave are kept, no more questions."];
  if (reason === "expired") return ["The survey waiting for your answer has expired."];
  return [survey?.outro ?? "Thank you: your answers are recorded."];
}

/** The lead of a survey that starts now: its intro (or a default). */
export function startWords(survey: Survey, interrupting: boolean): string[] {
  const out: string[] = [];
  if (interrupting) out.push("Another survey first; the one you were answering continues right after it.");
  out.push(survey.intro ?? `A short survey (${survey.questions.length} question${survey.questions.length > 1 ? "s" : ""}).`);
  return out;
}

/** The lead of an interrupted survey that resumes. */
export const resumeWords = (): string[] => ["Back to the survey you were answering before."];

/** A typed answer that matches none of the choices. */
export const pickWords = (): string[] => ["That is not one of the choices."];

/** A message with just words (nothing asked). */
export const wordsMessage = (lines: readonly string[]): Message => ({ text: lines.join("\n\n") });
