import type { BucketKey } from "../limits/index.js";
import type { Job } from "../model.js";
import { conversationBucket, type Policies, type RequestClass } from "../policies.js";

/**
 * The request a job needs next. A send to a stored conversation is one request; a send to a user
 * with no chat yet is a `create` (1:1 chats: idempotent, messages nobody) and then a `send`; a
 * post in a channel is one `createThread` (the thread's first message is the post).
 */
export type Step = "send" | "create" | "createThread" | "edit" | "delete";

/** Pure: what `job` must do next. */
export function stepOf(job: Job): Step {
  if (job.op === "edit") return "edit";
  if (job.op === "delete") return "delete";
  if (job.conversationId !== undefined) return "send";
  return job.kind === "channel" ? "createThread" : "create";
}

/** Steps whose request delivers the message: the row is marked in flight before they leave. */
export const deliversMessage = (step: Step): boolean => step === "send" || step === "createThread";

/** The Teams limit class of a step (update and delete count as sends; section 6). */
export const classOf = (step: Step): RequestClass => (step === "create" || step === "createThread" ? "create" : "send");

/** The conversation bucket a step takes: the conversation, or for creates the user or channel. */
export function stepBucket(policies: Policies, step: Step, job: Job): BucketKey {
  const target = step === "create" || step === "createThread" ? (job.targetId ?? job.conversationId ?? "") : (job.conversationId ?? "");
  return conversationBucket(policies, classOf(step), target);
}
