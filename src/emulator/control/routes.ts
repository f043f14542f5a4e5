import { z } from "zod";
import type { InstallScope } from "../bot/bot-side.js";
import { jobJson } from "../bot/jobs.js";
import type { EmulatorContext } from "../context.js";
import { EmulatorError } from "../errors.js";
import { checkFaults, type FaultSettings } from "../faults/faults.js";
import { sendJson } from "../http/io.js";
import type { Router } from "../http/router.js";
import { UserFlag } from "../org/model.js";
import { userJson } from "./inspect.js";
import { control, readBody } from "./respond.js";

const share = z.number().min(0).max(1).optional();
const faultsSchema = z
  .object({
    status412: share,
    status429: share,
    status500: share,
    status502: share,
    status503: share,
    status504: share,
    reset: share,
    slow: share,
    deliverReset: share,
    deliverLate: share,
    deliver502: share,
    deliver504: share,
    retryAfterSeconds: z.number().min(0).max(3600).optional(),
    count: z.number().int().min(1).optional(),
    method: z.enum(["GET", "POST", "PUT", "DELETE"]).optional(),
    slowMs: z.number().min(0).optional(),
    deliverLateMs: z.number().min(0).optional(),
    tenantId: z.string().min(1).optional(),
  })
  .strict();

const limitsSchema = z
  .object({
    enabled: z.boolean().optional(),
    timeScale: z.number().positive().optional(),
    tenantRps: z.number().min(0).optional(),
    retryAfterFormat: z.enum(["auto", "integer", "fractional"]).optional(),
    violationGraceMs: z.number().min(0).optional(),
  })
  .strict();

const who = z.union([z.string().min(1), z.number().int().min(0)]);
const scopeSchema = z.union([
  z.object({ users: z.array(who).min(1), wait: z.boolean().optional(), rate: z.number().min(0).optional() }).strict(),
  z.object({ tenantId: z.string().min(1), wait: z.boolean().optional(), rate: z.number().min(0).optional() }).strict(),
  z.object({ all: z.literal(true), wait: z.boolean().optional(), rate: z.number().min(0).optional() }).strict(),
  z
    .object({
      teamId: z.string().min(1),
      channelId: z.string().optional(),
      installedBy: z.string().optional(),
      wait: z.boolean().optional(),
    })
    .strict(),
  z.object({ chatId: z.string().min(1), installedBy: z.string().optional(), wait: z.boolean().optional() }).strict(),
]);

const messageSchema = z
  .object({
    from: who,
    text: z.string(),
    conversationId: z.string().optional(),
    teamId: z.string().optional(),
    channelId: z.string().optional(),
    chatId: z.string().optional(),
    replyToId: z.string().optional(),
  })
  .strict();

const memberSchema = z.object({ user: who, by: who.optional(), times: z.number().int().min(1).max(10).optional() }).strict();
const removeSchema = z.object({ by: who.optional(), times: z.number().int().min(1).max(10).optional() }).strict();

const invokeSchema = z
  .object({
    from: who,
    replyToId: z.string().min(1),
    conversationId: z.string().optional(),
    verb: z.string().optional(),
    data: z.unknown().optional(),
    actionId: z.string().optional(),
  })
  .strict();

const crowdTarget = {
  users: z.array(who).min(1).max(100_000),
  conversationId: z.string().min(1).optional(),
  replyToId: z.string().min(1).optional(),
};
const invokesSchema = z
  .object({ ...crowdTarget, verb: z.string().min(1), data: z.unknown().optional(), withBody: z.boolean().optional() })
  .strict();
const reactionsSchema = z
  .object({
    ...crowdTarget,
    types: z.array(z.string().min(1).max(100)).min(1).default(["like"]),
    action: z.enum(["add", "remove"]).default("add"),
  })
  .strict();
const readsSchema = z.object({ users: z.array(who).min(1).max(100_000), lastReadMessageId: z.string().min(1).optional() }).strict();

/**
 * Control API (JSON under `/_emulator`): faults, limits, tenants' admin switch, users'
 * blocked/uninstalled state, the bot endpoint, installs/uninstalls as jobs, and user actions
 * (message, card button, read receipt). See docs in index.ts for the full list.
 */
export function registerControl(router: Router, ctx: EmulatorContext): void {
  const setFaults = control((call) => {
    const body = readBody(call, faultsSchema) as FaultSettings;
    const problem = checkFaults(body);
    if (problem) throw new EmulatorError(400, "HERALD_E_EMULATOR_BAD_REQUEST", problem);
    let tenant = -1;
    if (body.tenantId) {
      const t = ctx.org.tenantByIdOrDomain(body.tenantId);
      if (!t) throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_TENANT", `No tenant ${body.tenantId}.`);
      tenant = t.index;
    }
    ctx.faults.set(body, tenant);
    return ctx.faults.current;
  });
  router.add(
    "GET",
    "/_emulator/faults",
    control(() => ctx.faults.current),
  );
  router.add("PUT", "/_emulator/faults", setFaults);
  router.add("POST", "/_emulator/faults", setFaults);
  router.add(
    "DELETE",
    "/_emulator/faults",
    control(() => {
      ctx.faults.set({});
      return ctx.faults.current;
    }),
  );

  router.add(
    "GET",
    "/_emulator/limits",
    control(() => ctx.limits.settings),
  );
  router.add(
    "PATCH",
    "/_emulator/limits",
    control((call) => {
      const patch = readBody(call, limitsSchema);
      const clean = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      ctx.limits.configure(clean);
      return ctx.limits.settings;
    }),
  );

  router.add(
    "POST",
    "/_emulator/stats/reset",
    control(() => {
      ctx.counters.reset();
      return undefined;
    }),
  );

  router.add(
    "PATCH",
    "/_emulator/tenants/:tenant",
    control((call) => {
      const t = ctx.org.tenantByIdOrDomain(call.params[0]!);
      if (!t) throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_TENANT", `No tenant ${call.params[0]}.`);
      const body = readBody(call, z.object({ botDisabled: z.boolean() }).strict());
      ctx.state.tenantDisabled[t.index] = body.botDisabled ? 1 : 0;
      return { id: t.id, botDisabled: body.botDisabled };
    }),
  );

  router.add(
    "PATCH",
    "/_emulator/users/:user",
    control((call) => {
      const user = ctx.bot.user(call.params[0]!);
      const body = readBody(call, z.object({ blocked: z.boolean().optional(), uninstalled: z.boolean().optional() }).strict());
      if (body.blocked !== undefined) ctx.state.setFlag(user.index, UserFlag.blocked, body.blocked);
      if (body.uninstalled !== undefined) ctx.state.setFlag(user.index, UserFlag.uninstalled, body.uninstalled);
      return userJson(ctx, user);
    }),
  );

  router.add(
    "GET",
    "/_emulator/bot",
    control(() => ({ endpoint: ctx.bot.endpoint ?? null, appId: ctx.appId })),
  );
  router.add(
    "PUT",
    "/_emulator/bot",
    control((call) => {
      const body = readBody(call, z.object({ endpoint: z.url().nullable() }).strict());
      ctx.bot.setEndpoint(body.endpoint ?? undefined);
      return { endpoint: ctx.bot.endpoint ?? null, appId: ctx.appId };
    }),
  );

  for (const [path, action] of [
    ["/_emulator/install", "add"],
    ["/_emulator/uninstall", "remove"],
  ] as const) {
    router.add(
      "POST",
      path,
      control(async (call) => {
        const { wait, rate, ...scope } = readBody(call, scopeSchema) as { wait?: boolean; rate?: number };
        const job = ctx.bot.install(scope as InstallScope, action, rate ?? 0);
        if (!wait) {
          sendJson(call.res, 202, jobJson(job));
          return;
        }
        await job.finished;
        return jobJson(job);
      }),
    );
  }
  // Someone joins or leaves a team after the app was installed there (issue 15).
  router.add(
    "POST",
    "/_emulator/teams/:team/members",
    control((call) => ctx.bot.teamMember({ teamId: call.params[0]!, ...readBody(call, memberSchema) }, "add")),
  );
  router.add(
    "DELETE",
    "/_emulator/teams/:team/members/:user",
    control((call) => ctx.bot.teamMember({ teamId: call.params[0]!, user: call.params[1]!, ...readBody(call, removeSchema) }, "remove")),
  );
  router.add(
    "GET",
    "/_emulator/jobs",
    control(() => ({ jobs: ctx.bot.jobs.list().map(jobJson) })),
  );
  router.add(
    "GET",
    "/_emulator/jobs/:job",
    control((call) => {
      const job = ctx.bot.jobs.get(call.params[0]!);
      if (!job) throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_JOB", `No job ${call.params[0]}.`);
      return jobJson(job);
    }),
  );
  router.add(
    "DELETE",
    "/_emulator/jobs/:job",
    control((call) => {
      if (!ctx.bot.jobs.cancel(call.params[0]!))
        throw new EmulatorError(404, "HERALD_E_EMULATOR_UNKNOWN_JOB", `No running job ${call.params[0]}.`);
      return jobJson(ctx.bot.jobs.get(call.params[0]!)!);
    }),
  );

  router.add(
    "POST",
    "/_emulator/messages",
    control((call) => ctx.bot.message(readBody(call, messageSchema))),
  );
  router.add(
    "POST",
    "/_emulator/invoke",
    control((call) => ctx.bot.invoke(readBody(call, invokeSchema))),
  );
  // Many users at once (issue 10): card presses, reactions, read receipts; answers counted by status.
  router.add(
    "POST",
    "/_emulator/invokes",
    control((call) => ctx.bot.invokes(readBody(call, invokesSchema))),
  );
  router.add(
    "POST",
    "/_emulator/reactions",
    control((call) => ctx.bot.reactions(readBody(call, reactionsSchema))),
  );
  router.add(
    "POST",
    "/_emulator/reads",
    control((call) => {
      const body = readBody(call, readsSchema);
      return ctx.bot.readMany(body.users, body.lastReadMessageId);
    }),
  );
  router.add(
    "POST",
    "/_emulator/read",
    control((call) => {
      const body = readBody(call, z.object({ from: who, lastReadMessageId: z.string().optional() }).strict());
      return ctx.bot.read(body.from, body.lastReadMessageId);
    }),
  );
}
