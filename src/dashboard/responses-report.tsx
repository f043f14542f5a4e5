import { useEffect, useState } from "preact/hooks";
import { api, errorText, type NotificationView } from "./api.js";
import { type Bar, BarChart } from "./chart.js";

/** `GET /v1/notifications/{id}/responses`'s summary (src/api/responses.ts ResponsesSummary). */
export interface ResponsesSummary {
  kind: "poll" | "ack";
  total: number;
  options?: { index: number; text: string; count: number }[];
  closesAt?: string;
  anonymous?: boolean;
  reactions: Record<string, number>;
}

/** One answer as the responses API lists it. */
export interface ResponseItem {
  seq: number;
  kind: string;
  userId: string | null;
  userName: string | null;
  options: number[] | null;
  answer: string;
  createdAt: string;
  questionId: string | null;
}

interface ResponsesPage {
  summary: ResponsesSummary | null;
  items: ResponseItem[];
  nextCursor: string | null;
}

/** Answers read for the survey summary (pages of 1,000); past that the CSV has them all. */
const MAX_ANSWERS = 5_000;

/** A survey's answers per question: how many answered, and how many gave each answer (most given first). */
export function surveySummary(items: readonly ResponseItem[]): { questionId: string; total: number; answers: Bar[] }[] {
  const byQuestion = new Map<string, Map<string, number>>();
  for (const it of items) {
    if (it.kind !== "survey") continue;
    const q = it.questionId ?? "(no question)";
    const answers = byQuestion.get(q) ?? new Map<string, number>();
    answers.set(it.answer, (answers.get(it.answer) ?? 0) + 1);
    byQuestion.set(q, answers);
  }
  return [...byQuestion].map(([questionId, answers]) => ({
    questionId,
    total: [...answers.values()].reduce((a, b) => a + b, 0),
    answers: [...answers]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 12)
      .map(([label, value]) => ({ label, value })),
  }));
}

/**
 * The answers part of a notification's report: read receipts, poll results per option,
 * acknowledgements, a survey's answers per question and reactions, each a chart with a table
 * alternative, and the responses CSV. Reads `GET /v1/notifications/{id}/responses`.
 */
export function ResponsesReport(props: { n: NotificationView; reload: number; onRefresh: () => void }) {
  const { n } = props;
  const path = `/v1/notifications/${encodeURIComponent(n.id)}/responses`;
  const [summary, setSummary] = useState<ResponsesSummary | null>(null);
  const [items, setItems] = useState<ResponseItem[]>([]);
  const [more, setMore] = useState(false);
  const [error, setError] = useState("");
  useEffect(() => {
    let stop = false;
    const load = async () => {
      try {
        const all: ResponseItem[] = [];
        let cursor: string | null = null;
        let first: ResponsesPage | undefined;
        do {
          const page: ResponsesPage = await api<ResponsesPage>(
            "GET",
            `${path}?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
          );
          first ??= page;
          all.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor && all.length < MAX_ANSWERS && !stop);
        if (stop) return;
        setSummary(first?.summary ?? null);
        setItems(all);
        setMore(cursor !== null);
        setError("");
      } catch (e) {
        if (!stop) setError(errorText(e));
      }
    };
    void load();
    return () => {
      stop = true;
    };
  }, [path, props.reload]);

  const sent = n.counts["sent"] ?? 0;
  const read = n.counts["read"];
  const survey = surveySummary(items);
  const reactions = Object.entries(summary?.reactions ?? {});
  return (
    <section aria-labelledby="answers">
      <h2 id="answers">Reads and answers</h2>
      <ul class="stats">
        <li data-testid="reads">
          <strong>{read ?? 0}</strong> read{sent > 0 ? ` of ${sent} sent (${Math.round(((read ?? 0) / sent) * 100)}%)` : ""}
        </li>
        {summary && (
          <li data-testid="answered">
            <strong>{summary.total}</strong> {summary.kind === "ack" ? "acknowledged" : "answered"}
            {sent > 0 ? ` (${Math.round((summary.total / sent) * 100)}% of sent)` : ""}
          </li>
        )}
        {survey.length > 0 && (
          <li>
            <strong>{new Set(items.filter((i) => i.kind === "survey").map((i) => i.userId ?? i.seq)).size}</strong> answered the survey
          </li>
        )}
      </ul>
      {summary?.kind === "poll" && summary.options && (
        <>
          <h3>
            Poll results{summary.anonymous ? " (anonymous)" : ""}
            {summary.closesAt ? ` · closes ${new Date(summary.closesAt).toLocaleString()}` : ""}
          </h3>
          <BarChart
            testId="poll-chart"
            title="Votes per option"
            total={summary.total}
            bars={summary.options.map((o) => ({ label: o.text, value: o.count }))}
          />
        </>
      )}
      {survey.map((q) => (
        <div key={q.questionId}>
          <h3>
            Survey question <code>{q.questionId}</code>: {q.total} answers
          </h3>
          <BarChart title={`Answers to ${q.questionId}`} total={q.total} bars={q.answers} />
        </div>
      ))}
      {more && <p class="help">The survey summary counts the first {items.length.toLocaleString()} answers; the CSV has them all.</p>}
      {reactions.length > 0 && (
        <>
          <h3>Reactions</h3>
          <BarChart title="Reactions by type" bars={reactions.map(([label, value]) => ({ label, value }))} />
        </>
      )}
      <p>
        <a href={`${path}?format=csv`} download={`${n.id}-responses.csv`}>
          Download responses (CSV)
        </a>{" "}
        <button type="button" class="secondary" onClick={props.onRefresh}>
          Refresh reads and answers
        </button>
      </p>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}
