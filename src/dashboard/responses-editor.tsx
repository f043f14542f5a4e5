/** What the recipient is asked to do: nothing, answer a poll, acknowledge, or answer a survey. */
export type AskKind = "none" | "poll" | "ack" | "survey";

export interface PollForm {
  question: string;
  /** One option a line. */
  options: string;
  multiple: boolean;
  anonymous: boolean;
  /** `datetime-local`, or "". */
  closesAt: string;
}

export interface SurveyForm {
  intro: string;
  outro: string;
  /** One question a block: the first line is the question, further lines are its choices (none: a typed answer). */
  questions: string;
}

export interface AskForm {
  kind: AskKind;
  poll: PollForm;
  ackLabel: string;
  survey: SurveyForm;
}

export const emptyAsk: AskForm = {
  kind: "none",
  poll: { question: "", options: "", multiple: false, anonymous: false, closesAt: "" },
  ackLabel: "",
  survey: { intro: "", outro: "", questions: "" },
};

const lines = (s: string) =>
  s
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");

/** The parts of `message` the form adds (`poll`, `ack` or `survey`). */
export function askMessage(a: AskForm): Record<string, unknown> {
  if (a.kind === "poll") {
    const poll: Record<string, unknown> = { question: a.poll.question, options: lines(a.poll.options) };
    if (a.poll.multiple) poll["multiple"] = true;
    if (a.poll.anonymous) poll["anonymous"] = true;
    if (a.poll.closesAt) poll["closesAt"] = new Date(a.poll.closesAt).toISOString();
    return { poll };
  }
  if (a.kind === "ack") return { ack: a.ackLabel.trim() ? { label: a.ackLabel.trim() } : {} };
  if (a.kind === "survey") {
    const questions = a.survey.questions
      .split(/\n\s*\n/)
      .map(lines)
      .filter((b) => b.length > 0)
      .map(([text, ...choices], i) => (choices.length > 0 ? { id: `q${i + 1}`, text, choices } : { id: `q${i + 1}`, text }));
    const survey: Record<string, unknown> = { questions };
    if (a.survey.intro.trim()) survey["intro"] = a.survey.intro.trim();
    if (a.survey.outro.trim()) survey["outro"] = a.survey.outro.trim();
    return { survey };
  }
  return {};
}

const localInput = (iso: string) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

/** The form of a stored message's `poll`, `ack` or `survey` (a template's). */
export function askFormOf(message: Record<string, unknown>): AskForm {
  const poll = message["poll"] as
    | { question?: string; options?: string[]; multiple?: boolean; anonymous?: boolean; closesAt?: string }
    | undefined;
  if (poll)
    return {
      ...emptyAsk,
      kind: "poll",
      poll: {
        question: poll.question ?? "",
        options: (poll.options ?? []).join("\n"),
        multiple: poll.multiple === true,
        anonymous: poll.anonymous === true,
        closesAt: poll.closesAt ? localInput(poll.closesAt) : "",
      },
    };
  const ack = message["ack"] as { label?: string } | undefined;
  if (ack) return { ...emptyAsk, kind: "ack", ackLabel: ack.label ?? "" };
  const survey = message["survey"] as { intro?: string; outro?: string; questions?: { text: string; choices?: string[] }[] } | undefined;
  if (survey)
    return {
      ...emptyAsk,
      kind: "survey",
      survey: {
        intro: survey.intro ?? "",
        outro: survey.outro ?? "",
        questions: (survey.questions ?? []).map((q) => [q.text, ...(q.choices ?? [])].join("\n")).join("\n\n"),
      },
    };
  return emptyAsk;
}

/** Form controls to add a poll, an acknowledgement button or a survey to the message. */
export function ResponsesEditor(props: { value: AskForm; onChange: (a: AskForm) => void }) {
  const a = props.value;
  const id = "ask";
  const set = (change: Partial<AskForm>) => props.onChange({ ...a, ...change });
  const setPoll = (change: Partial<PollForm>) => set({ poll: { ...a.poll, ...change } });
  const setSurvey = (change: Partial<SurveyForm>) => set({ survey: { ...a.survey, ...change } });
  return (
    <fieldset>
      <legend>Ask for an answer</legend>
      <div class="radios" role="radiogroup" aria-label="Ask for an answer">
        {(
          [
            ["none", "Nothing"],
            ["poll", "Poll"],
            ["ack", "Acknowledgement"],
            ["survey", "Survey"],
          ] as const
        ).map(([k, label]) => (
          <label key={k}>
            <input type="radio" name={`${id}-kind`} checked={a.kind === k} onChange={() => set({ kind: k })} /> {label}
          </label>
        ))}
      </div>
      {a.kind === "poll" && (
        <>
          <label for={`${id}-q`}>Poll question</label>
          <input id={`${id}-q`} value={a.poll.question} onInput={(e) => setPoll({ question: e.currentTarget.value })} />
          <label for={`${id}-o`}>Poll options (one a line, 2 to 20)</label>
          <textarea id={`${id}-o`} rows={4} value={a.poll.options} onInput={(e) => setPoll({ options: e.currentTarget.value })} />
          <label class="inline">
            <input type="checkbox" checked={a.poll.multiple} onChange={(e) => setPoll({ multiple: e.currentTarget.checked })} /> People may
            pick several options
          </label>
          <label class="inline">
            <input type="checkbox" checked={a.poll.anonymous} onChange={(e) => setPoll({ anonymous: e.currentTarget.checked })} /> Anonymous
            (no names stored with answers)
          </label>
          <label for={`${id}-c`}>Poll closes at (optional, your local time)</label>
          <input
            id={`${id}-c`}
            type="datetime-local"
            value={a.poll.closesAt}
            onInput={(e) => setPoll({ closesAt: e.currentTarget.value })}
          />
          <p class="hint">A poll is its own card: write the message as plain text or Markdown, not as a card.</p>
        </>
      )}
      {a.kind === "ack" && (
        <>
          <label for={`${id}-a`}>Acknowledgement button's text (default "Acknowledge")</label>
          <input id={`${id}-a`} value={a.ackLabel} onInput={(e) => set({ ackLabel: e.currentTarget.value })} />
        </>
      )}
      {a.kind === "survey" && (
        <>
          <p class="hint">A survey is asked one question at a time in each person's 1:1 chat; the message text above is not sent.</p>
          <label for={`${id}-i`}>Survey introduction</label>
          <input id={`${id}-i`} value={a.survey.intro} onInput={(e) => setSurvey({ intro: e.currentTarget.value })} />
          <label for={`${id}-s`}>Survey questions (a blank line between questions; lines under a question are its choices)</label>
          <textarea id={`${id}-s`} rows={6} value={a.survey.questions} onInput={(e) => setSurvey({ questions: e.currentTarget.value })} />
          <label for={`${id}-t`}>Said after the last answer</label>
          <input id={`${id}-t`} value={a.survey.outro} onInput={(e) => setSurvey({ outro: e.currentTarget.value })} />
        </>
      )}
    </fieldset>
  );
}
