import type { EmulatorContext } from "../context.js";
import { UserFlag } from "../org/model.js";
import { C } from "../store/counters.js";
import { type ConversationRef, resolveConversation } from "./conversation.js";
import { deliver } from "./deliver.js";
import { errors } from "./errors.js";
import { uninstalledError } from "./gate.js";

/** One entry of a batch: whom it is for, as the operation names it. */
export type BatchTarget = { kind: "user"; raw: string; user: number } | { kind: "channel"; raw: string };

export type BatchState = "InProgress" | "Completed" | "Canceled";

export interface BatchOperation {
  id: string;
  tenant: number;
  kind: "users" | "tenant" | "team" | "channels";
  state: BatchState;
  total: number;
  processed: number;
  /** HTTP status of each processed entry → count. */
  statusMap: Map<number, number>;
  failed: { id: string; error: string }[];
  failedTotal: number;
  createdAt: number;
}

/** Entries processed per turn of the event loop (keeps the Connector responsive during a 1M batch). */
const CHUNK = 2_000;
/** Failed entries kept per operation (counts stay exact beyond it). */
const FAILED_MAX = 100_000;
/** Operations remembered; the oldest finished ones are forgotten first. */
const OPERATIONS_MAX = 1_000;

/**
 * Teams' bulk messaging: an operation sends one activity to many users or channels in the
 * background; its state, status counts and failed entries can be read, and it can be canceled.
 */
export class BatchOperations {
  private readonly ops = new Map<string, BatchOperation>();
  private seq = 0;
  /**
   * Test hook: an operation processes at most this many entries, then stays `InProgress` until
   * it is canceled (`DELETE`) or the hook is cleared; undefined (default) = no stall. Lets a test
   * cancel an operation midway, as a large one on Teams can be.
   */
  stallAfter: number | undefined = undefined;
  /**
   * Test hook: the state answer carries no status counts (`statusMap: {}`, no `stateMap`), which
   * the protocol allows: a client must then learn who failed from the failed entries alone.
   * Default false (both maps, counted).
   */
  stateWithoutCounts = false;

  constructor(private readonly ctx: EmulatorContext) {}

  get(id: string): BatchOperation | undefined {
    return this.ops.get(id);
  }

  /** Start an operation over `total` entries; `target(k)` names entry k. */
  start(
    kind: BatchOperation["kind"],
    tenant: number,
    total: number,
    target: (k: number) => BatchTarget,
    activity: Record<string, unknown>,
  ): BatchOperation {
    const now = this.ctx.clock.now();
    const id = `${kind}-${now.toString(36)}-${(++this.seq).toString(36)}`;
    const op: BatchOperation = {
      id,
      tenant,
      kind,
      state: "InProgress",
      total,
      processed: 0,
      statusMap: new Map(),
      failed: [],
      failedTotal: 0,
      createdAt: now,
    };
    this.remember(op);
    this.ctx.counters.inc(tenant, C.batchOperations);
    const json = JSON.stringify(activity);
    const step = () => {
      if (op.state !== "InProgress") return;
      const stop = this.stallAfter === undefined ? op.total : Math.min(op.total, this.stallAfter);
      if (op.processed >= stop) {
        setTimeout(step, 10).unref();
        return;
      }
      const end = Math.min(stop, op.processed + CHUNK);
      for (let k = op.processed; k < end; k++) this.entry(op, target(k), activity, json);
      op.processed = end;
      if (op.processed >= op.total) op.state = "Completed";
      else if (op.processed >= stop) setTimeout(step, 10).unref();
      else setImmediate(step);
    };
    setImmediate(step);
    return op;
  }

  cancel(op: BatchOperation): void {
    if (op.state === "InProgress") op.state = "Canceled";
  }

  private remember(op: BatchOperation): void {
    if (this.ops.size >= OPERATIONS_MAX) {
      for (const [id, old] of this.ops) {
        if (old.state !== "InProgress") {
          this.ops.delete(id);
          break;
        }
      }
    }
    this.ops.set(op.id, op);
  }

  private entry(op: BatchOperation, t: BatchTarget, activity: Record<string, unknown>, json: string): void {
    const ctx = this.ctx;
    ctx.counters.inc(op.tenant, C.batchEntries);
    let ref: ConversationRef | undefined;
    let error: { status: number; code: string } | undefined;
    if (t.kind === "user") {
      if (t.user < 0 || ctx.org.tenantOfUser(t.user) !== op.tenant) error = errors.conversationNotFound;
      else {
        const flags = ctx.state.userFlags[t.user] ?? 0;
        if (flags & UserFlag.blocked) error = errors.messageWritesBlocked;
        else if (flags & UserFlag.uninstalled) error = uninstalledError(ctx, t.user);
        else
          ref = {
            kind: "personal",
            id: ctx.org.personalConversationId(t.user),
            tenant: op.tenant,
            user: t.user,
            limitKey: t.user,
            thread: undefined,
          };
        if (error === errors.messageWritesBlocked) ctx.counters.inc(op.tenant, C.blocked);
        else if (error) ctx.counters.inc(op.tenant, C.uninstalled);
      }
    } else {
      const r = resolveConversation(ctx.org, t.raw);
      if (r?.kind !== "channel" || r.thread !== undefined || r.tenant !== op.tenant) error = errors.conversationNotFound;
      else if (ctx.state.teamRemoved[r.team.index]) error = errors.botNotInConversationRoster;
      else ref = r;
    }
    if (ref) {
      deliver(ctx, ref, activity, json, undefined);
      op.statusMap.set(201, (op.statusMap.get(201) ?? 0) + 1);
      return;
    }
    const e = error ?? errors.internal;
    op.statusMap.set(e.status, (op.statusMap.get(e.status) ?? 0) + 1);
    op.failedTotal++;
    ctx.counters.inc(op.tenant, C.batchFailed);
    if (op.failed.length < FAILED_MAX) op.failed.push({ id: t.raw, error: e.code });
  }
}
