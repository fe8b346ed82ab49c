/**
 * Hands the event loop a turn after every `everyMs` milliseconds of work, so one long task on the
 * main thread (a block's execution, its state commit, its roots, its write batch) does not stall
 * RPC and transaction admission for its whole length. Loops check {@link due} and await
 * {@link take} only when it says so: an await per item would cost more than the check.
 */
export class EventLoopTurns {
  private since = performance.now()

  constructor(readonly everyMs: number) {}

  /** Whether `everyMs` have passed since the last turn. */
  due(): boolean {
    return performance.now() - this.since >= this.everyMs
  }

  /** Lets everything the event loop has queued (I/O, timers, messages) run, then continues. */
  async take(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve))
    this.since = performance.now()
  }
}
