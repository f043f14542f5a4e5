import { z } from "zod";

/**
 * `message.survey`: a dialog-based proactive message (issue 10). In each recipient's 1:1 chat the
 * bot asks one question at a time; answers are typed or picked from the choices (src/surveys).
 * - `questions`: 1..20 questions, each `{id, text, choices?}`; ids are unique within the survey
 *   (they are the `questionId` of the stored answers);
 * - `intro` / `outro`: said before the first question and after the last answer;
 * - `whenBusy`: the person is in the middle of another survey: `wait` (default; this one starts
 *   when that one ends) or `interrupt` (this one starts now; the other resumes where it stopped).
 */
export const maxSurveyQuestions = 20;
export const maxSurveyChoices = 10;

const words = (what: string, max: number) =>
  z
    .string({ error: `must be a string (${what})` })
    .max(max, { error: `must be at most ${max} characters (${what})` })
    .refine((s) => s.trim() !== "", { error: `must not be empty (${what})` });

const questionSchema = z.strictObject({
  id: z
    .string({ error: 'must be a string (the question\'s id, e.g. "q1")' })
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, { error: 'must be 1-64 letters, digits, _ . : or - (the question\'s id, e.g. "q1")' }),
  text: words("the question", 2_000),
  choices: z
    .array(words("a choice", 100), { error: "must be an array of strings" })
    .min(2, { error: "must offer at least 2 choices (leave choices out for a typed answer)" })
    .max(maxSurveyChoices, { error: `must offer at most ${maxSurveyChoices} choices` })
    .refine((c) => new Set(c.map((x) => x.trim().toLowerCase())).size === c.length, {
      error: "must be different from each other (ignoring case)",
    })
    .optional(),
});

export const surveySchema = z.strictObject({
  questions: z
    .array(questionSchema, { error: "must be an array of questions [{id, text, choices?}]" })
    .min(1, { error: "must hold at least one question" })
    .max(maxSurveyQuestions, { error: `must hold at most ${maxSurveyQuestions} questions; split the survey` })
    .superRefine((qs, ctx) => {
      const seen = new Set<string>();
      qs.forEach((q, i) => {
        if (seen.has(q.id))
          ctx.addIssue({ code: "custom", path: [i, "id"], message: `"${q.id}" is used by an earlier question; ids must be unique` });
        seen.add(q.id);
      });
    }),
  intro: words("said before the first question", 2_000).optional(),
  outro: words("said after the last answer", 2_000).optional(),
  whenBusy: z
    .enum(["wait", "interrupt"], {
      error: 'must be "wait" (start after the survey the person is answering) or "interrupt" (start now; the other resumes afterwards)',
    })
    .optional(),
});

export type Survey = z.infer<typeof surveySchema>;
export type SurveyQuestion = Survey["questions"][number];
