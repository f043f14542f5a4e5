/**
 * `import { createHerald } from "herald"`: Herald's engine inside an existing bot. Adapters for
 * the bot SDKs are `herald/botbuilder`, `herald/agents` and `herald/teams`; the HTTP client of a
 * Herald server is `herald/client`.
 */
export type { NotificationView } from "./api/notifications.js";
export type { Clock } from "./clock.js";
export { type Config, ConfigError } from "./config/config.js";
export type { TokenProvider } from "./connector/tokens.js";
export type { Activity } from "./inbound/activity.js";
export {
  type CardActionFallback,
  createHerald,
  HeraldError,
  type HeraldLibrary,
  type HeraldLibraryOptions,
  type HeraldSettings,
  type NotificationRequestInput,
  type SettingInput,
} from "./library/index.js";
export type { Listener } from "./server/listen.js";

export const version = "0.1.0";
