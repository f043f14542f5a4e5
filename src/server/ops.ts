import { Hono } from "hono";
import type { DeliveryEngine } from "../delivery/index.js";
import type { Metrics } from "../observability/metrics.js";
import type { Store } from "../store/ports.js";
import { healthRoutes } from "./health.js";

/**
 * What every Herald process answers, `herald serve` and `herald worker` alike: `GET /healthz`,
 * `GET /readyz` (see health.ts) and `GET /metrics` (Prometheus text, this process's figures: a
 * scraper reads each process and sums).
 */
export function opsRoutes(store: Store, engine: DeliveryEngine, metrics: Metrics): Hono {
  const app = new Hono();
  app.route(
    "/",
    healthRoutes(store, () => engine.credentials()),
  );
  app.get("/metrics", async (c) => c.text(await metrics.render(), 200, { "content-type": metrics.contentType }));
  return app;
}
