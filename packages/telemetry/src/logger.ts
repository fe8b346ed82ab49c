import { pino, type Logger } from 'pino'

export type { Logger }
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

/** Structured JSON logs on stderr (stdout stays free for command output), one child per module. */
export function createLogger(options: { level?: LogLevel; name?: string } = {}): Logger {
  return pino(
    { level: options.level ?? 'info', name: options.name ?? 'cairn', base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: false }),
  )
}
