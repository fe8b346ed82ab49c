import { pino, type Logger } from 'pino'

export type { Logger }
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

/** Structured JSON logs on stderr (stdout stays free for command output), one child per module. */
export function createLogger(options: { level?: LogLevel; name?: string } = {}): Logger {
  const destination = pino.destination({ dest: 2, sync: false })
  // sonic-boom's flush calls back at once when its minLength is 0, as here, even while a write is under way:
  // a binary that prints a last line of its own after `logger.flush(done)` would print it before log lines.
  // An empty write queues behind the pending ones, and 'drain' comes once all of them are written.
  destination.flush = (done?: (error?: Error) => void) => {
    const onError = (error: Error) => {
      destination.off('drain', onDrain)
      done?.(error)
    }
    const onDrain = () => {
      destination.off('error', onError)
      done?.()
    }
    destination.once('drain', onDrain)
    destination.once('error', onError)
    destination.write('')
  }
  return pino(
    { level: options.level ?? 'info', name: options.name ?? 'cairn', base: { pid: process.pid } },
    destination,
  )
}
