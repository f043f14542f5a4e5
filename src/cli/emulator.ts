import { readFile } from "node:fs/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import { startEmulator } from "../emulator/index.js";
import type { EmulatorOptions } from "../emulator/options.js";
import { createLogger } from "../log.js";
import { exitCodes, wholeNumber } from "./options.js";
import { onShutdown } from "./signals.js";

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0) {
    const error = new InvalidArgumentError(`--${name} must be a number ≥ 0.`);
    error.exitCode = exitCodes.usage;
    throw error;
  }
  return n;
};

/** `herald emulator`: the Teams emulator alone, for a Herald (or any bot) to talk to. */
export function registerEmulator(program: Command): void {
  program
    .command("emulator")
    .description("Run the Teams emulator: Connector, token endpoint, OpenID keys, Graph subset, control API and chat view.")
    .option("--port <n>", "TCP port (0 = any free port)", wholeNumber("port"), 3999)
    .option("--host <host>", "interface (keep it on loopback)", "127.0.0.1")
    .option("--seed <n>", "seed of the generated organisation", wholeNumber("seed"), 1)
    .option("--tenants <n>", "tenants", wholeNumber("tenants"))
    .option("--users <n>", "users in all tenants together", wholeNumber("users"))
    .option("--teams <n>", "teams in all tenants together", wholeNumber("teams"))
    .option("--blocked-share <0..1>", "share of users who blocked the bot", num("blocked-share"))
    .option("--uninstalled-share <0..1>", "share of users without the app", num("uninstalled-share"))
    .option("--org-file <path>", "YAML/JSON organisation instead of a generated one")
    .option("--no-limits", "turn Teams' rate limits off")
    .option("--time-scale <x>", "run every limit window x times faster", num("time-scale"))
    .option("--tenant-rps <n>", "per-tenant ceiling (0 = none)", num("tenant-rps"))
    .option("--no-auth", "accept Connector calls without a token")
    .option("--app-id <id>", "the bot's app id")
    .option("--app-certificate <pem>", "a PEM file with the app's certificate: accept client assertions signed with its key")
    .option("--bot-endpoint <url>", "where to post activities for the bot, e.g. http://127.0.0.1:3978/api/messages")
    .option("--message-cap <n>", "message bodies kept in all (counts are always kept)", wholeNumber("message-cap"))
    .addOption(new Option("--connector-path <path>", "path prefix of the Connector API").default("/"))
    .action(async (opts: Record<string, unknown>) => {
      const logger = createLogger("info");
      const org: NonNullable<EmulatorOptions["org"]> = {};
      for (const k of ["tenants", "users", "teams", "blockedShare", "uninstalledShare"] as const) {
        if (typeof opts[k] === "number") org[k] = opts[k] as number;
      }
      let emulator: Awaited<ReturnType<typeof startEmulator>>;
      try {
        const certificateFile = opts["appCertificate"] as string | undefined;
        const appCertificates = certificateFile ? [{ certificate: await readFile(certificateFile, "utf8") }] : undefined;
        emulator = await startEmulator({
          port: opts["port"] as number,
          host: opts["host"] as string,
          seed: opts["seed"] as number,
          org,
          orgFile: opts["orgFile"] as string | undefined,
          limits: opts["limits"] as boolean,
          timeScale: opts["timeScale"] as number | undefined,
          tenantRps: opts["tenantRps"] as number | undefined,
          auth: opts["auth"] as boolean,
          appId: opts["appId"] as string | undefined,
          appCertificates,
          botEndpoint: opts["botEndpoint"] as string | undefined,
          messageCap: opts["messageCap"] as number | undefined,
          connectorPath: opts["connectorPath"] as string,
        });
      } catch (e) {
        process.stderr.write(`herald emulator: ${(e as Error).message}\n`);
        process.exit(exitCodes.usage);
      }
      process.stdout.write(`Teams emulator on ${emulator.url}\n  Connector (serviceUrl): ${emulator.connectorUrl}\n`);
      onShutdown(logger, () => emulator.close());
    });
}
