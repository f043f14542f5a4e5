import type { Clock } from "../clock.js";
import { type Config, loadConfig, settings } from "../config/config.js";
import type { TokenProvider } from "../connector/tokens.js";
import type { DeliveryConfig } from "../delivery/index.js";
import type { Activity } from "../inbound/activity.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/ports.js";

/**
 * A setting as the library takes it: the value `Config` holds, or the text its HERALD_* variable
 * would hold (durations in ms may also be given as "30s", "24h"; hosts as one comma list).
 */
export type SettingInput<K extends keyof Config> = Config[K] | string;

/** Herald's settings, keyed like `Config` (`databaseUrl` ↔ HERALD_DATABASE_URL); unset = the server's default. */
export type HeraldSettings = { [K in keyof Config]?: SettingInput<K> | undefined };

/** A user answered a card with a verb no Herald feature owns; return the card to show instead, if any. */
export type CardActionFallback = (
  activity: Activity,
  verb: string | undefined,
  data: unknown,
) => Promise<Record<string, unknown> | undefined>;

/** `createHerald(options)`: settings plus what only a library can hand over. */
export interface HeraldLibraryOptions extends HeraldSettings {
  /** Structured logger (pino). Default: JSON lines on stderr at `logLevel`. */
  logger?: Logger;
  clock?: Clock;
  /** Use this store instead of opening `databaseUrl`; the caller closes it. */
  store?: Store;
  /** PostgreSQL schema for the store Herald opens. */
  schema?: string;
  /** Connector tokens from the host bot's own credentials (see the adapters' `tokens` helpers). */
  tokens?: TokenProvider;
  /** Send none of Herald's own welcome and command replies (default true: the host bot speaks for itself). */
  quiet?: boolean;
  /** Card action verbs no Herald feature owns (`herald.*`) go here; with it, Herald answers every card action. */
  onCardAction?: CardActionFallback;
  /** Run the delivery engine in this process (default true). */
  engine?: boolean;
  /** Engine settings beyond the configuration (time scale for emulators, batch sizes). */
  delivery?: Partial<DeliveryConfig>;
}

/** A duration setting given as a number is milliseconds, which its parser wants written with a unit. */
const durations = new Set<keyof Config>(["tenantDisabledTimeoutMs", "blockedRetryMs"]);

function asText(key: keyof Config, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number") return durations.has(key) ? `${value}ms` : String(value);
  if (Array.isArray(value)) return value.map(String).join(",");
  return String(value);
}

/**
 * The library's settings through the server's own loader: every value is written as its HERALD_*
 * variable would be and validated by `loadConfig`, so a bad value fails with the same ConfigError
 * (HERALD_E_CONFIG) and message `herald serve` prints. `process.env` is not read.
 */
export function libraryConfig(options: HeraldSettings): Readonly<Config> {
  const env: Record<string, string> = {};
  for (const s of settings) {
    const text = asText(s.key, options[s.key]);
    if (text !== undefined) env[s.env] = text;
  }
  return loadConfig(env);
}
