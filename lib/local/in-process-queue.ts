import type { Incident } from '../domain/types.js';
import type { IncidentQueue } from '../ports/index.js';

/**
 * The local stand-in for SQS + the worker Lambda when the healer runs on one machine: incidents
 * are processed one at a time (the reserved concurrency of 1), a failure is retried with backoff
 * up to maxAttempts, and what still fails is kept in deadLetters, as a DLQ would keep it.
 */
export class InProcessQueue implements IncidentQueue {
  readonly deadLetters: { incident: Incident; error: string }[] = [];
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;

  constructor(
    private readonly work: (incident: Incident) => Promise<void>,
    private readonly opts: { maxAttempts?: number; backoffMs?: number; onError?: (incident: Incident, error: unknown, attempt: number) => void } = {},
  ) {}

  enqueue(incidents: readonly Incident[]): Promise<void> {
    for (const incident of incidents) {
      this.pending++;
      this.chain = this.chain.then(() => this.process(incident)).finally(() => {
        this.pending--;
      });
    }
    return Promise.resolve();
  }

  /** Resolves when everything enqueued so far has been processed. */
  async drain(): Promise<void> {
    while (this.pending > 0) await this.chain;
  }

  private async process(incident: Incident): Promise<void> {
    const maxAttempts = this.opts.maxAttempts ?? 3;
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      try {
        await this.work(incident);
        return;
      } catch (error) {
        this.opts.onError?.(incident, error, attempt);
        if (attempt === maxAttempts) {
          this.deadLetters.push({ incident, error: error instanceof Error ? error.message : String(error) });
          return;
        }
        await new Promise((r) => setTimeout(r, (this.opts.backoffMs ?? 1000) * attempt));
      }
    }
  }
}
