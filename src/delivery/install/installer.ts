import { randomUUID } from "node:crypto";
import type { Clock } from "../../clock.js";
import type { TeamsAppGraph } from "../../graph/apps.js";
import { GraphError } from "../../graph/errors.js";
import type { Logger } from "../../log.js";
import type { ConversationStore, WelcomeStore } from "../../store/ports.js";
import { type BucketKey, type RateLimiter, tenantPolicy } from "../limits/index.js";
import type { Job, RowError } from "../model.js";
import { scalePolicy } from "../policies.js";
import type { DirectoryNames } from "./names.js";
import { installCodes, judgeInstall } from "./refusal.js";
import { type WelcomeWatch, welcomeFirst } from "./welcome-first.js";

/**
 * Installs are paced this much below Graph's rate: Graph counts an exact number in any window, and
 * arrival jitter (a busy process at either end) bunched installs paced at exactly 30/s into a few
 * 429s (12 per 10,000 users on a quiet machine). With the window 10 % longer (27 a second), none
 * (bench/install.js --users 10000, 2026-12-04); the tenant's sends, not its installs, bound a
 * broadcast's pace anyway (2 sends per person at 50/s).
 */
const INSTALL_WINDOW_GUARD = 1.1;

/** How soon a row released while another row's install for the same person runs is claimed again, in ms. */
const WELCOME_RECHECK_MS = 200;

/**
 * How long an install step's lease on its person lasts at most (install_leases), in ms: the
 * step's Graph calls plus its wait for the welcome (at most twice welcomeWaitMs), with room. A
 * process that dies mid-step frees the person after this.
 */
const INSTALL_LEASE_MS = 60_000;

const iso = (ms: number): string => new Date(ms).toISOString();

/** What the install step decided for a job that has no conversation yet. */
export type InstallStep =
  /** Not a Graph recipient (a Teams `29:` id): create the chat through the Connector as before. */
  | { kind: "skip" }
  /** The app is installed (now or before): send to this 1:1 chat. */
  | { kind: "chat"; conversationId: string; installed: boolean; aadObjectId: string; serviceUrl?: string | undefined }
  /** Not now (the tenant's install budget, Graph's Retry-After): back to the pool until `until`, no attempt used. */
  | { kind: "wait"; until: number; error?: RowError | undefined }
  /** Graph failed in a way that may pass (5xx, network): counts as an attempt. */
  | { kind: "retry"; delayMs: number; error: RowError }
  /** Graph refused for good: the row ends with this status and code. */
  | { kind: "refused"; status: "failed" | "notFound"; error: RowError };

export interface InstallerDeps {
  apps: TeamsAppGraph;
  conversations: Pick<ConversationStore, "findPersonal" | "get">;
  limiter: RateLimiter;
  clock: Clock;
  logger: Logger;
  /** The welcome holds to wait for (unset: quiet, the host bot welcomes unseen; then the install events are waited for). */
  welcomes?: WelcomeWatch | undefined;
  /** Where the install step leaves the recipient's name for the welcome (no member read needed). */
  names?: DirectoryNames | undefined;
  /** Graph's app installs per second per tenant (about 30 per app per tenant), paced 10 % below (INSTALL_WINDOW_GUARD). Default 30. */
  installRps?: number | undefined;
  /** Emulator time scale (divides the install window). Default 1. */
  timeScale?: number | undefined;
  /** How long to wait for the welcome an install triggers before sending anyway, in ms. Default 10 000. */
  welcomeWaitMs?: number | undefined;
  /**
   * Install requests of one tenant on the wire at once. Default 4. Every one already sent when
   * Graph answers 429 arrives inside the Retry-After: 1 makes that impossible, at the cost of
   * one round trip per install.
   */
  installConcurrency?: number | undefined;
  /** Wait inline for the tenant's install budget up to this long; longer waits go back to the pool. Default 2 000. */
  inlineWaitMs?: number | undefined;
}

/** What installing for one target came to (an installation job's row). */
export type InstallOutcome = { status: "installed" | "alreadyInstalled" | "refused" | "failed"; code?: string; message?: string };

/** Where an installation job installs the app: for a user, in a team, in a group chat. */
export type InstallScope = "user" | "team" | "chat";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The Graph id of a recipient: an Entra object id, or a UPN/email; undefined for Teams ids. */
export function graphIdOf(job: Pick<Job, "targetId" | "user">): string | undefined {
  const aad = job.user?.aadObjectId;
  if (aad && (GUID.test(aad) || aad.includes("@"))) return aad;
  const t = job.targetId;
  if (t && !t.startsWith("29:") && !t.startsWith("8:") && (GUID.test(t) || t.includes("@"))) return t;
  return undefined;
}

/**
 * Proactive installation (protocol reference, section 7), the step before a send to a user
 * Herald has no chat with:
 * 1. a chat Herald learnt meanwhile (the install events of an earlier attempt) is used as it is;
 * 2. the app is installed for the user through Graph, within the tenant's own install budget
 *    (`install:<tenant>`, apart from the message buckets, so installs never slow sends), 409
 *    meaning already installed;
 * 3. the user's chat with the bot comes from the installation (`.../installedApps/{id}/chat`);
 * 4. after a new install Teams sends the bot its install events and the bot endpoint sends the
 *    welcome: the step waits for that welcome (welcomeFirst: the hold the install event put in the
 *    store, any process), so the person sees the welcome and then the message, one of each. A
 *    409 triggers no events and no welcome (but waits for a welcome still on its way).
 */
export class Installer {
  private readonly bucketPolicy;
  /** Per tenant, the chain of jobs waiting for an install slot (first come, first served). */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** Per tenant, install requests on the wire and the jobs waiting to send theirs. */
  private readonly wire = new Map<string, { busy: number; waiting: (() => void)[] }>();
  /**
   * Per tenant and person, the install step in progress in this process: a second row for the
   * same person (another notification) waits for it instead of installing beside it, whose 409
   * would send its message before the first install's welcome.
   */
  private readonly installing = new Set<string>();
  /** This Installer's name on the install leases it takes (one per process), and its steps' count. */
  private readonly owner = `installer:${randomUUID()}`;
  private leases = 0;

  constructor(private readonly deps: InstallerDeps) {
    const graphRate = tenantPolicy(deps.installRps ?? 30);
    this.bucketPolicy = scalePolicy(
      graphRate.map((w) => ({ ...w, windowMs: w.windowMs * INSTALL_WINDOW_GUARD })),
      deps.timeScale ?? 1,
    );
  }

  /**
   * The person's chat as the install events recorded it: by the chat id Graph gave, else the
   * person's active personal chat (Graph names the chat `19:…@unq.gbl.spaces`, the install event
   * may name it `a:…`: the welcome and its hold use the latter).
   */
  private async recordedChat(tenantId: string, graphId: string, chat: string) {
    const byId = await this.deps.conversations.get(chat);
    if (byId) return byId;
    const mine = GUID.test(graphId) ? await this.deps.conversations.findPersonal(tenantId, graphId) : undefined;
    return mine?.status === "active" ? mine : undefined;
  }

  /** Resolves once no welcome is on its way into `conversationId` (welcomeFirst); false when an install (`installedAt`) saw none come. */
  private welcomeFirst(
    conversationId: string | (() => Promise<string>),
    installedAt: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<boolean> {
    const watch = this.deps.welcomes;
    return watch ? welcomeFirst(watch, conversationId, installedAt, signal) : Promise.resolve(true);
  }

  /** The tenant's install bucket: its own, never a message bucket. */
  bucket(tenantId: string): BucketKey {
    return { key: `install:${tenantId}`, policy: this.bucketPolicy };
  }

  async prepare(job: Job, signal?: AbortSignal): Promise<InstallStep> {
    const graphId = graphIdOf(job);
    if (!graphId || !job.tenantId) return { kind: "skip" };
    const { clock } = this.deps;
    const tenantId = job.tenantId;
    try {
      const person = `${tenantId}|${graphId}`.toLowerCase();
      // Another row's install for this person is under way: its chat may already be stored (the
      // install events come before the welcome is stored), so a message sent now could overtake
      // the welcome. Wait for that step to end (test/reach/welcome-order: "SWF" seen before).
      if (this.installing.has(person)) return { kind: "wait", until: clock.now() + WELCOME_RECHECK_MS };
      const known = GUID.test(graphId) ? await this.deps.conversations.findPersonal(tenantId, graphId) : undefined;
      if (known && known.status === "active") {
        // The welcome of an install an earlier step made is stored and not sent yet: let it go first.
        await this.welcomeFirst(known.id, undefined, signal);
        return { kind: "chat", conversationId: known.id, installed: false, aadObjectId: graphId, serviceUrl: known.serviceUrl };
      }
      if (this.installing.has(person)) return { kind: "wait", until: clock.now() + WELCOME_RECHECK_MS };
      if (job.user?.name && GUID.test(graphId)) this.deps.names?.remember(tenantId, graphId, job.user.name);
      this.installing.add(person);
      try {
        // The same across processes: another one's step for this person goes first (install_leases).
        const leases = this.deps.welcomes?.holds;
        const owner = this.leaseOwner();
        if (leases && !(await this.claimLease(leases, person, owner))) return { kind: "wait", until: clock.now() + WELCOME_RECHECK_MS };
        try {
          return await this.installFor(tenantId, graphId, signal);
        } finally {
          await leases?.releaseInstall(person, owner).catch(() => undefined); // else it ends by its time
        }
      } finally {
        this.installing.delete(person);
      }
    } catch (e) {
      return this.judged(e, tenantId, graphId, signal);
    }
  }

  /** Steps 2 to 4 of `prepare` for one person (no chat known yet). */
  private async installFor(tenantId: string, graphId: string, signal: AbortSignal | undefined): Promise<InstallStep> {
    const { apps, clock } = this.deps;
    try {
      const catalogId = await apps.catalogId(tenantId, signal);
      if (!catalogId)
        return {
          kind: "refused",
          status: "failed",
          error: {
            code: installCodes.notInCatalog,
            message:
              "The tenant's app catalog has no app with the bot's id (externalId = HERALD_APP_ID): upload the package from `herald app-package`, or set HERALD_TEAMS_APP_ID.",
          },
        };
      const graphThrottle = apps.graph.throttledUntil(tenantId);
      if (graphThrottle > clock.now()) return { kind: "wait", until: graphThrottle };
      await this.enterWire(tenantId);
      let answer: Awaited<ReturnType<typeof apps.installForUser>>;
      const started = clock.now();
      try {
        const slot = await this.slot(tenantId, signal);
        if (slot !== 0) return { kind: "wait", until: slot };
        // Graph may have throttled the tenant while this job waited: no request before its Retry-After.
        const throttledNow = apps.graph.throttledUntil(tenantId);
        if (throttledNow > clock.now()) return { kind: "wait", until: throttledNow };
        answer = await apps.installForUser(tenantId, graphId, catalogId, signal);
      } finally {
        this.leaveWire(tenantId);
      }
      // Outside the install budget on purpose: Graph counts these GETs in their own per-app,
      // per-tenant limits ("GET installedApps" 30 rps, "other GET" 30 rps; the POST's is "POST
      // installedApps" 30 rps), and one of each follows each POST, so at the budget's 30/s they
      // stay within theirs. Counting them in `install:` would halve the install rate for nothing;
      // a 429 on them still pauses the tenant's Graph calls (GraphClient.throttledUntil). The
      // catalog lookup is made once per tenant (TeamsAppGraph.catalogId).
      const chat = await apps.personalChatId(tenantId, graphId, catalogId, signal);
      if (!chat)
        return {
          kind: "retry",
          delayMs: 1_000,
          error: { code: installCodes.unavailable, message: "Graph installed the app but listed no installation with a chat yet." },
        };
      // The welcome goes first: after a new install, the one its install event asks for (whichever
      // process's bot endpoint took it); after a 409, one still on its way, and, when no install
      // event was recorded for the person yet, the one an install made moments ago (another
      // step's whose lease ran out, an admin's) may still ask for. No send slot is held.
      const welcomeChat = () => this.recordedChat(tenantId, graphId, chat);
      if (this.deps.welcomes) {
        const since = answer === "installed" ? started : (await welcomeChat()) ? undefined : clock.now();
        const seen = await this.welcomeFirst(async () => (await welcomeChat())?.id ?? chat, since, signal);
        if (!seen && answer === "installed")
          this.deps.logger.info({ tenantId, conversationId: chat }, "no welcome seen after the install; sending the message anyway");
      }
      // The install events (when they came) carry the chat's serviceUrl: better than the tenant's guess.
      // Without a welcome to watch (quiet: the host bot welcomes), wait for those events instead.
      const recorded =
        answer === "installed" && !this.deps.welcomes
          ? await this.recorded(chat, this.deps.welcomeWaitMs ?? 10_000, signal)
          : await welcomeChat();
      return {
        kind: "chat",
        conversationId: chat,
        installed: answer === "installed",
        aadObjectId: graphId,
        serviceUrl: recorded?.serviceUrl,
      };
    } catch (e) {
      return this.judged(e, tenantId, graphId, signal);
    }
  }

  private async judged(e: unknown, tenantId: string, graphId: string, signal: AbortSignal | undefined): Promise<InstallStep> {
    const { clock } = this.deps;
    {
      const v = judgeInstall(e, graphId);
      if (v.kind === "refused") return v;
      if (v.kind === "throttled") {
        const until = clock.now() + v.retryAfterMs;
        await this.deps.limiter.block(this.bucket(tenantId).key, until).catch(() => undefined);
        return { kind: "wait", until, error: v.error };
      }
      if (signal?.aborted) return { kind: "wait", until: clock.now() };
      return { kind: "retry", delayMs: 2_000, error: v.error };
    }
  }

  /**
   * Install the app for one user (an installation job): waits out the tenant's budget and any
   * Retry-After itself, tries transient failures up to 5 times, and reports the outcome.
   */
  async installOne(tenantId: string, userId: string, signal?: AbortSignal, scope: InstallScope = "user"): Promise<InstallOutcome> {
    const leases = scope === "user" ? this.deps.welcomes?.holds : undefined;
    if (!leases) return this.installNow(tenantId, userId, signal, scope);
    const { clock } = this.deps;
    // While this job installs for the person, no message step installs beside it (install_leases).
    const person = `${tenantId}|${userId}`.toLowerCase();
    const owner = this.leaseOwner();
    while (!(await this.claimLease(leases, person, owner))) {
      if (signal?.aborted) return { status: "failed", code: installCodes.unavailable, message: "Stopped before the install." };
      await clock.sleep(WELCOME_RECHECK_MS, signal).catch(() => undefined);
    }
    let outcome: InstallOutcome | undefined;
    try {
      outcome = await this.installNow(tenantId, userId, signal, scope);
      return outcome;
    } finally {
      // After a new install Teams' install event (and so the welcome's hold) may still be on its
      // way: a message step for the person waits that long too, then finds the hold or the chat.
      const keep = outcome?.status === "installed" ? iso(clock.now() + (this.deps.welcomeWaitMs ?? 10_000)) : undefined;
      await leases.releaseInstall(person, owner, keep).catch(() => undefined);
    }
  }

  private async installNow(
    tenantId: string,
    userId: string,
    signal: AbortSignal | undefined,
    scope: InstallScope,
  ): Promise<InstallOutcome> {
    const { apps, clock } = this.deps;
    let catalogId: string | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        catalogId ??= await apps.catalogId(tenantId, signal);
        if (!catalogId)
          return {
            status: "refused",
            code: installCodes.notInCatalog,
            message:
              "The tenant's app catalog has no app with the bot's id: upload the package from `herald app-package`, or set HERALD_TEAMS_APP_ID.",
          };
        const wait = apps.graph.throttledUntil(tenantId) - clock.now();
        if (wait > 0) await clock.sleep(wait, signal);
        await this.enterWire(tenantId);
        let answer: Awaited<ReturnType<typeof apps.installForUser>> | undefined;
        try {
          const slot = await this.slot(tenantId, signal);
          if (slot === 0 && apps.graph.throttledUntil(tenantId) <= clock.now())
            answer =
              scope === "user"
                ? await apps.installForUser(tenantId, userId, catalogId, signal)
                : await apps.installIn(tenantId, scope, userId, catalogId, signal);
        } finally {
          this.leaveWire(tenantId);
        }
        if (answer) return { status: answer };
        if (signal?.aborted) return { status: "failed", code: installCodes.unavailable, message: "Stopped before the install." };
        attempt--; // no slot yet: not an attempt
        await clock.sleep(Math.max(1, Math.min(1_000, apps.graph.throttledUntil(tenantId) - clock.now())), signal).catch(() => undefined);
      } catch (e) {
        if (scope !== "user" && e instanceof GraphError && e.status === 404)
          return {
            status: "refused",
            code: installCodes.targetNotFound,
            message:
              `Graph knows no ${scope === "team" ? "team" : "group chat"} ${userId} in this tenant${scope === "team" ? " (name a team by its Entra group id)" : ""}. ${e.message}`.slice(
                0,
                600,
              ),
          };
        const v = judgeInstall(e, userId, scope);
        if (v.kind === "refused") return { status: "refused", code: v.error.code, message: v.error.message };
        if (signal?.aborted) return { status: "failed", code: installCodes.unavailable, message: "Stopped before the install." };
        if (v.kind === "throttled") {
          attempt--;
          const until = clock.now() + v.retryAfterMs;
          await this.deps.limiter.block(this.bucket(tenantId).key, until).catch(() => undefined);
          continue;
        }
        if (attempt >= 5) return { status: "failed", code: v.error.code, message: v.error.message };
        await clock.sleep(1_000 * 2 ** (attempt - 1), signal).catch(() => undefined);
      }
    }
  }

  /** A lease owner of its own for each step: two steps of this process exclude each other as two processes' do. */
  private leaseOwner(): string {
    return `${this.owner}:${++this.leases}`;
  }

  /** Take the install lease on `person` for INSTALL_LEASE_MS; false while another step holds it. */
  private claimLease(leases: WelcomeStore, person: string, owner: string): Promise<boolean> {
    const now = this.deps.clock.now();
    return leases.claimInstall(person, owner, iso(now + INSTALL_LEASE_MS), iso(now));
  }

  /** The chat's record once the install events stored it (polled), or undefined after `timeoutMs`. */
  private async recorded(chat: string, timeoutMs: number, signal: AbortSignal | undefined) {
    const { clock, conversations } = this.deps;
    const deadline = clock.now() + timeoutMs;
    for (;;) {
      const r = await conversations.get(chat);
      if (r || clock.now() >= deadline || signal?.aborted) return r;
      await clock.sleep(Math.min(100, deadline - clock.now()), signal).catch(() => undefined);
    }
  }

  private async enterWire(tenantId: string): Promise<void> {
    const limit = Math.max(1, this.deps.installConcurrency ?? 4);
    let w = this.wire.get(tenantId);
    if (!w) {
      w = { busy: 0, waiting: [] };
      this.wire.set(tenantId, w);
    }
    if (w.busy < limit) {
      w.busy++;
      return;
    }
    const entry = w;
    await new Promise<void>((resolve) => entry.waiting.push(resolve));
  }

  private leaveWire(tenantId: string): void {
    const w = this.wire.get(tenantId);
    if (!w) return;
    const next = w.waiting.shift();
    if (next)
      next(); // the slot passes on: busy stays the same
    else if (--w.busy === 0) this.wire.delete(tenantId);
  }

  /**
   * An install slot of the tenant: 0 when taken, else when to try again. Jobs of one tenant
   * queue for it in order, waiting inline up to `inlineWaitMs`.
   */
  private slot(tenantId: string, signal: AbortSignal | undefined): Promise<number> {
    const previous = this.queues.get(tenantId) ?? Promise.resolve();
    const mine = previous.then(() => this.take(tenantId, signal));
    const tail = mine.catch(() => undefined);
    this.queues.set(tenantId, tail);
    void tail.then(() => {
      if (this.queues.get(tenantId) === tail) this.queues.delete(tenantId);
    });
    return mine;
  }

  private async take(tenantId: string, signal: AbortSignal | undefined): Promise<number> {
    const { limiter, clock } = this.deps;
    const limit = clock.now() + (this.deps.inlineWaitMs ?? 2_000);
    for (;;) {
      const now = clock.now();
      const wait = await limiter.tryAcquire([this.bucket(tenantId)], now);
      if (wait === 0) return 0;
      if (now + wait > limit || signal?.aborted) return now + wait;
      await clock.sleep(wait, signal).catch(() => undefined);
    }
  }
}
