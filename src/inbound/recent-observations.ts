import type { ConversationRecord } from "../domain/conversation.js";
import type { ConversationObservation, ConversationStore, UpsertResult } from "../store/ports.js";
import { laterOf } from "../store/time.js";

/**
 * The conversation upsert every inbound activity runs, made cheap when it would change nothing but
 * the times: a bounded in-memory record of the last observation per conversation and the record it
 * produced. An invoke flood (1,000 poll votes a second in one channel) otherwise costs a transaction
 * of a read and a full-row write per vote on the store's one connection.
 *
 * When an observation equals the previous one of its conversation in everything but `at` (and sets
 * no status other than the one stored, names no installer), the full merge could only move
 * `lastActivityAt` and `updatedAt`, so:
 * - `touch` (one UPDATE, guarded by the stored status) does that. A status another writer changed
 *   meanwhile (the delivery engine marking a chat blocked) makes the guard miss, and the full
 *   upsert runs: a user acting still reactivates a blocked chat;
 * - in a channel or group chat (many people, one conversation), within `windowMs` of the last
 *   write, nothing is written at all: `lastActivityAt` may lag by up to that long. Personal chats
 *   (one person, whose status matters for delivery) always take at least the guarded UPDATE.
 * Anything else (a first sight, a change, an install or uninstall, a store without `touch`) runs the
 * full `upsert`. Team and channel lifecycle events call `forgetAll`. In a shared conversation, an
 * observation equal to one whose write is still in flight waits for that write and writes nothing
 * (a failed write makes it write its own).
 */
export class RecentObservations {
  private readonly entries = new Map<string, { fingerprint: string; record: ConversationRecord; writtenAt: number }>();
  /** Writes in flight per conversation and fingerprint (shared conversations only); a failed one yields undefined. */
  private readonly inflight = new Map<string, Promise<ConversationRecord | undefined>>();

  constructor(
    private readonly store: Pick<ConversationStore, "upsert" | "touch">,
    private readonly maxEntries = 10_000,
    private readonly windowMs = 1_000,
  ) {}

  /** `upsert(observation)`, or its cheap forms when the observation repeats the last one. */
  async record(observation: ConversationObservation): Promise<Omit<UpsertResult, "created">> {
    const fingerprint = fingerprintOf(observation);
    const atMs = Date.parse(observation.at);
    // In a shared conversation, the same observation arriving while its write is in flight (a vote
    // flood) rides on that write rather than queueing its own: the row will say what this one would.
    const key = `${observation.id}\n${fingerprint}`;
    const pending = observation.kind !== "personal" && observation.installedBy === undefined ? this.inflight.get(key) : undefined;
    if (pending) {
      const written = await pending;
      if (written !== undefined) {
        const record = { ...written, lastActivityAt: laterOf(written.lastActivityAt, observation.at) };
        return { record, activated: false };
      }
    }
    if (observation.kind === "personal" || observation.installedBy !== undefined) return this.write(observation, fingerprint, atMs);
    const work = this.write(observation, fingerprint, atMs);
    const shared = work.then(
      (r) => r.record,
      () => undefined,
    );
    this.inflight.set(key, shared);
    try {
      return await work;
    } finally {
      if (this.inflight.get(key) === shared) this.inflight.delete(key);
    }
  }

  private async write(observation: ConversationObservation, fingerprint: string, atMs: number): Promise<Omit<UpsertResult, "created">> {
    const last = this.entries.get(observation.id);
    const repeat =
      last !== undefined &&
      last.fingerprint === fingerprint &&
      observation.installedBy === undefined &&
      (observation.status === undefined || observation.status === last.record.status) &&
      Number.isFinite(atMs);
    if (repeat && last) {
      const record = { ...last.record, lastActivityAt: laterOf(last.record.lastActivityAt, observation.at), updatedAt: observation.at };
      if (last.record.kind !== "personal" && atMs >= last.writtenAt && atMs - last.writtenAt < this.windowMs) {
        return { record, activated: false };
      }
      if (this.store.touch && (await this.store.touch(observation.id, observation.at, last.record.status))) {
        this.remember(observation.id, fingerprint, record, atMs);
        return { record, activated: false };
      }
    }
    const result = await this.store.upsert(observation);
    this.remember(observation.id, fingerprint, result.record, atMs);
    return result;
  }

  /** Forget every conversation (a team or channel changed: its rows may have changed beyond one id). */
  forgetAll(): void {
    this.entries.clear();
  }

  private remember(id: string, fingerprint: string, record: ConversationRecord, atMs: number): void {
    if (!Number.isFinite(atMs) || this.maxEntries === 0) return;
    this.entries.delete(id);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(id, { fingerprint, record, writtenAt: atMs });
  }
}

/** Everything the observation would write except its time, in a fixed order. */
function fingerprintOf(o: ConversationObservation): string {
  return JSON.stringify([
    o.kind,
    o.tenantId,
    o.serviceUrl,
    o.channelId,
    o.bot,
    o.user,
    o.team,
    o.channel,
    o.locale,
    o.timezone,
    o.installedBy,
    o.status,
    o.statusCode,
  ]);
}
