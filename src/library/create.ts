import type { z } from "zod";
import { type NotificationView, notificationView } from "../api/notifications.js";
import { validationMessage } from "../api/validation.js";
import type { Config } from "../config/config.js";
import type { Caller, DeliveryEngine } from "../delivery/index.js";
import { notificationRequestSchema } from "../delivery/request.js";
import { createLogger } from "../log.js";
import { createHerald as createServer, type Herald } from "../server/herald.js";
import { type Listener, listen } from "../server/listen.js";
import type { Store } from "../store/ports.js";
import { HeraldError } from "./errors.js";
import { type HeraldLibraryOptions, libraryConfig } from "./options.js";

/** The body of `POST /v1/notifications`, as the caller writes it (before defaults). */
export type NotificationRequestInput = z.input<typeof notificationRequestSchema>;

/** Herald in process: the store, engine, limits and bot logic of `herald serve`, no port unless asked. */
export interface HeraldLibrary {
  readonly config: Readonly<Config>;
  readonly store: Store;
  readonly engine: DeliveryEngine;
  /** True when an `onCardAction` fallback is set: Herald answers every card action, not only `herald.*` verbs. */
  readonly answersAllCardActions: boolean;
  /**
   * Send a notification: the same validation and engine as `POST /v1/notifications`. Resolves
   * with the notification as `GET /v1/notifications/{id}` shows it (delivery continues in the
   * background); throws HeraldError `HERALD_E_INVALID_BODY` (400) naming the bad field, or the
   * engine's error (`HERALD_E_...`).
   */
  notify(request: NotificationRequestInput): Promise<NotificationView>;
  /** A notification as `GET /v1/notifications/{id}` shows it; undefined when unknown. */
  notification(id: string): Promise<NotificationView | undefined>;
  /**
   * One activity from the Connector, exactly as `POST /api/messages` treats it: shape check,
   * token verification when `inboundAuth` is `jwt` (pass the request's Authorization header),
   * trusted serviceUrl, then references, installs, commands and card actions. Resolves with the
   * invoke response body (undefined = empty 200); throws HeraldError with the status the endpoint
   * would answer (400 invalid, 401/403 token, 403 untrusted serviceUrl).
   */
  handleActivity(activity: unknown, authorization?: string): Promise<unknown>;
  /**
   * As handleActivity, for an activity the host bot's SDK has already authenticated (the
   * adapters): Herald skips its own token check but still refuses an untrusted serviceUrl.
   */
  handleAuthenticatedActivity(activity: unknown): Promise<unknown>;
  /** Opt-in: serve Herald's HTTP API and bot endpoint on `port` (default `port` setting; 0 = any free port). */
  listen(port?: number): Promise<Listener>;
  /** Stop the engine, finish replies in flight, stop listening, close the store Herald opened. */
  close(): Promise<void>;
}

/** Notifications sent through the library are one caller: its idempotency keys are its own. */
const libraryCaller: Caller = { keyId: "library" };

/**
 * Herald inside an existing bot: `const herald = await createHerald({ appId, databaseUrl })`.
 * Settings are validated like HERALD_* variables (ConfigError HERALD_E_CONFIG on a bad one);
 * nothing listens until `listen()`.
 */
export async function createHerald(options: HeraldLibraryOptions = {}): Promise<HeraldLibrary> {
  const config = libraryConfig(options);
  const server: Herald = await createServer(config, {
    logger: options.logger ?? createLogger(config.logLevel),
    clock: options.clock,
    store: options.store,
    schema: options.schema,
    delivery: options.delivery,
    engine: options.engine,
    tokens: options.tokens,
    quiet: options.quiet ?? true,
    onCardAction: options.onCardAction,
  });
  let listener: Listener | undefined;
  const outcome = async (activity: unknown, authorization: string | undefined, authenticated: boolean) => {
    const result = await server.receive(activity, authorization, { authenticated });
    if (!result.ok) throw new HeraldError(result.code, result.message, result.status);
    return result.body;
  };
  return {
    config,
    store: server.store,
    engine: server.engine,
    answersAllCardActions: options.onCardAction !== undefined,
    async notify(request) {
      const parsed = notificationRequestSchema.safeParse(request);
      if (!parsed.success) throw new HeraldError("HERALD_E_INVALID_BODY", validationMessage(parsed.error, "body"), 400);
      const { notification } = await server.engine.submit(parsed.data, libraryCaller);
      return notificationView(notification);
    },
    async notification(id) {
      const n = await server.engine.get(id, libraryCaller);
      return n ? notificationView(n) : undefined;
    },
    handleActivity: (activity, authorization) => outcome(activity, authorization, false),
    handleAuthenticatedActivity: (activity) => outcome(activity, undefined, true),
    async listen(port) {
      if (listener) return listener;
      listener = await listen((req) => server.fetch(req), port ?? config.port, config.host);
      return listener;
    },
    async close() {
      await listener?.close();
      listener = undefined;
      await server.close();
    },
  };
}
