import { randomUUID } from "node:crypto";
import type { Clock } from "../../clock.js";
import type { Logger } from "../../log.js";
import type { InstallationItem, InstallationJob, InstallationStore, Page } from "../../store/ports.js";
import type { DirectoryGraph } from "../audience/directory-graph.js";
import { canonicalUserId } from "../audience/rows.js";
import type { Installer } from "./installer.js";
import { installCodes } from "./refusal.js";

/** `POST /v1/installations`: exactly one of users (ids, UPNs, emails), groups, all; always a tenant. */
export type InstallationRequest =
  | { users: string[]; tenantId: string }
  | { groups: string[]; tenantId: string }
  | { all: true; tenantId: string };

/** Users installed at once within a page (the tenant's install budget and wire limit still apply). */
const PAGE = 100;

export interface InstallationJobsDeps {
  store: InstallationStore;
  installer: Installer;
  graph: DirectoryGraph;
  clock: Clock;
  logger: Logger;
}

/**
 * Installs the app for many users ahead of a broadcast, as a job: users come page by page
 * (a list, groups' transitive members or the tenant's directory, through Graph), each page is
 * installed (the install step's budget and Retry-After handling) and its outcomes written with
 * the job's counts in one transaction, so `GET /v1/installations/{id}` shows live counts.
 * Runs in the process that accepted it; a job whose process stopped stays `running` (not resumed).
 */
export class InstallationJobs {
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly deps: InstallationJobsDeps) {}

  async start(request: InstallationRequest, createdBy: string): Promise<InstallationJob> {
    const now = new Date(this.deps.clock.now()).toISOString();
    const job = await this.deps.store.create({
      id: `i_${randomUUID()}`,
      createdBy,
      tenantId: request.tenantId,
      audience: request,
      createdAt: now,
    });
    const p = this.run(job.id, request).finally(() => this.running.delete(p));
    this.running.add(p);
    return job;
  }

  get(id: string): Promise<InstallationJob | undefined> {
    return this.deps.store.get(id);
  }

  items(id: string, after: number, limit: number): Promise<InstallationItem[]> {
    return this.deps.store.items(id, after, limit);
  }

  /** Jobs newest first (the tenants named, or all). */
  list(
    filter: { tenants?: readonly string[] | undefined },
    page: { cursor?: string | undefined; limit: number },
  ): Promise<Page<InstallationJob>> {
    return this.deps.store.list(filter, page);
  }

  /** Stop the running jobs and wait for them. */
  async stop(): Promise<void> {
    this.abort.abort(new Error("Herald is shutting down"));
    await Promise.allSettled([...this.running]);
  }

  private async run(jobId: string, request: InstallationRequest): Promise<void> {
    const { store, clock } = this.deps;
    const signal = this.abort.signal;
    try {
      for await (const users of this.pages(request, signal)) {
        if (signal.aborted) return;
        const outcomes = await Promise.all(
          users.map(async (u): Promise<Omit<InstallationItem, "seq">> => {
            const at = () => new Date(clock.now()).toISOString();
            if ("unknown" in u)
              return {
                userId: u.unknown,
                status: "refused",
                code: installCodes.userNotFound,
                message: `No user ${u.unknown} in the tenant's directory.`,
                at: at(),
              };
            const r = await this.deps.installer.installOne(request.tenantId, u.id, signal);
            return { userId: u.id, status: r.status, code: r.code, message: r.message, at: at() };
          }),
        );
        await store.record(jobId, outcomes);
      }
      await store.finish(jobId, new Date(clock.now()).toISOString());
    } catch (e) {
      this.deps.logger.warn({ jobId, err: (e as Error).message }, "installation job failed");
      await store.finish(jobId, new Date(clock.now()).toISOString(), (e as Error).message.slice(0, 500)).catch(() => undefined);
    }
  }

  /** The job's users page by page: ids as given (UPNs and emails resolved), group members, or the directory. */
  private async *pages(request: InstallationRequest, signal: AbortSignal): AsyncGenerator<({ id: string } | { unknown: string })[]> {
    const { graph } = this.deps;
    const tenantId = request.tenantId;
    if ("users" in request) {
      // One person named twice (a UPN and their object id, or one id in two letter cases) is
      // installed and counted once. Both sets are bounded by the request (at most 10,000 entries).
      const names = new Set<string>();
      const ids = new Set<string>();
      for (let i = 0; i < request.users.length; i += PAGE) {
        const page = request.users.slice(i, i + PAGE).filter((u) => {
          const key = u.includes("@") ? u.toLowerCase() : canonicalUserId(u);
          if (names.has(key)) return false;
          names.add(key);
          return true;
        });
        const resolved = await Promise.all(
          page.map(async (u) => {
            if (!u.includes("@")) return { id: u };
            const found = await graph.findUser(tenantId, u, signal);
            return found ? { id: found.id } : { unknown: u };
          }),
        );
        yield resolved.filter((r) => {
          if ("unknown" in r) return true;
          const key = canonicalUserId(r.id);
          if (ids.has(key)) return false;
          ids.add(key);
          return true;
        });
      }
      return;
    }
    const seen = new Set<string>();
    const starts = "groups" in request ? request.groups.map((g) => graph.groupMembersPath(g)) : [graph.usersPath()];
    for (const start of starts) {
      let path: string | undefined = start;
      while (path !== undefined) {
        const page = await graph.userPage(tenantId, path, signal);
        const fresh = page.users.filter((u) => !seen.has(u.id.toLowerCase()));
        for (const u of fresh) seen.add(u.id.toLowerCase());
        yield fresh.map((u) => ({ id: u.id }));
        path = page.next;
      }
    }
  }
}
