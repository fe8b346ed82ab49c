/**
 * A service loop with one owner: runs `round` every `intervalMs` until stopped; a failed round is
 * reported and retried with exponential backoff (capped at `maxBackoffMs`). `stop()` cuts the wait
 * short and resolves once the round in progress has finished.
 */
export class PollingLoop {
  private running: Promise<void> | undefined
  private stopped = false
  private wake: (() => void) | undefined

  constructor(
    private readonly options: {
      intervalMs: number
      maxBackoffMs?: number
      round: () => Promise<void>
      onError: (error: unknown, retryInMs: number) => void
    },
  ) {}

  start(): void {
    if (this.running) return
    this.stopped = false
    this.running = this.run()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.wake?.()
    await this.running
    this.running = undefined
  }

  private async run(): Promise<void> {
    const { intervalMs, maxBackoffMs = 30_000 } = this.options
    let failures = 0
    while (!this.stopped) {
      let delay = intervalMs
      try {
        await this.options.round()
        failures = 0
      } catch (error) {
        failures++
        delay = Math.min(intervalMs * 2 ** Math.min(failures, 10), maxBackoffMs)
        this.options.onError(error, delay)
      }
      if (this.stopped) break
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay)
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }
}
