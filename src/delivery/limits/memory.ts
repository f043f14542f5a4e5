import { type CompiledWindow, type GcraOptions, inTick, PolicyCompiler, tickWait, toUs, waitFor, waitMs } from "./policy.js";
import { assertDistinctKeys, type BucketKey, type RateLimiter, slotsIn } from "./rate-limiter.js";

/**
 * The GCRA state of one key under one policy: a theoretical arrival time (TAT, µs) per window and,
 * for a grouped window, its open tick (when it opened, µs, and the slots left in it). A broadcast
 * makes one for every conversation it sends to and keeps it about 2 s, past V8's young generation:
 * two objects each (`opened` and `left` only when a window is grouped), few to copy and promote.
 */
interface State {
  readonly windows: readonly CompiledWindow[];
  readonly tats: number[];
  /** Per window, when its open tick opened (µs); undefined when no window of the policy is grouped. */
  readonly opened: number[] | undefined;
  /** Per window, the slots left in its open tick; undefined with `opened`. */
  readonly left: number[] | undefined;
  /** The latest TAT: after it (plus the grace) the state is the same as none. */
  until: number;
  /** The same key's state under another policy (a key should keep one policy: see BucketKey). */
  next: State | undefined;
}

/**
 * The RateLimiter of a single Herald process: GCRA per window, state in memory.
 *
 * Memory: a key's state matters until its latest TAT has passed; after that the bucket behaves
 * exactly like a fresh one and the state can go. States live in two generations of at least
 * `GENERATION_US` each: a key used now is in the current one (moved there from the previous
 * one); at each turn, the states of the previous generation that still matter move to the
 * current one and the rest are dropped with it. For a broadcast at 5,000 requests a second that
 * is a few seconds of conversations, never a million; no request pays for a sweep, and no Map
 * is thinned one delete at a time (V8 then walks the holes on every iteration).
 * `sweep(now)` drops everything that no longer matters at once (a timer when traffic stops).
 */
export class InProcessRateLimiter implements RateLimiter {
  private current = new Map<string, State>();
  private previous = new Map<string, State>();
  private since = Number.NEGATIVE_INFINITY;
  /** key → blocked until, in µs. */
  private readonly blocks = new Map<string, number>();
  private readonly compiler: PolicyCompiler;
  /** acquire's states of its keys, in order (reused: acquire is synchronous). */
  private readonly states: State[] = [];

  /** Options: see GcraOptions (marginMs default 30, catchUpMs default 10). */
  constructor(options: GcraOptions = {}) {
    this.compiler = new PolicyCompiler(options);
  }

  tryAcquire(keys: readonly BucketKey[], now: number): Promise<number> {
    try {
      return Promise.resolve(this.acquire(keys, now));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  block(key: string, until: number): Promise<void> {
    const untilUs = toUs(until);
    if (untilUs > (this.blocks.get(key) ?? Number.NEGATIVE_INFINITY)) this.blocks.set(key, untilUs);
    return Promise.resolve();
  }

  /** Deletes every entry that no longer affects a decision at `now` (ms). */
  sweep(now: number): void {
    const nowUs = toUs(now);
    this.current = this.live(nowUs);
    this.previous = new Map();
    for (const [k, until] of this.blocks) if (until <= nowUs) this.blocks.delete(k);
  }

  /** States held (each key's window sets, counted once whichever generation holds them, plus blocks): for tests and metrics. */
  get size(): number {
    let n = this.blocks.size;
    for (const [key, head] of this.previous) if (!this.current.has(key)) n += chainLength(head);
    for (const head of this.current.values()) n += chainLength(head);
    return n;
  }

  private acquire(keys: readonly BucketKey[], now: number): number {
    assertDistinctKeys(keys);
    const nowUs = toUs(now);
    this.turn(nowUs);
    let waitUs = 0;
    const states = this.states;
    states.length = 0;
    /** Grouped windows whose open tick would take the slots now: [opened µs, µs until their next tick]. */
    let ticks: [number, number][] | undefined;
    for (const bucket of keys) {
      if (this.blocks.size > 0) {
        const until = this.blocks.get(bucket.key);
        if (until !== undefined && until > nowUs) waitUs = Math.max(waitUs, until - nowUs);
      }
      const state = this.stateOf(bucket.key, this.compiler.compile(bucket.policy));
      states.push(state);
      for (let i = 0; i < state.windows.length; i++) {
        const w = state.windows[i]!;
        const slots = slotsIn(bucket, w);
        if (w.group > 1 && inTick(state.opened![i]!, state.left![i]!, w, slots, nowUs)) {
          if (ticks === undefined) ticks = [];
          ticks.push([state.opened![i]! + w.openUs, waitFor(state.tats[i]!, w, slots, nowUs)]);
        } else waitUs = Math.max(waitUs, waitFor(state.tats[i]!, w, slots, nowUs));
      }
    }
    if (ticks) waitUs = tickWait(waitUs, ticks, nowUs);
    if (waitUs <= 0) {
      for (let b = 0; b < keys.length; b++) {
        const state = states[b]!;
        for (let i = 0; i < state.windows.length; i++) {
          const w = state.windows[i]!;
          const slots = slotsIn(keys[b]!, w);
          if (w.group > 1 && inTick(state.opened![i]!, state.left![i]!, w, slots, nowUs)) {
            state.left![i]! -= slots;
            continue;
          }
          if (w.group > 1) {
            state.opened![i] = nowUs;
            state.left![i] = w.group - slots;
          }
          const tat = Math.max(state.tats[i]!, nowUs) + (w.group > 1 ? 1 : slots) * w.intervalUs;
          state.tats[i] = tat;
          if (tat > state.until) state.until = tat;
        }
      }
    }
    states.length = 0;
    return waitMs(waitUs);
  }

  /** The state of `key` under `windows`, in the current generation (created fresh if none). */
  private stateOf(key: string, windows: readonly CompiledWindow[]): State {
    if (windows.length === 0) return NO_WINDOWS;
    let head = this.current.get(key);
    if (head === undefined) {
      head = this.previous.get(key);
      if (head !== undefined) this.current.set(key, head);
    }
    for (let s = head; s !== undefined; s = s.next) if (s.windows === windows || sameWindows(s.windows, windows)) return s;
    const grouped = windows.some((w) => w.group > 1);
    const fresh: State = {
      windows,
      tats: windows.map(() => Number.NEGATIVE_INFINITY),
      opened: grouped ? windows.map(() => Number.NEGATIVE_INFINITY) : undefined,
      left: grouped ? windows.map(() => 0) : undefined,
      until: Number.NEGATIVE_INFINITY,
      next: head,
    };
    this.current.set(key, fresh);
    return fresh;
  }

  /** Starts a new generation when the current one is old enough; states that still matter move along. */
  private turn(nowUs: number): void {
    if (nowUs - this.since < GENERATION_US) return;
    this.previous = this.live(nowUs - SWEEP_GRACE_US);
    this.current = new Map();
    this.since = nowUs;
    for (const [k, until] of this.blocks) if (until <= nowUs - SWEEP_GRACE_US) this.blocks.delete(k);
  }

  /**
   * The states of both generations whose latest TAT is after `afterUs`. A key moved to the current
   * generation is in both maps (the current one's chain holds the previous one's): it is taken
   * once, from the current one. Relinks the chains it keeps: the maps it read are dropped after.
   */
  private live(afterUs: number): Map<string, State> {
    const out = new Map<string, State>();
    for (const [k, head] of this.current) {
      const live = liveChain(head, afterUs);
      if (live) out.set(k, live);
    }
    for (const [k, head] of this.previous) {
      if (this.current.has(k)) continue;
      const live = liveChain(head, afterUs);
      if (live) out.set(k, live);
    }
    return out;
  }
}

/** The states of a chain whose latest TAT is after `afterUs`, linked in the same order (the chain's nodes, relinked). */
function liveChain(head: State, afterUs: number): State | undefined {
  if (head.next === undefined) return head.until > afterUs ? head : undefined;
  let first: State | undefined;
  let last: State | undefined;
  for (let s: State | undefined = head; s !== undefined; ) {
    const next: State | undefined = s.next;
    if (s.until > afterUs) {
      s.next = undefined;
      if (last) last.next = s;
      else first = s;
      last = s;
    }
    s = next;
  }
  return first;
}

function chainLength(head: State): number {
  let n = 0;
  for (let s: State | undefined = head; s !== undefined; s = s.next) n++;
  return n;
}

/** The state of an empty policy (only blocks limit it): nothing to keep. */
const NO_WINDOWS: State = Object.freeze({
  windows: [],
  tats: [],
  opened: undefined,
  left: undefined,
  until: Number.NEGATIVE_INFINITY,
  next: undefined,
}) as State;

/** Policies equal window for window (a policy object made anew for the same limits shares its state). */
const sameWindows = (a: readonly CompiledWindow[], b: readonly CompiledWindow[]): boolean =>
  a.length === b.length &&
  a.every(
    (w, i) => w.sig === b[i]!.sig && w.intervalUs === b[i]!.intervalUs && w.toleranceUs === b[i]!.toleranceUs && w.group === b[i]!.group,
  );

/** How long a generation lasts before the next turn, in µs. */
const GENERATION_US = 1_000_000;

/**
 * States are kept 1 s past expiry: callers on other async paths may pass a `now` read a little
 * earlier, and for them the entry still matters. (Redis keeps the same slack.)
 */
const SWEEP_GRACE_US = 1_000_000;
