// Work done after the answer has gone (sending e-mail), tracked so that shutdown and tests can wait for it.
import type { Logger } from './context.ts';

export class BackgroundTasks {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly log: Logger) {}

  run(name: string, work: () => Promise<void>): void {
    // setImmediate, not a microtask: the work starts only once the answer has been written, so its cost
    // (a lookup, a token insert, rendering an e-mail) never shows in the response time. Forgot-password
    // relies on this: a known address must not answer slower than an unknown one.
    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((err: unknown) => this.log.error({ err, task: name }, 'background task failed'))
      .finally(() => this.running.delete(task));
    this.running.add(task);
  }

  /** Resolves when every task started so far (and any they started) has finished. */
  async drain(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
  }
}
