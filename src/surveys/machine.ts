/**
 * The state of one person's surveys and its transitions, as pure functions (no I/O): the
 * service (service.ts) reads the stored state, applies one transition, and writes it back with
 * an optimistic version check.
 *
 * A person answers one survey at a time (`active`). A survey offered meanwhile waits in `queue`
 * (whenBusy `wait`) or takes over and pushes the active one on `stack` (whenBusy `interrupt`);
 * when the active one ends (answered, canceled, expired) the top of the stack resumes at the
 * question it stopped at, else the first of the queue starts.
 */

/** One survey of one person: which notification, which question is asked now. */
export interface SurveyRun {
  notificationId: string;
  /** Index of the question asked now. */
  index: number;
}

export interface SessionState {
  active?: SurveyRun | undefined;
  /** Interrupted surveys, the most recent last. */
  stack: SurveyRun[];
  /** Surveys waiting for the active one to end, oldest first. */
  queue: SurveyRun[];
  /** Surveys that ended here (newest last, bounded): a late retry of their row starts nothing. */
  ended: string[];
  /** Ids of the last inbound activities applied (bounded): a redelivered activity is not applied twice. */
  seen: string[];
  /**
   * The reply decided with this state (its idempotency key and message), written with it and
   * removed once the reply row is stored: a process that dies in between leaves it here, and the
   * next sweep stores it (the same key sends nothing twice).
   */
  said?: { key: string; message: unknown } | undefined;
}

export const emptyState = (): SessionState => ({ stack: [], queue: [], ended: [], seen: [] });

const keepLast = <T>(list: readonly T[], item: T, max: number): T[] => [...list, item].slice(-max);

/** Why the active survey ended. */
export type EndReason = "completed" | "canceled" | "expired";

/** What the person is asked after a transition: nothing, a survey's question (its start or a resume). */
export type Next = { kind: "none" } | { kind: "start"; run: SurveyRun } | { kind: "resume"; run: SurveyRun };

/** Whether the notification's survey is anywhere in the state (running, interrupted, waiting, ended). */
export function knows(state: SessionState, notificationId: string): boolean {
  return (
    state.active?.notificationId === notificationId ||
    state.stack.some((r) => r.notificationId === notificationId) ||
    state.queue.some((r) => r.notificationId === notificationId) ||
    state.ended.includes(notificationId)
  );
}

/**
 * A survey arrives. `ask`: send its first question now; `queued`: it waits; `again`: it is already
 * known (a retried row): ask again only if it is active and still at its first question.
 */
export function offer(
  state: SessionState,
  notificationId: string,
  whenBusy: "wait" | "interrupt",
): { state: SessionState; action: "ask" | "queued" | "again-ask" | "again-quiet"; interrupted?: SurveyRun | undefined } {
  if (knows(state, notificationId)) {
    const a = state.active;
    return { state, action: a?.notificationId === notificationId && a.index === 0 ? "again-ask" : "again-quiet" };
  }
  const run: SurveyRun = { notificationId, index: 0 };
  if (!state.active) return { state: { ...state, active: run }, action: "ask" };
  if (whenBusy === "interrupt")
    return { state: { ...state, active: run, stack: [...state.stack, state.active] }, action: "ask", interrupted: state.active };
  return { state: { ...state, queue: [...state.queue, run] }, action: "queued" };
}

/** The active survey ends: resume the most recently interrupted one, else start the first waiting one. */
export function end(state: SessionState): { state: SessionState; ended: SurveyRun | undefined; next: Next } {
  const ended = state.active;
  const base = { ...state, ended: ended ? keepLast(state.ended, ended.notificationId, 50) : state.ended };
  const resumed = state.stack.at(-1);
  if (resumed)
    return { state: { ...base, active: resumed, stack: state.stack.slice(0, -1) }, ended, next: { kind: "resume", run: resumed } };
  const started = state.queue[0];
  if (started) return { state: { ...base, active: started, queue: state.queue.slice(1) }, ended, next: { kind: "start", run: started } };
  return { state: { ...base, active: undefined }, ended, next: { kind: "none" } };
}

/** The active survey's question was answered: ask the next one, or end it when that was the last. */
export function advance(
  state: SessionState,
  questionCount: number,
): { state: SessionState; ended: SurveyRun | undefined; next: Next | { kind: "ask"; run: SurveyRun } } {
  const a = state.active;
  if (!a) return { state, ended: undefined, next: { kind: "none" } };
  if (a.index + 1 < questionCount) {
    const run = { ...a, index: a.index + 1 };
    return { state: { ...state, active: run }, ended: undefined, next: { kind: "ask", run } };
  }
  return end(state);
}

/** Remember an inbound activity as applied. */
export function see(state: SessionState, activityId: string | undefined): SessionState {
  return activityId ? { ...state, seen: keepLast(state.seen, activityId, 20) } : state;
}

/** Whether there is nothing left to keep (no survey running, interrupted or waiting). */
export function idle(state: SessionState): boolean {
  return !state.active && state.stack.length === 0 && state.queue.length === 0;
}

/** `cancel` typed by the person ends the active survey (the words accepted, any case). */
export function isCancel(text: string): boolean {
  return /^(cancel|stop survey|quit)$/i.test(text.trim());
}

/**
 * A typed answer to a question: free text for a question without choices; for one with choices,
 * the choice's text (any case) or its number (`2`). Undefined when it matches no choice.
 */
export function matchAnswer(text: string, choices: readonly string[] | undefined): { text: string; choice?: string } | undefined {
  const t = text.trim();
  if (!choices) return t === "" ? undefined : { text: t };
  const byText = choices.find((c) => c.trim().toLowerCase() === t.toLowerCase());
  if (byText !== undefined) return { text: t, choice: byText };
  const n = /^\d{1,2}$/.test(t) ? Number(t) : Number.NaN;
  const byNumber = Number.isInteger(n) ? choices[n - 1] : undefined;
  return byNumber === undefined ? undefined : { text: t, choice: byNumber };
}
