import type { Clock } from "../clock.js";
import type { Logger } from "../log.js";
import type { DeliveryRef } from "../store/responses.js";

/**
 * The shared cards of channel posts, updated with the running totals (`PUT` on the activity),
 * coalesced: at most one update per conversation per `intervalMs`, however many votes arrive. The
 * last totals always land: a vote that arrives while an update is on its way schedules the next
 * one, a failed update is tried again later, and the store remembers what each card last showed
 * (`cardShown`), so a restart finds the updates still owed (`staleCards`) and sends them.
 */
export interface ChannelCardDeps {
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  /** PUT the card with the totals as stored now; returns the number of answers it showed. */
  update(ref: DeliveryRef): Promise<number>;
}

interface Slot {
  /** Deliveries of this conversation whose card is owed an update. */
  pending: Map<string, DeliveryRef>;
  timer: NodeJS.Timeout | undefined;
  running: boolean;
  lastAt: number;
  failures: number;
}

export class ChannelCards {
  private readonly slots = new Map<string, Slot>();
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: ChannelCardDeps) {}

  /** A vote changed the totals of `ref`'s card. */
  touch(ref: DeliveryRef): void {
    if (this.stopped) return;
    let slot = this.slots.get(ref.conversationId);
    if (!slot) {
      slot = { pending: new Map(), timer: undefined, running: false, lastAt: Number.NEGATIVE_INFINITY, failures: 0 };
      this.slots.set(ref.conversationId, slot);
    }
    slot.pending.set(`${ref.notificationId}/${ref.seq}`, ref);
    this.arm(ref.conversationId, slot);
  }

  /** Cards with an update pending or on its way. */
  get pendingCount(): number {
    let n = 0;
    for (const s of this.slots.values()) n += s.pending.size + (s.running ? 1 : 0);
    return n;
  }

  /** Stop scheduling; updates on their way finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.slots.values()) if (s.timer) clearTimeout(s.timer);
    await Promise.allSettled([...this.inFlight]);
  }

  private arm(conversationId: string, slot: Slot): void {
    if (slot.timer || slot.running || slot.pending.size === 0 || this.stopped) return;
    const backoff = slot.failures === 0 ? 0 : Math.min(60_000, this.deps.intervalMs * 2 ** slot.failures);
    const wait = Math.max(0, slot.lastAt + this.deps.intervalMs + backoff - this.deps.clock.now());
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      const p = this.fire(conversationId, slot).finally(() => this.inFlight.delete(p));
      this.inFlight.add(p);
    }, wait);
    slot.timer.unref?.();
  }

  private async fire(conversationId: string, slot: Slot): Promise<void> {
    const first = slot.pending.entries().next();
    if (first.done) return;
    const [key, ref] = first.value;
    slot.pending.delete(key);
    slot.running = true;
    slot.lastAt = this.deps.clock.now();
    try {
      await this.deps.update(ref);
      slot.failures = 0;
    } catch (e) {
      slot.failures++;
      // Owed still: put it back unless a newer vote already did.
      if (!slot.pending.has(key)) slot.pending.set(key, ref);
      this.deps.logger.warn(
        { err: (e as Error).message, conversationId, notificationId: ref.notificationId, failures: slot.failures },
        "could not update a channel poll card; trying again later",
      );
    } finally {
      slot.running = false;
    }
    if (slot.pending.size === 0) this.slots.delete(conversationId);
    else this.arm(conversationId, slot);
  }
}
