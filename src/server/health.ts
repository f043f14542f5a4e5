import { Hono } from "hono";
import type { Store } from "../store/ports.js";

/** `GET /healthz`: the process is up. `GET /readyz`: the store answers and migrations are applied. */
export function healthRoutes(store: Store): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    const ready = await store.ready().catch(() => false);
    return ready
      ? c.json({ status: "ready" })
      : c.json(
          {
            status: "not ready",
            error: { code: "HERALD_E_NOT_READY", message: "The store does not answer or migrations are not applied." },
          },
          503,
        );
  });
  return app;
}
