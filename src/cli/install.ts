import { type Command, Option } from "commander";
import { api, CliError, type ClientOptions } from "./http-client.js";
import { exitCodes } from "./options.js";

/** An installation job as `GET /v1/installations/{id}` returns it. */
export interface InstallationView {
  id: string;
  status: string;
  total: number;
  counts: { installed: number; alreadyInstalled: number; refused: number; failed: number };
  error?: string | null;
}

/** One line of progress: a bar of the users done so far on a terminal, `key=value` text otherwise. */
export function installProgressLine(v: InstallationView, ratePerSecond: number | undefined, tty: boolean, width = 30): string {
  const c = v.counts;
  const counts = `installed=${c.installed} alreadyInstalled=${c.alreadyInstalled} refused=${c.refused} failed=${c.failed}`;
  const rate = ratePerSecond === undefined ? "" : ` ${ratePerSecond.toFixed(0)}/s`;
  if (!tty) return `${v.id} ${v.status} total=${v.total} ${counts}${rate}`;
  // The total grows while users are read page by page: the bar is full only when the job is.
  const share = v.status === "running" ? (v.total === 0 ? 0 : 0.99) : 1;
  const filled = Math.round(share * width);
  return `${"█".repeat(filled)}${"░".repeat(width - filled)} ${v.status} ${v.total} users ${counts}${rate}`;
}

const list = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
];

/** The POST /v1/installations body from the flags; exactly one audience. */
export function installBody(opts: Record<string, unknown>): Record<string, unknown> {
  const tenantId = opts["tenant"];
  if (typeof tenantId !== "string") throw new CliError("--tenant <id> is required: installs happen in one tenant.", exitCodes.usage);
  const kinds = [
    opts["users"] ? { users: opts["users"] } : undefined,
    opts["groups"] ? { groups: opts["groups"] } : undefined,
    opts["teams"] ? { teams: opts["teams"] } : undefined,
    opts["chats"] ? { chats: opts["chats"] } : undefined,
    opts["all"] ? { all: true } : undefined,
  ].filter((k) => k !== undefined);
  if (kinds.length !== 1) throw new CliError("Give exactly one of --users, --groups, --teams, --chats or --all.", exitCodes.usage);
  return { ...kinds[0], tenantId };
}

/**
 * `herald install`: install the app through Microsoft Graph for users, groups' members or a
 * whole tenant ahead of a broadcast (POST /v1/installations), following the job with a
 * progress bar until it ends. Exit 1 when any install failed (refusals are reported, not errors).
 */
export function registerInstall(program: Command): void {
  program
    .command("install")
    .description("Install the app through Graph for users, groups or a whole tenant (POST /v1/installations), with progress.")
    .option("--users <ids>", "Entra object ids, UPNs or emails, comma separated", list)
    .option("--groups <ids>", "Entra group ids (their transitive members), comma separated", list)
    .option("--teams <ids>", "teams, by their Entra group ids, comma separated (the app is installed in each team)", list)
    .option("--chats <ids>", "group chat ids (19:...@thread.v2), comma separated", list)
    .option("--all", "every user of the tenant's directory")
    .option("--tenant <id>", "the tenant (required)")
    .option("--no-watch", "print the job and return at once")
    .addOption(new Option("--url <url>", "Herald's base URL").env("HERALD_URL").default("http://127.0.0.1:3978"))
    .addOption(new Option("--api-key <key>", "API key (admin scope)").env("HERALD_API_KEY"))
    .action(async (opts: Record<string, unknown>) => {
      const c: ClientOptions = { url: String(opts["url"]), apiKey: typeof opts["apiKey"] === "string" ? opts["apiKey"] : undefined };
      try {
        const job = await api<InstallationView>(c, "POST", "/v1/installations", installBody(opts));
        if (opts["watch"] === false) {
          process.stdout.write(`${JSON.stringify(job)}\n`);
          return;
        }
        const tty = process.stdout.isTTY === true;
        let last: { at: number; done: number } | undefined;
        for (;;) {
          const v = await api<InstallationView>(c, "GET", `/v1/installations/${encodeURIComponent(job.id)}`);
          const now = Date.now();
          const rate = last && now > last.at ? ((v.total - last.done) * 1000) / (now - last.at) : undefined;
          last = { at: now, done: v.total };
          const line = installProgressLine(v, rate, tty);
          process.stdout.write(tty ? `\r${line}\u001b[K` : `${line}\n`);
          if (v.status !== "running") {
            if (tty) process.stdout.write("\n");
            if (v.error) process.stderr.write(`herald: the job stopped: ${v.error}\n`);
            process.exitCode = v.status === "failed" || v.counts.failed > 0 ? exitCodes.failure : exitCodes.ok;
            return;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      } catch (e) {
        if (e instanceof CliError) {
          process.stderr.write(`herald: ${e.message}\n`);
          process.exit(e.exitCode);
        }
        throw e;
      }
    });
}
