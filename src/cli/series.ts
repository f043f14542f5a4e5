import type { Command } from "commander";
import { client, clientOptions, list, readJsonFile, run } from "./client.js";
import { api, CliError } from "./http-client.js";
import { exitCodes } from "./options.js";

/**
 * `herald series list|show|pause|resume|cancel|edit`: recurring series through a running Herald
 * (`/v1/series`). A series is created with `herald send --cron ...` (or `POST /v1/series`).
 */

interface SeriesView {
  id: string;
  state: string;
  schedule: { cron: string; timeZone: string; localTime?: boolean; until?: string };
}

const path = (id: string | undefined) => `/v1/series/${encodeURIComponent(id ?? "")}`;
const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

/** The PATCH body the edit flags describe (a schedule flag keeps the series' other schedule fields). */
export function seriesEditBody(opts: Record<string, unknown>, current: SeriesView | undefined): Record<string, unknown> {
  if (typeof opts["file"] === "string") return readJsonFile("--file", opts["file"]) as Record<string, unknown>;
  const str = (k: string) => (typeof opts[k] === "string" ? (opts[k] as string) : undefined);
  const body: Record<string, unknown> = {};
  const message: Record<string, unknown> = {};
  if (str("text") !== undefined) message["text"] = str("text");
  if (str("card") !== undefined) message["card"] = readJsonFile("--card", str("card") ?? "");
  if (Object.keys(message).length > 0) body["message"] = message;
  if (str("category") !== undefined) body["category"] = str("category");
  if (opts["conversations"]) body["audience"] = { conversations: opts["conversations"] };
  const timing = ["cron", "timeZone", "until"].some((k) => str(k) !== undefined) || opts["inRecipientZone"] !== undefined;
  if (timing && current) {
    const s = current.schedule;
    const inZone = opts["inRecipientZone"] === undefined ? s.localTime : opts["inRecipientZone"] === true;
    body["schedule"] = {
      cron: str("cron") ?? s.cron,
      timeZone: str("timeZone") ?? s.timeZone,
      ...((str("until") ?? s.until) ? { until: str("until") ?? s.until } : {}),
      ...(inZone ? { localTime: true } : {}),
    };
  }
  if (Object.keys(body).length === 0)
    throw new CliError(
      "Nothing to change: give --text, --card, --category, --conversations, --cron, --time-zone, --until or --file.",
      exitCodes.usage,
    );
  return body;
}

export function registerSeriesCommands(program: Command): void {
  const series = program
    .command("series")
    .description("Recurring series: each run is its own notification (created with herald send --cron).");

  clientOptions(
    series.command("list").description("Series, newest first (JSON lines).").option("--state <state>", "active, paused, canceled or ended"),
  ).action(
    run(async (opts) => {
      const c = client(opts);
      let cursor: string | undefined;
      do {
        const q = new URLSearchParams([
          ...(typeof opts["state"] === "string" ? [["state", opts["state"]] as [string, string]] : []),
          ...(cursor ? [["cursor", cursor] as [string, string]] : []),
        ]).toString();
        const page = await api<{ items: unknown[]; nextCursor?: string | null }>(c, "GET", `/v1/series${q ? `?${q}` : ""}`);
        for (const item of page.items) process.stdout.write(`${JSON.stringify(item)}\n`);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }),
  );

  clientOptions(series.command("show <id>").description("A series, its next run and its latest runs.")).action(
    run(async (opts, id) => print(await api(client(opts), "GET", path(id)))),
  );

  for (const [name, what] of [
    ["pause", "No runs until resumed."],
    ["resume", "Runs again from the next occurrence (runs missed while paused are not sent)."],
  ] as const) {
    clientOptions(series.command(`${name} <id>`).description(what)).action(
      run(async (opts, id) => print(await api(client(opts), "POST", `${path(id)}/${name}`))),
    );
  }

  clientOptions(series.command("cancel <id>").description("Stop the series for good (runs already sent stay).")).action(
    run(async (opts, id) => print(await api(client(opts), "DELETE", path(id)))),
  );

  clientOptions(
    series
      .command("edit <id>")
      .description("Change what the next runs send, or when they run.")
      .option("--text <text>", "new message text")
      .option("--card <file>", "new Adaptive Card JSON file")
      .option("--category <name>", "new category")
      .option("--conversations <ids>", "new audience: these conversations", list)
      .option("--cron <expression>", "new cron expression")
      .option("--time-zone <zone>", "new zone of the cron")
      .option("--until <iso>", "no run after this time")
      .option("--in-recipient-zone", "each run at the cron's time in each recipient's own zone")
      .option("--file <patch.json>", "the whole PATCH body as JSON"),
  ).action(
    run(async (opts, id) => {
      const c = client(opts);
      const current = await api<SeriesView>(c, "GET", path(id));
      print(await api(c, "PATCH", path(id), seriesEditBody(opts, current)));
    }),
  );
}
