import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import { api, apiRaw, CliError, type ClientOptions } from "./http-client.js";
import { exitCodes } from "./options.js";
import { type NotificationView, progressLine } from "./progress.js";

/** The --url and --api-key flags every client command takes. */
export function clientOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--url <url>", "Herald's base URL").env("HERALD_URL").default("http://127.0.0.1:3978"))
    .addOption(new Option("--api-key <key>", "API key").env("HERALD_API_KEY"));
}

/** The client options from parsed flags. */
export function client(opts: Record<string, unknown>): ClientOptions {
  return { url: String(opts["url"]), apiKey: typeof opts["apiKey"] === "string" ? opts["apiKey"] : undefined };
}

/** A comma-separated (and repeatable) option as a list. */
export const list = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
];

/** Run a client action; CliError → message on stderr and its exit code. */
export function run(action: (opts: Record<string, unknown>, ...args: string[]) => Promise<void>) {
  return async (...args: unknown[]) => {
    const cmd = args.at(-1) as Command;
    const opts = cmd.opts();
    try {
      await action(opts, ...(args.slice(0, -2) as string[]));
    } catch (e) {
      if (e instanceof CliError) {
        process.stderr.write(`herald: ${e.message}\n`);
        process.exit(e.exitCode);
      }
      throw e;
    }
  };
}

/** Read a JSON file named by a flag; a missing or malformed file is a usage error naming the flag. */
export function readJsonFile(flag: string, path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new CliError(`${flag} ${path}: cannot read it as JSON (${(e as Error).message}). Give the path of a JSON file.`, exitCodes.usage);
  }
}

/** Build the POST /v1/notifications body from flags (or take it whole from --file). */
export function sendBody(opts: Record<string, unknown>): Record<string, unknown> {
  if (typeof opts["file"] === "string") return readJsonFile("--file", opts["file"]) as Record<string, unknown>;
  const audiences: Record<string, unknown>[] = [];
  const tenantId = opts["tenant"] as string | undefined;
  if (opts["users"]) audiences.push({ users: opts["users"], ...(tenantId ? { tenantId } : {}) });
  if (opts["conversations"]) audiences.push({ conversations: opts["conversations"] });
  if (opts["channels"]) audiences.push({ channels: opts["channels"] });
  // A team named by its Entra group id needs its tenant (--tenant); a 19: id carries its own, so
  // with 19: ids only --tenant is left out as before (the API refuses a tenantId beside them).
  const byGroup = Array.isArray(opts["teams"]) && opts["teams"].some((t) => typeof t === "string" && !t.startsWith("19:"));
  if (opts["teams"])
    audiences.push({ teams: opts["teams"], deliverTo: opts["deliverTo"] ?? "channel", ...(tenantId && byGroup ? { tenantId } : {}) });
  if (opts["all"]) audiences.push({ all: true, ...(tenantId ? { tenantId } : {}) });
  if (audiences.length !== 1) {
    throw new CliError(
      "Give exactly one audience: --users, --conversations, --channels, --teams or --all (or --file body.json).",
      exitCodes.usage,
    );
  }
  const message: Record<string, unknown> = {};
  if (typeof opts["text"] === "string") message["text"] = opts["text"];
  if (typeof opts["textFormat"] === "string") message["textFormat"] = opts["textFormat"];
  if (typeof opts["card"] === "string") message["card"] = readJsonFile("--card", opts["card"]);
  if (typeof opts["summary"] === "string") message["summary"] = opts["summary"];
  if (opts["alert"]) message["alert"] = true;
  if (!message["text"] && !message["card"]) throw new CliError("Give a message: --text and/or --card card.json.", exitCodes.usage);
  const body: Record<string, unknown> = { audience: audiences[0], message };
  if (typeof opts["idempotencyKey"] === "string") body["idempotencyKey"] = opts["idempotencyKey"];
  if (typeof opts["category"] === "string") body["category"] = opts["category"];
  if (typeof opts["schedule"] === "string") body["schedule"] = opts["schedule"];
  const schedule = scheduleFlags(opts);
  if (schedule) {
    if (body["schedule"] !== undefined) throw new CliError("Give --schedule <iso>, --local-time or --cron, not several.", exitCodes.usage);
    body["schedule"] = schedule;
  }
  return body;
}

/** The `schedule` that --local-time / --cron and their companions describe, or undefined. */
export function scheduleFlags(opts: Record<string, unknown>): Record<string, unknown> | undefined {
  const str = (k: string) => (typeof opts[k] === "string" ? (opts[k] as string) : undefined);
  const local = str("localTime");
  const cron = str("cron");
  if (local !== undefined && cron !== undefined) throw new CliError("Give --local-time or --cron, not both.", exitCodes.usage);
  if (local !== undefined) {
    if (str("until") !== undefined || opts["inRecipientZone"])
      throw new CliError("--until and --in-recipient-zone go with --cron.", exitCodes.usage);
    return { localTime: local, date: str("date"), timeZone: str("timeZone"), ifPassed: str("ifPassed") };
  }
  if (cron !== undefined) {
    if (str("date") !== undefined || str("ifPassed") !== undefined)
      throw new CliError("--date and --if-passed go with --local-time.", exitCodes.usage);
    return { cron, timeZone: str("timeZone"), until: str("until"), ...(opts["inRecipientZone"] ? { localTime: true } : {}) };
  }
  if (["date", "timeZone", "ifPassed", "until"].some((k) => str(k) !== undefined) || opts["inRecipientZone"])
    throw new CliError("--date, --time-zone, --if-passed, --until and --in-recipient-zone need --local-time or --cron.", exitCodes.usage);
  return undefined;
}

/** Poll a notification until it completes or is canceled, printing progress. */
async function watch(c: ClientOptions, id: string, intervalMs = 500): Promise<NotificationView> {
  const tty = process.stdout.isTTY === true;
  let last: { at: number; done: number } | undefined;
  for (;;) {
    const view = await api<NotificationView>(c, "GET", `/v1/notifications/${encodeURIComponent(id)}`);
    const done = view.total - (view.counts["pending"] ?? 0);
    const now = Date.now();
    const rate = last && now > last.at ? ((done - last.done) * 1000) / (now - last.at) : undefined;
    last = { at: now, done };
    const line = progressLine(view, rate, tty);
    process.stdout.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
    if (view.status === "completed" || view.status === "canceled") {
      if (tty) process.stdout.write("\n");
      return view;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function registerClientCommands(program: Command): void {
  clientOptions(
    program
      .command("send")
      .description("Send a notification through a running Herald (POST /v1/notifications).")
      .option("--users <ids>", "Teams user ids (29:...) or Entra object ids, comma separated", list)
      .option("--conversations <ids>", "stored conversation ids, comma separated", list)
      .option("--channels <ids>", "channel ids (a new thread in each), comma separated", list)
      .option("--teams <ids>", "team ids (19:...) or Entra group ids (with --tenant), comma separated", list)
      .addOption(new Option("--deliver-to <where>", "with --teams: the General channel or every member").choices(["channel", "members"]))
      .option("--all", "every active personal conversation (with --tenant: of one tenant)")
      .option("--tenant <id>", "tenant id for --users / --all / --teams by Entra group id")
      .option("--text <text>", "message text")
      .addOption(new Option("--text-format <format>", "text format").choices(["markdown", "plain", "xml"]))
      .option("--card <file>", "Adaptive Card JSON file (may use ${name} templating)")
      .option("--summary <text>", "activity-feed preview text")
      .option("--alert", "raise an activity-feed notification")
      .option("--category <name>", "category (users can opt out per category)")
      .option("--schedule <iso>", "send at this time (ISO 8601)")
      .option("--local-time <HH:MM>", "send at this time in each recipient's own time zone")
      .option("--date <YYYY-MM-DD>", "with --local-time: that day (default: each recipient's today)")
      .option("--time-zone <zone>", "with --local-time: zone of recipients whose own is unknown; with --cron: the cron's zone")
      .addOption(new Option("--if-passed <what>", "with --local-time: a recipient whose time has passed").choices(["sendNow", "nextDay"]))
      .option("--cron <expression>", 'a recurring series (each run is its own notification), e.g. "0 9 * * 1-5"')
      .option("--in-recipient-zone", "with --cron: each run reaches every recipient at the cron's time in their own zone")
      .option("--until <iso>", "with --cron: no run after this time")
      .option("--idempotency-key <key>", "the same key never sends twice")
      .option("--file <body.json>", "the whole request body as JSON")
      .option("--watch", "follow progress until done"),
  ).action(
    run(async (opts) => {
      const c = client(opts);
      const created = await api<{ id: string; status: string; series?: boolean }>(c, "POST", "/v1/notifications", sendBody(opts));
      // A --cron send made a series: its runs are notifications of their own (herald series show <id>).
      if (!opts["watch"] || created.series) {
        process.stdout.write(`${JSON.stringify(created)}\n`);
        return;
      }
      const view = await watch(c, created.id);
      process.exitCode = (view.counts["failed"] ?? 0) > 0 || (view.counts["unknown"] ?? 0) > 0 ? exitCodes.failure : exitCodes.ok;
    }),
  );

  clientOptions(
    program
      .command("status <id>")
      .description("Show a notification's counts; --watch follows them live with a progress bar and rate.")
      .option("--watch", "follow until completed or canceled"),
  ).action(
    run(async (opts, id) => {
      const c = client(opts);
      if (!opts["watch"]) {
        process.stdout.write(`${JSON.stringify(await api(c, "GET", `/v1/notifications/${encodeURIComponent(id ?? "")}`), null, 2)}\n`);
        return;
      }
      await watch(c, id ?? "");
    }),
  );

  clientOptions(
    program
      .command("deliveries <id>")
      .description("Per-recipient outcomes of a notification (JSON lines, or --csv).")
      .option("--status <status>", "only this outcome")
      .option("--csv", "CSV, as the dashboard downloads it"),
  ).action(
    run(async (opts, id) => {
      const c = client(opts);
      const base = `/v1/notifications/${encodeURIComponent(id ?? "")}/deliveries`;
      const status = typeof opts["status"] === "string" ? `status=${encodeURIComponent(opts["status"])}` : "";
      if (opts["csv"]) {
        const res = await apiRaw(c, "GET", `${base}?format=csv${status ? `&${status}` : ""}`);
        process.stdout.write(await res.text());
        return;
      }
      let cursor: string | undefined;
      do {
        const q = [status, cursor ? `cursor=${encodeURIComponent(cursor)}` : ""].filter(Boolean).join("&");
        const page = await api<{ items: unknown[]; nextCursor?: string | null }>(c, "GET", `${base}${q ? `?${q}` : ""}`);
        for (const item of page.items) process.stdout.write(`${JSON.stringify(item)}\n`);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }),
  );

  clientOptions(
    program
      .command("conversations")
      .description("The conversation references Herald keeps (JSON lines).")
      .option("--kind <kind>", "personal, groupChat or channel")
      .option("--tenant <id>", "one tenant")
      .option("--status <status>", "active, uninstalled, blocked or deleted"),
  ).action(
    run(async (opts) => {
      const c = client(opts);
      const filters = [
        ["kind", opts["kind"]],
        ["tenantId", opts["tenant"]],
        ["status", opts["status"]],
      ].filter(([, v]) => typeof v === "string") as [string, string][];
      let cursor: string | undefined;
      do {
        const q = new URLSearchParams([...filters, ...(cursor ? [["cursor", cursor] as [string, string]] : [])]).toString();
        const page = await api<{ items: unknown[]; nextCursor?: string | null }>(c, "GET", `/v1/conversations${q ? `?${q}` : ""}`);
        for (const item of page.items) process.stdout.write(`${JSON.stringify(item)}\n`);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    }),
  );

  const keys = program.command("keys").description("Manage API keys (needs an admin key).");
  clientOptions(
    keys
      .command("create")
      .description("Create an API key; the secret is printed once.")
      .requiredOption("--name <name>", "what the key is for")
      .option("--scopes <scopes>", "send, read, admin (comma separated)", list)
      .option("--tenants <ids>", "limit the key to these tenants", list)
      .option("--teams <ids>", "limit the audiences it reaches to these teams (Teams team ids)", list)
      .option("--groups <ids>", "limit the audiences it reaches to these Entra groups (object ids)", list),
  ).action(
    run(async (opts) => {
      const body = {
        name: opts["name"],
        scopes: opts["scopes"] ?? ["send", "read"],
        ...(opts["tenants"] ? { tenants: opts["tenants"] } : {}),
        ...(opts["teams"] ? { teams: opts["teams"] } : {}),
        ...(opts["groups"] ? { groups: opts["groups"] } : {}),
      };
      process.stdout.write(`${JSON.stringify(await api(client(opts), "POST", "/v1/keys", body), null, 2)}\n`);
    }),
  );
  clientOptions(keys.command("list").description("List API keys (never their secrets).")).action(
    run(async (opts) => {
      process.stdout.write(`${JSON.stringify(await api(client(opts), "GET", "/v1/keys"), null, 2)}\n`);
    }),
  );
  clientOptions(keys.command("revoke <id>").description("Revoke an API key at once.")).action(
    run(async (opts, id) => {
      await api(client(opts), "DELETE", `/v1/keys/${encodeURIComponent(id ?? "")}`);
      process.stdout.write(`revoked ${id}\n`);
    }),
  );
}
