import { afterAll, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../src/log.js";
import { createHerald, type Herald } from "../../src/server/herald.js";
import type { Store } from "../../src/store/ports.js";
import { graphCounters, startGraphStack } from "../graph/stack.js";
import { call, eventually, STACK_API_KEY, type Stack } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * An installation job left running when its Herald stopped continues when the next Herald starts
 * on the same store: the users installed before the stop are not installed again, every user
 * ends with one outcome, and the counts add up.
 */
forEachStore((stores) => {
  let store: Store;
  let stack: Stack;
  let next: Herald | undefined;
  beforeAll(async () => {
    store = await stores.open();
    stack = await startGraphStack(store, {
      emulator: { org: { tenants: 1, users: 40, teams: 1, blockedShare: 0, uninstalledShare: 1 } },
      // 10 installs a second, one at a time: the job takes about 4 s, long enough to stop it midway.
      herald: { installRps: 10, installConcurrency: 1, graphPageSize: 10 },
    });
  });
  afterAll(async () => {
    await next?.close();
    // The first Herald was closed by the test.
    await stack?.emulator.close();
  });

  it("stopped midway, the job resumes in the next process without reinstalling anyone", async () => {
    const tenantId = stack.emulator.org.tenants[0]!.id;
    const started = await call("POST", `${stack.heraldUrl}/v1/installations`, { all: true, tenantId }, STACK_API_KEY);
    expect(started.status).toBe(202);
    const id = started.json["id"] as string;
    await eventually("some installs done", async () => ((await graphCounters(stack))["installs"]! >= 12 ? true : undefined));
    await stack.herald.close();
    const before = (await store.installations!.get(id))!;
    expect(before.status).toBe("running");
    expect(before.total).toBeLessThan(40);

    next = await createHerald(stack.herald.config, {
      logger: silentLogger,
      store,
      installRps: 10,
      installConcurrency: 1,
      graphPageSize: 10,
    });
    const done = await eventually(
      "the job completed in the next process",
      async () => {
        const j = await store.installations!.get(id);
        return j?.status === "running" ? undefined : j;
      },
      20_000,
    );
    expect(done.status).toBe("completed");
    expect(done.total).toBe(40);
    expect(done.counts.installed + done.counts.alreadyInstalled).toBe(40);
    // An install on the wire when the first process stopped may come back as a 409: never more.
    expect(done.counts.alreadyInstalled).toBeLessThanOrEqual(1);
    const counters = await graphCounters(stack);
    expect(counters["installs"]).toBe(40);
    expect(counters["conflicts"]).toBeLessThanOrEqual(1);
    const items = await store.installations!.items(id, -1, 1000);
    expect(new Set(items.map((i) => i.userId)).size).toBe(40);
  });
});
