import type { Command } from "commander";
import type { ResponsesSummary } from "../api/responses.js";
import { client, clientOptions, run } from "./client.js";
import { api, apiRaw } from "./http-client.js";

/** The `summary` of GET /v1/notifications/{id}/responses, as the API writes it. */
export type ResponsesSummaryView = ResponsesSummary;

/** The totals as lines a person reads: one per option with its count, share and a bar. */
export function summaryLines(s: ResponsesSummaryView | null): string[] {
  if (!s) return ["no answers asked for and no reactions"];
  const lines = [
    `${s.kind === "poll" ? "poll" : "acknowledgement"}: ${s.total} ${s.total === 1 ? "answer" : "answers"}${s.anonymous ? " (anonymous)" : ""}${s.closesAt ? `, closes ${s.closesAt}` : ""}`,
  ];
  const width = Math.max(0, ...(s.options ?? []).map((o) => o.text.length));
  for (const o of s.options ?? []) {
    const share = s.total === 0 ? 0 : o.count / s.total;
    lines.push(
      `  ${o.text.padEnd(width)}  ${String(o.count).padStart(6)}  ${`${Math.round(share * 100)}%`.padStart(4)}  ${"█".repeat(Math.round(share * 30))}`,
    );
  }
  const reactions = Object.entries(s.reactions);
  if (reactions.length > 0) lines.push(`reactions: ${reactions.map(([t, n]) => `${t} ${n}`).join(", ")}`);
  return lines;
}

/** `herald responses ID [--csv] [--summary]`: a poll's or acknowledgement's answers. */
export function registerResponsesCommand(program: Command): void {
  clientOptions(
    program
      .command("responses <id>")
      .description("Answers to a poll or acknowledgement: the totals, then one JSON line per answer (or --csv).")
      .option("--csv", "CSV of every answer, as the API downloads it")
      .option("--summary", "only the totals and reactions"),
  ).action(
    run(async (opts, id) => {
      const c = client(opts);
      const base = `/v1/notifications/${encodeURIComponent(id ?? "")}/responses`;
      if (opts["csv"]) {
        const res = await apiRaw(c, "GET", `${base}?format=csv`);
        process.stdout.write(await res.text());
        return;
      }
      let cursor: string | undefined;
      let first = true;
      do {
        const page = await api<{ summary: ResponsesSummaryView | null; items: unknown[]; nextCursor?: string | null }>(
          c,
          "GET",
          `${base}${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`,
        );
        if (first) {
          process.stdout.write(`${summaryLines(page.summary).join("\n")}\n`);
          first = false;
          if (opts["summary"]) return;
        }
        for (const item of page.items) process.stdout.write(`${JSON.stringify(item)}\n`);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }),
  );
}
