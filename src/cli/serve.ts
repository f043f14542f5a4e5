import type { Command } from "commander";
import { ConfigError, loadConfig } from "../config/config.js";
import { createLogger } from "../log.js";
import { createHerald } from "../server/herald.js";
import { addSettingFlags, exitCodes, settingFlags } from "./options.js";
import { onShutdown } from "./signals.js";

export function registerServe(program: Command): void {
  addSettingFlags(
    program
      .command("serve")
      .description("Run Herald: bot endpoint (POST /api/messages), HTTP API, dashboard and delivery engine in one process."),
  ).action(async (opts: Record<string, unknown>) => {
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(process.env, settingFlags(opts));
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`herald serve: ${e.message}\n`);
        process.exit(exitCodes.usage);
      }
      throw e;
    }
    const logger = createLogger(config.logLevel);
    const herald = await createHerald(config, { logger });
    const listener = await herald.listen();
    logger.info({ url: listener.url, database: config.databaseUrl.replace(/\/\/[^@/]*@/, "//***@") }, "herald listening");
    process.stdout.write(`Herald listening on ${listener.url} (bot endpoint ${listener.url}/api/messages)\n`);
    onShutdown(logger, () => herald.close());
  });
}
