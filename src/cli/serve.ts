import type { Command } from "commander";
import { ConfigError, loadConfig } from "../config/config.js";
import { createLogger } from "../log.js";
import { keepHeapSmall } from "../server/heap.js";
import { createHerald } from "../server/herald.js";
import { type Listener, listen } from "../server/listen.js";
import { opsRoutes } from "../server/ops.js";
import { StoreError } from "../store/errors.js";
import { ceilingCheck } from "./ceiling.js";
import { addSettingFlags, exitCodes, settingFlags } from "./options.js";
import { onShutdown } from "./signals.js";
import { hostedYoungGenerationMb } from "./young-generation.js";

function configOrExit(command: string, opts: Record<string, unknown>): ReturnType<typeof loadConfig> {
  try {
    return loadConfig(process.env, settingFlags(opts));
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`herald ${command}: ${e.message}\n`);
      process.exit(exitCodes.usage);
    }
    throw e;
  }
}

/** createHerald, with a database another process holds reported as a usage error (exit code 2). */
async function startOrExit(command: string, config: ReturnType<typeof loadConfig>, logger: ReturnType<typeof createLogger>) {
  try {
    return await createHerald(config, { logger });
  } catch (e) {
    if (e instanceof StoreError && e.code === "HERALD_E_STORE_LOCKED") {
      process.stderr.write(`herald ${command}: ${e.code}: ${e.message}\n`);
      process.exit(exitCodes.usage);
    }
    throw e;
  }
}

export function registerServe(program: Command): void {
  addSettingFlags(
    program.command("serve").description("Run Herald: bot endpoint (POST /api/messages), HTTP API and delivery engine in one process."),
  ).action(async (opts: Record<string, unknown>) => {
    const config = configOrExit("serve", opts);
    keepHeapSmall();
    const logger = createLogger(config.logLevel);
    const ceiling = ceilingCheck("serve", config);
    if (ceiling && "warn" in ceiling) logger.warn(ceiling.warn);
    const herald = await startOrExit("serve", config, logger);
    let listener: Awaited<ReturnType<typeof herald.listen>>;
    try {
      listener = await herald.listen();
    } catch (e) {
      await herald.close().catch(() => undefined);
      process.stderr.write(
        `herald serve: cannot listen on ${config.host}:${config.port} (${e instanceof Error ? e.message : String(e)}). Stop the other process using that port, or choose another with HERALD_PORT / --port (0 = any free port).\n`,
      );
      process.exit(exitCodes.usage);
    }
    logger.info(
      { url: listener.url, database: config.databaseUrl.replace(/\/\/[^@/]*@/, "//***@"), youngGenerationMb: hostedYoungGenerationMb() },
      "herald listening",
    );
    // Listening for signals before saying so: a supervisor that stops the process as soon as it
    // reads the line must find the handler (Node installs it with the first listener; a signal
    // that came before would end the process on the spot, measured once in 3 tries).
    onShutdown(logger, () => herald.close());
    process.stdout.write(`Herald listening on ${listener.url} (bot endpoint ${listener.url}/api/messages)\n`);
  });
}

/**
 * `herald worker`: the delivery engine, plus `/healthz`, `/readyz` and `/metrics` on HERALD_HOST:HERALD_PORT
 * (no API, no bot endpoint). Run any number next to `herald serve`
 * processes on the same PostgreSQL database (rows are claimed with FOR UPDATE SKIP LOCKED and
 * leases) and the same rate-limit buckets in Redis (HERALD_REDIS_URL, required: see ceiling.ts).
 */
export function registerWorker(program: Command): void {
  addSettingFlags(
    program
      .command("worker")
      .description(
        "Run only the delivery engine, with /healthz, /readyz and /metrics on HERALD_PORT (for more sending processes on PostgreSQL + Redis).",
      ),
  ).action(async (opts: Record<string, unknown>) => {
    const config = configOrExit("worker", opts);
    if (config.databaseUrl.startsWith("sqlite:")) {
      process.stderr.write("herald worker: needs HERALD_DATABASE_URL=postgres://... (a SQLite file is one process's: use herald serve).\n");
      process.exit(exitCodes.usage);
    }
    const ceiling = ceilingCheck("worker", config);
    if (ceiling && "refuse" in ceiling) {
      process.stderr.write(`herald worker: ${ceiling.refuse}\n`);
      process.exit(exitCodes.usage);
    }
    keepHeapSmall();
    const logger = createLogger(config.logLevel);
    const herald = await startOrExit("worker", config, logger);
    const ops = opsRoutes(herald.store, herald.engine, herald.metrics);
    let listener: Listener;
    try {
      listener = await listen((req) => ops.fetch(req), config.port, config.host);
    } catch (e) {
      await herald.close().catch(() => undefined);
      process.stderr.write(
        `herald worker: cannot listen on ${config.host}:${config.port} for /healthz, /readyz and /metrics (${e instanceof Error ? e.message : String(e)}). Give each process on one machine its own HERALD_PORT / --port (0 = any free port).\n`,
      );
      process.exit(exitCodes.usage);
    }
    logger.info(
      { workerId: herald.engine.workerId, url: listener.url, youngGenerationMb: hostedYoungGenerationMb() },
      "herald worker started",
    );
    // The listener closes first: a load balancer or Prometheus sees the process go, then the engine
    // drains. Before the line that says it runs (see serve).
    onShutdown(logger, async () => {
      await listener.close();
      await herald.close();
    });
    process.stdout.write(`Herald worker ${herald.engine.workerId} sending (health and metrics on ${listener.url})\n`);
  });
}
