/**
 * Runs tasks one at a time in arrival order: the head state has one owner at a time (the sequencer
 * building a block, derivation applying a batch), and async steps must not interleave across them.
 */
export class SerialLock {
  private tail: Promise<unknown> = Promise.resolve()

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task)
    this.tail = result.catch(() => {})
    return result
  }
}
