import { randomUUID } from "node:crypto";
import type { Clock } from "../../clock.js";
import type { Logger } from "../../log.js";
import { StoreError } from "../../store/errors.js";
import type { InstallationItem, InstallationJob, InstallationStore, Page } from "../../store/ports.js";
import type { DirectoryGraph } from "../audience/directory-graph.js";
import { canonicalUserId } from "../audience/rows.js";
import type { Installer, InstallScope } from "./installer.js";
import { installCodes } from "./refusal.js";

/**
 * `POST /v1/installations`: exactly one of users (ids, UPNs, emails), groups, teams (Entra group
 * ids), chats (group chat ids), all; always a tenant.
 */
export type InstallationRequest =
  | { users: string[]; tenantId: string }
  | { groups: string[]; tenantId: string }
  | { teams: string[]; tenantId: string }
  | { chats: string[]; tenantId: string }
  | { all: true; tenantId: string };

/** How long a job's lease lasts unless renewed, in ms: a job whose process died is taken up this long after. */
export const INSTALL_LEASE_MS = 30_000;

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
 * Installs the app for many users (or in many teams or group chats) ahead of a broadcast, as a
 * job: users come page by page (a list, groups' transitive members or the tenant's directory,
 * through Graph), each page is installed (the install step's budget and Retry-After handling) and
 * its outcomes written with the job's counts in one transaction, so `GET /v1/installations/{id}`
 * shows live counts.
 *
 * The process running a job holds a lease on it (renewed every third of INSTALL_LEASE_MS, given
 * up when it stops). `resume` takes the running jobs nobody holds, at start and then
 * periodically: a job left running by a process that stopped (or died) continues with the targets
 * that have no outcome yet; one already installed is not installed again.
 */
export class InstallationJobs {
  private readonly abort = new AbortController();
  private readonly running = new Map<string, Promise<void>>();
  /** Per running job, its stop: this process's, or the job's lease passing to another process. */
  private readonly stops = new Map<string, AbortController>();
  /** This process, as a lease owner. */
  readonly owner = `installer-${randomUUID()}`;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: InstallationJobsDeps) {}

  private iso(ms: number): string {
    return new Date(ms).toISOString();
  }

  async start(request: InstallationRequest, createdBy: string): Promise<InstallationJob> {
    const now = this.deps.clock.now();
    const job = await this.deps.store.create({
      id: `i_${randomUUID()}`,
      createdBy,
      tenantId: request.tenantId,
      audience: request,
      createdAt: this.iso(now),
      lease: { owner: this.owner, until: this.iso(now + INSTALL_LEASE_MS) },
    });
    this.launch(job.id, request, new Set());
    this.keepLeases();
    return job;
  }

  /**
   * Take up the running jobs no process holds (their process stopped), now and every third of
   * the lease from now on, until `stop`.
   */
  async resume(): Promise<void> {
    try {
      await this.resumeOnce();
    } finally {
      this.keepLeases();
    }
  }

  private keepLeases(): void {
    if (this.timer || this.abort.signal.aborted) return;
    this.timer = setInterval(() => {
      const now = this.deps.clock.now();
      void this.deps.store
        .renew(this.owner, this.iso(now + INSTALL_LEASE_MS), this.iso(now))
        .then((held) => {
          // A job whose lease another process took (this one's renewals failed, or its clock is
          // behind) stops here at once: the other process runs it now.
          const still = new Set(held);
          for (const [id, stop] of this.stops) if (!still.has(id)) stop.abort(new Error("lease lost"));
          return this.resumeOnce();
        })
        .catch((e: unknown) => this.deps.logger.warn({ err: (e as Error).message }, "installation job leases: renewal failed"));
    }, INSTALL_LEASE_MS / 3);
    this.timer.unref();
  }

  private async resumeOnce(): Promise<void> {
    if (this.abort.signal.aborted) return;
    const now = this.deps.clock.now();
    const jobs = await this.deps.store.claim(this.owner, this.iso(now), this.iso(now + INSTALL_LEASE_MS), 20);
    for (const job of jobs) {
      if (this.running.has(job.id)) continue;
      const request = job.audience as InstallationRequest;
      const done = new Set((await this.deps.store.targetsDone(job.id)).map(targetKey));
      this.deps.logger.info({ jobId: job.id, done: done.size }, "resuming an installation job left running");
      this.launch(job.id, request, done);
    }
  }

  private launch(jobId: string, request: InstallationRequest, done: Set<string>): void {
    const stop = new AbortController();
    const parent = this.abort.signal;
    const onStop = () => stop.abort(parent.reason);
    parent.addEventListener("abort", onStop, { once: true });
    this.stops.set(jobId, stop);
    const p = this.run(jobId, request, done, stop.signal).finally(() => {
      parent.removeEventListener("abort", onStop);
      this.running.delete(jobId);
      this.stops.delete(jobId);
    });
    this.running.set(jobId, p);
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

  /** Stop the running jobs, wait for them and give up their leases (the next Herald resumes them). */
  async stop(): Promise<void> {
    this.abort.abort(new Error("Herald is shutting down"));
    if (this.timer) clearInterval(this.timer);
    const ids = [...this.running.keys()];
    await Promise.allSettled([...this.running.values()]);
    await Promise.allSettled(ids.map((id) => this.deps.store.release(id, this.owner)));
  }

  private async run(jobId: string, request: InstallationRequest, done: Set<string>, signal: AbortSignal): Promise<void> {
    const { store, clock } = this.deps;
    const owner = this.owner;
    const scope: InstallScope = "teams" in request ? "team" : "chats" in request ? "chat" : "user";
    try {
      for await (const page of this.pages(request, signal)) {
        if (signal.aborted) return;
        const targets = page.filter((u) => !done.has(targetKey("unknown" in u ? u.unknown : u.id)));
        const outcomes = await Promise.all(
          targets.map(async (u): Promise<Omit<InstallationItem, "seq"> | undefined> => {
            const at = () => new Date(clock.now()).toISOString();
            if ("unknown" in u)
              return {
                userId: u.unknown,
                status: "refused",
                code: installCodes.userNotFound,
                message: `No user ${u.unknown} in the tenant's directory.`,
                at: at(),
              };
            const r = await this.deps.installer.installOne(request.tenantId, u.id, signal, scope);
            // Stopped before Graph answered: no outcome, so the next process installs it (a 409 if it went).
            if (signal.aborted && r.status === "failed") return undefined;
            return { userId: u.id, status: r.status, code: r.code, message: r.message, at: at() };
          }),
        );
        await store.record(
          jobId,
          outcomes.filter((o) => o !== undefined),
          owner,
        );
        if (signal.aborted) return;
      }
      if (signal.aborted) return;
      await store.finish(jobId, new Date(clock.now()).toISOString(), undefined, owner);
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof StoreError && e.code === "HERALD_E_INSTALL_LEASE_LOST") {
        this.deps.logger.warn({ jobId }, "installation job taken over by another process (this one's lease ended): stopped here");
        return;
      }
      this.deps.logger.warn({ jobId, err: (e as Error).message }, "installation job failed");
      await store.finish(jobId, new Date(clock.now()).toISOString(), (e as Error).message.slice(0, 500), owner).catch(() => undefined);
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
    if ("teams" in request || "chats" in request) {
      const named = "teams" in request ? request.teams : request.chats;
      const seenTargets = new Set<string>();
      const unique = named.filter((t) => !seenTargets.has(t.toLowerCase()) && seenTargets.add(t.toLowerCase()));
      for (let i = 0; i < unique.length; i += PAGE) yield unique.slice(i, i + PAGE).map((id) => ({ id }));
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

/** How a target is compared with the outcomes already stored (object ids in any letter case, UPNs). */
function targetKey(id: string): string {
  return id.includes("@") ? id.toLowerCase() : canonicalUserId(id);
}
