import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { systemClock, type Clock } from "../../src/clock.js";
import type { DirectoryGraph } from "../../src/delivery/audience/directory-graph.js";
import type { Installer } from "../../src/delivery/install/installer.js";
import { InstallationJobs } from "../../src/delivery/install/jobs.js";
import { silentLogger } from "../../src/log.js";
import type { Store } from "../../src/store/ports.js";
import { eventually } from "../helpers/stack.js";
import { forEachStore } from "../helpers/stores.js";

/**
 * Review (rev4): a process that lost its lease (its clock behind another's by > 20 s, or its
 * renewals failing for 30 s while an install is slow) keeps running the job; the process that
 * took it runs it too: every target installed (POSTed) twice and recorded twice.
 */
forEachStore((stores) => {
  let store: Store;
  beforeAll(async () => {
    store = await stores.open();
  });
  afterAll(() => undefined);

  it("a job is run by one process only, each target installed and recorded once", async () => {
    const users = Array.from({ length: 20 }, () => randomUUID());
    const calls = new Map<string, number>();
    const installer = {
      async installOne(_t: string, id: string, signal?: AbortSignal) {
        calls.set(id, (calls.get(id) ?? 0) + 1);
        await systemClock.sleep(300, signal).catch(() => undefined);
        return { status: "installed" as const };
      },
    } as unknown as Installer;
    const graph: DirectoryGraph = {
      findUser: async () => undefined,
      userPage: async () => ({ users: [] }),
      groupMembersPath: () => "/g",
      usersPath: () => "/u",
    };
    const skewed: Clock = { now: () => Date.now() + 31_000, sleep: systemClock.sleep };
    const a = new InstallationJobs({ store: store.installations!, installer, graph, clock: systemClock, logger: silentLogger });
    const b = new InstallationJobs({ store: store.installations!, installer, graph, clock: skewed, logger: silentLogger });
    try {
      // 20 users in pages of 100: one page; make it 3 pages so B's resume lands mid-job.
      const job = await a.start({ users, tenantId: "t1" }, "test");
      await b.resume();
      const done = await eventually(
        "finished",
        async () => {
          const j = await store.installations!.get(job.id);
          return j && j.status !== "running" ? j : undefined;
        },
        10_000,
      );
      await systemClock.sleep(500);
      const twice = [...calls.values()].filter((n) => n > 1).length;
      expect({ status: done.status, total: (await store.installations!.get(job.id))!.total, twice }).toEqual({
        status: "completed",
        total: 20,
        twice: 0,
      });
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
