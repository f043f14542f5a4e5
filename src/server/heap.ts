import { setFlagsFromString } from "node:v8";

/** How far V8 lets the heap grow past what the last full collection kept, in percent. */
export const heapGrowingPercent = 50;

/**
 * Keep a long-running Herald's heap close to what it really holds.
 *
 * During a broadcast Herald allocates fast (a request, a response and a row write per message)
 * while holding little: measured, about 40 MB live. V8 then sizes the next heap limit at up to
 * four times what survived the last full collection, so the heap, and the process's resident
 * memory, climbed to 290 MB on a 60,000-recipient broadcast with 37 MB live. Capping the growth
 * factor at 1.5× brought the peak under 210 MB for about the same CPU (bench/run.js). V8 reads
 * this flag each time it computes a limit, so setting it at start-up takes effect (Node calls
 * changing V8 flags after start-up unsupported; this one is read, not cached). An operator's own
 * `node --heap-growing-percent=N` wins (Node does not accept it in NODE_OPTIONS).
 */
export function keepHeapSmall(): void {
  const given = process.execArgv.some((a) => a.includes("heap-growing-percent"));
  if (!given) setFlagsFromString(`--heap-growing-percent=${heapGrowingPercent}`);
}
