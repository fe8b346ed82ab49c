import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { RpcLogger } from './errors.ts'
import {
  type RpcTransport,
  type RpcUrls,
  type TransportEvents,
  type TransportOptions,
  answerHttpCall,
} from './transport.ts'

/** Worker → main. */
export type FrontEndMessage =
  | { t: 'http'; id: number; connectionId: string; text: string }
  | { t: 'wsOpen' | 'wsClose'; connectionId: string }
  | { t: 'wsMessage'; connectionId: string; text: string }
  | { t: 'log'; level: keyof RpcLogger; obj: unknown; msg: string | undefined }
  | { t: 'answered'; calls: [method: string, seconds: number][] }
  | { t: 'listening'; urls: RpcUrls }
  | { t: 'listenFailed'; message: string; code: string | undefined }
  | { t: 'closed' }

/** Main → worker. */
export type HostMessage =
  | { t: 'reply'; id: number; body: string | undefined }
  | { t: 'fail'; id: number; message: string }
  | { t: 'send'; connectionId: string; text: string }
  | { t: 'answer'; method: string; result: string | undefined }
  | { t: 'listen' }
  | { t: 'close' }

/**
 * Collects the messages of one turn of the event loop and posts them as one: a message costs the
 * receiving thread a wake-up, whatever it carries.
 */
export class MessageBatcher<T> {
  #queue: T[] = []
  #scheduled = false

  constructor(private readonly post: (batch: T[]) => void) {}

  push(message: T): void {
    this.#queue.push(message)
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.flush())
  }

  flush(): void {
    this.#scheduled = false
    if (this.#queue.length === 0) return
    const batch = this.#queue
    this.#queue = []
    this.post(batch)
  }
}

/** Plain CommonJS, so the worker can register tsx before it loads the TypeScript entry. */
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads')
import(workerData.tsx)
  .then((tsx) => { tsx.register(); return import(workerData.entry) })
  .catch((error) => { setImmediate(() => { throw error }) })
`

/** tsx's ESM API (its CommonJS build cannot register hooks from a worker's eval'd script). */
function tsxEsmApi(): string {
  const commonJs = createRequire(import.meta.url).resolve('tsx/esm/api')
  return pathToFileURL(commonJs.replace(/\.cjs$/, '.mjs')).href
}

/**
 * Runs the HTTP and WebSocket transport on a worker thread. The node's main thread also builds
 * blocks; parsing HTTP and framing WebSocket messages there took a tenth of its time under load.
 * Only request and response texts cross between the threads.
 */
export function createThreadedTransport(
  options: TransportOptions,
  events: TransportEvents,
  logger: RpcLogger,
  /** Told when the thread dies unasked: the node then serves no RPC and should stop. */
  onFailure: (error: Error) => void,
  /** The thread's module (tests give one that fails). */
  entry: URL = new URL('./transport.worker.ts', import.meta.url),
): RpcTransport {
  const worker = new Worker(BOOTSTRAP, {
    eval: true,
    // No inherited flags: a parent's loader or --input-type would change how the bootstrap is read.
    execArgv: [],
    workerData: {
      tsx: tsxEsmApi(),
      entry: entry.href,
      options,
    },
  })
  const outbox = new MessageBatcher<HostMessage>((batch) => worker.postMessage(batch))
  let listening: { resolve(urls: RpcUrls): void; reject(error: Error): void } | undefined
  let closing: (() => void) | undefined
  let exited = false

  function receive(message: FrontEndMessage): void {
    switch (message.t) {
      case 'http': {
        const { id } = message
        answerHttpCall(
          events,
          message.text,
          message.connectionId,
          (body) => outbox.push({ t: 'reply', id, body }),
          (error) => outbox.push({ t: 'fail', id, message: error instanceof Error ? error.message : String(error) }),
        )
        return
      }
      case 'wsOpen':
        events.wsOpen(message.connectionId)
        return
      case 'wsMessage':
        events.wsMessage(message.connectionId, message.text)
        return
      case 'wsClose':
        events.wsClose(message.connectionId)
        return
      case 'log':
        logger[message.level](message.obj, message.msg)
        return
      case 'answered':
        events.answeredInFrontEnd?.(message.calls)
        return
      case 'listening':
        listening?.resolve(message.urls)
        listening = undefined
        return
      case 'listenFailed':
        listening?.reject(Object.assign(new Error(message.message), { code: message.code }))
        listening = undefined
        return
      case 'closed':
        closing?.()
        return
    }
  }

  worker.on('message', (batch: FrontEndMessage[]) => {
    for (const message of batch) receive(message)
  })
  let failed = false
  function fail(error: Error): void {
    // An error is followed by an exit: one report.
    if (closing !== undefined || failed) return
    failed = true
    logger.error({ err: error }, 'rpc front-end thread failed')
    listening?.reject(error)
    listening = undefined
    onFailure(error)
  }
  worker.on('error', fail)
  worker.on('exit', (code) => {
    fail(new Error(`the rpc front-end thread exited (code ${code})`))
    exited = true
    closing?.()
  })

  return {
    listen() {
      if (exited) return Promise.reject(new Error('the rpc front-end thread has exited'))
      return new Promise<RpcUrls>((resolve, reject) => {
        listening = { resolve, reject }
        outbox.push({ t: 'listen' })
      })
    },
    send(connectionId, text) {
      outbox.push({ t: 'send', connectionId, text })
    },
    answerInFrontEnd(method, resultJson) {
      outbox.push({ t: 'answer', method, result: resultJson })
    },
    async close() {
      if (exited) return
      await new Promise<void>((resolve) => {
        closing = resolve
        outbox.push({ t: 'close' })
      })
      await worker.terminate()
    },
  }
}
