import type { EmulatorContext } from "../context.js";
import { sendJson } from "../http/io.js";
import type { RouteModule } from "../http/module.js";
import type { Router } from "../http/router.js";
import { IdCodec, Kind } from "../org/ids.js";
import { registerDirectory } from "./directory.js";
import { type GraphEnv, registerInstalls } from "./installs.js";
import { InstallRefusals, registerRefusals } from "./refusals.js";
import type { GraphApp } from "./resources.js";
import { type GraphCounters, newGraphCounters } from "./respond.js";
import { InstallThrottle } from "./throttle.js";

export type { GraphApp } from "./resources.js";
export type { GraphCounters } from "./respond.js";

/** Options of the Graph subset. Every field is optional; defaults in brackets. */
export interface GraphOptions {
  /** Manifest id of the bot's Teams app (`externalId` in the catalog). [the bot's app id] */
  manifestId?: string;
  /** Catalog id of the app (`teamsApp/id`). [a GUID derived from the seed] */
  catalogId?: string;
  /** Display name in the catalog. [the bot's name] */
  displayName?: string;
  /** App version in the catalog. [1.0.0] */
  version?: string;
  /** App installs (and removals) per second per tenant before 429; 0 = no limit. Scaled by `timeScale`. [30] */
  installRate?: number;
}

/** The running Graph subset (for in-process tests): its catalog app and counters. */
export interface GraphState {
  app: GraphApp;
  counters: GraphCounters;
}

const states = new WeakMap<EmulatorContext, GraphState>();

/** The Graph state of a running emulator, if the Graph module is registered. */
export function graphState(ctx: EmulatorContext): GraphState | undefined {
  return states.get(ctx);
}

/**
 * The Microsoft Graph subset Herald uses (protocol reference, section 7) as a route module,
 * under `/v1.0` and `/beta` of the emulator's address: the app catalog, app installations
 * for users, teams and group chats (installs make the emulator send the bot Teams' event
 * pair), the 1:1 chat of an installation, users, and groups' transitive members with paging.
 * Calls need a token from the emulator's token endpoint for scope
 * `https://graph.microsoft.com/.default` and a tenant of the organisation (when auth is on).
 * `GET /_emulator/graph` shows the catalog app, the Graph counters and the latest installs (`installLog`).
 */
export function graphRoutes(options: GraphOptions = {}): RouteModule {
  return (router: Router, ctx: EmulatorContext) => {
    // One Graph per emulator: a module given in `routes` wins over the default one.
    if (states.has(ctx)) return;
    const app: GraphApp = {
      catalogId: options.catalogId ?? new IdCodec(ctx.org.seed).guid(Kind.app, 1),
      manifestId: options.manifestId ?? ctx.appId,
      displayName: options.displayName ?? ctx.options.botName,
      version: options.version ?? "1.0.0",
      botId: ctx.appId,
    };
    const rate = options.installRate ?? 30;
    if (!(Number.isFinite(rate) && rate >= 0))
      throw new Error(`HERALD_E_EMULATOR_OPTIONS: graph installRate must be a number >= 0 (got ${rate})`);
    const env: GraphEnv = {
      ctx,
      app,
      counters: newGraphCounters(),
      throttle: new InstallThrottle(ctx.org.tenants.length, rate),
      refusals: new InstallRefusals(),
      installLog: [],
    };
    states.set(ctx, { app, counters: env.counters });
    for (const version of ["v1.0", "beta"]) {
      registerInstalls(router, env, version);
      registerDirectory(router, env, version);
    }
    registerRefusals(router, ctx, env.refusals);
    router.add("GET", "/_emulator/graph", (call) =>
      sendJson(call.res, 200, {
        app,
        installRate: rate,
        baseUrl: `${ctx.urls.base}/v1.0`,
        tokenScope: "https://graph.microsoft.com/.default",
        counters: env.counters,
        installLog: env.installLog,
      }),
    );
  };
}
