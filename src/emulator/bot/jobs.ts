/**
 * Long control operations (installing the app for 100,000 users) run as jobs: a fixed number
 * of workers pull the next item index, so memory does not grow with the item count, and the
 * job reports progress while it runs.
 */
export interface JobError {
  item: string;
  error: string;
}

export interface Job {
  id: string;
  kind: string;
  state: "running" | "completed" | "canceled";
  total: number;
  done: number;
  ok: number;
  failed: number;
  /** The first errors (at most 20). */
  errors: JobError[];
  startedAt: string;
  finishedAt?: string;
  /** Items started per second at most (0 = as fast as the workers go). */
  rate: number;
  /** Resolves when the job ends. */
  readonly finished: Promise<Job>;
}

const KEEP_ERRORS = 20;
const KEEP_JOBS = 100;

export class Jobs {
  private readonly jobs = new Map<string, Job & { cancel: boolean }>();
  private seq = 0;

  constructor(
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  /**
   * Run `work(k)` for k in [0, total) with `concurrency` in flight, starting at most `rate`
   * items per second when rate > 0 (Graph installs about 30 apps per second per tenant).
   * `describe(k)` names item k in error reports. A rejected `work` counts as failed; the job
   * goes on.
   */
  start(
    kind: string,
    total: number,
    concurrency: number,
    work: (k: number) => Promise<void>,
    describe: (k: number) => string,
    rate = 0,
  ): Job {
    const id = `job-${++this.seq}`;
    let resolve!: (job: Job) => void;
    const finished = new Promise<Job>((r) => {
      resolve = r;
    });
    const job: Job & { cancel: boolean } = {
      id,
      kind,
      state: "running",
      total,
      done: 0,
      ok: 0,
      failed: 0,
      errors: [],
      startedAt: new Date(this.now()).toISOString(),
      finished,
      rate,
      cancel: false,
    };
    const t0 = this.now();
    this.jobs.set(id, job);
    this.trim();
    let next = 0;
    const worker = async () => {
      while (!job.cancel && next < total) {
        const k = next++;
        if (rate > 0) {
          const due = t0 + (k * 1000) / rate;
          const wait = due - this.now();
          if (wait > 0) await this.sleep(wait);
          if (job.cancel) break;
        }
        try {
          await work(k);
          job.ok++;
        } catch (err) {
          job.failed++;
          if (job.errors.length < KEEP_ERRORS) job.errors.push({ item: describe(k), error: (err as Error).message ?? String(err) });
        }
        job.done++;
      }
    };
    const workers = Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, () => worker());
    void Promise.all(workers).then(() => {
      job.state = job.cancel ? "canceled" : "completed";
      job.finishedAt = new Date(this.now()).toISOString();
      resolve(job);
    });
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  list(): Job[] {
    return [...this.jobs.values()];
  }

  cancel(id: string): boolean {
    const job = this.jobs.get(id);
    if (job?.state !== "running") return false;
    job.cancel = true;
    return true;
  }

  private trim(): void {
    if (this.jobs.size <= KEEP_JOBS) return;
    for (const [id, job] of this.jobs) {
      if (job.state !== "running") {
        this.jobs.delete(id);
        if (this.jobs.size <= KEEP_JOBS) return;
      }
    }
  }
}

/** A job as JSON (without the promise). */
export function jobJson(job: Job): Omit<Job, "finished"> {
  const { finished: _finished, ...rest } = job as Job & { cancel?: boolean };
  delete (rest as { cancel?: boolean }).cancel;
  return rest;
}
