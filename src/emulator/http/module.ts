import type { EmulatorContext } from "../context.js";
import type { Router } from "./router.js";

/**
 * A group of routes: the Connector, auth, control API, and later Graph or the web page each
 * register themselves with `(router, ctx) => { router.add(...) }`. Paths are absolute
 * (a module adds `ctx.urls.connectorPath` itself where it belongs under the Connector prefix).
 */
export type RouteModule = (router: Router, ctx: EmulatorContext) => void;
