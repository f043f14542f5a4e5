import type { Clock } from "../clock.js";
import type { ConnectorAuth } from "./auth/connector-auth.js";
import type { BotSide } from "./bot/bot-side.js";
import type { BatchOperations } from "./connector/batch-ops.js";
import type { Faults } from "./faults/faults.js";
import type { Limits } from "./limits/limits.js";
import type { ResolvedOptions } from "./options.js";
import type { Org } from "./org/model.js";
import type { ActivityIds, OrgState } from "./org/state.js";
import type { Counters } from "./store/counters.js";
import type { ConversationCounts, MessageStore } from "./store/messages.js";

/** Addresses of a running emulator (no trailing slashes except `serviceUrl`). */
export interface EmulatorUrls {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  /** Path prefix of the Connector ('' = root). */
  connectorPath: string;
  /** The serviceUrl the bot sees: base + prefix + `/`. */
  serviceUrl: string;
}

/** Everything route modules share. One per running emulator. */
export interface EmulatorContext {
  readonly options: ResolvedOptions;
  readonly clock: Clock;
  readonly org: Org;
  readonly state: OrgState;
  readonly counters: Counters;
  readonly messages: MessageStore;
  readonly counts: ConversationCounts;
  readonly limits: Limits;
  readonly faults: Faults;
  readonly auth: ConnectorAuth;
  readonly activityIds: ActivityIds;
  readonly batches: BatchOperations;
  readonly bot: BotSide;
  /** The bot's app id (`28:<appId>` is its Teams id). */
  readonly appId: string;
  readonly urls: EmulatorUrls;
}
