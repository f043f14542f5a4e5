import type { AnswerInput, AnswerOutcome, ResponseStore } from "../store/responses.js";

/**
 * Answers written in batches that form by themselves: the first answer goes at once; answers that
 * arrive while a batch is being written wait for it and then go together, in one transaction of a
 * few statements (ResponseStore.answerMany). No timer, so a lone vote waits for nothing, and under
 * load the per-vote cost of a transaction and its statements is shared by everyone in the batch.
 */
export class AnswerBatcher {
  private queue: { input: AnswerInput; resolve: (o: AnswerOutcome) => void; reject: (e: unknown) => void }[] = [];
  private writing = false;

  constructor(
    private readonly store: Pick<ResponseStore, "answerMany">,
    private readonly maxBatch = 500,
  ) {}

  /** Store one answer (in the next batch); resolves with its outcome and the totals after the batch. */
  answer(input: AnswerInput): Promise<AnswerOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const outcomes = await this.store.answerMany(batch.map((b) => b.input));
          batch.forEach((b, i) => {
            const o = outcomes[i];
            if (o) b.resolve(o);
            else b.reject(new Error("the store returned no outcome for an answer"));
          });
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.writing = false;
    }
  }
}
