/**
 * The front-end thread: runs the HTTP and WebSocket transport and hands request texts to the main
 * thread (see `transport-thread.ts`), but for the calls it answers itself from what the main thread
 * gave it (`answerHere`).
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { RpcLogger } from './errors.ts'
import { isInexactId, isValidId, resultResponse } from './json-rpc.ts'
import { type FrontEndMessage, type HostMessage, MessageBatcher } from './transport-thread.ts'
import { type TransportOptions, createRpcTransport } from './transport.ts'

const port = parentPort!
const { options } = workerData as { options: TransportOptions }
const outbox = new MessageBatcher<FrontEndMessage>((batch) => port.postMessage(batch))
const calls = new Map<number, { resolve(body: string | undefined): void; reject(error: Error): void }>()
let nextCall = 0
/** Results this thread answers itself, by method, as JSON (see `RpcTransport.answerInFrontEnd`). */
const answers = new Map<string, string>()
/** The answered methods' names as JSON strings: a call that names none of them is not parsed here. */
let answeredNames: string[] = []
/** Calls answered here since the last report to the main thread, for its metrics. */
let answered: [method: string, seconds: number][] = []
/** A call of an answered method without params is short; anything longer is not parsed here. */
const MAX_ANSWERED_CALL_CHARS = 256
const ANSWERED_REPORT_MS = 1_000

/**
 * The response to `text` when it is a single call, with an id, of a method answered here, without
 * params; undefined for anything else (the main thread's dispatcher answers it, errors included).
 */
function answerHere(text: string): string | undefined {
  if (text.length > MAX_ANSWERED_CALL_CHARS || !answeredNames.some((name) => text.includes(name))) return undefined
  const started = performance.now()
  let message: unknown
  try {
    message = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) return undefined
  const { jsonrpc, id, method, params } = message as Record<string, unknown>
  if (jsonrpc !== '2.0' || typeof method !== 'string') return undefined
  if (params !== undefined && !(Array.isArray(params) && params.length === 0)) return undefined
  // Without an id it is a notification, which gets no response; an id JSON.parse rounded is the dispatcher's to echo.
  if (!isValidId(id) || isInexactId(id)) return undefined
  const result = answers.get(method)
  if (result === undefined) return undefined
  if (answered.length === 0) setTimeout(reportAnswered, ANSWERED_REPORT_MS).unref()
  answered.push([method, (performance.now() - started) / 1000])
  return resultResponse(id, result)
}

function reportAnswered(): void {
  if (answered.length === 0) return
  outbox.push({ t: 'answered', calls: answered })
  answered = []
}

/** Errors cross threads as plain fields; the main thread's logger serializes them. */
function loggable(obj: unknown): unknown {
  if (typeof obj !== 'object' || obj === null || !('err' in obj) || !(obj.err instanceof Error)) return obj
  const { message, stack, code } = obj.err as Error & { code?: unknown }
  return { ...obj, err: { message, stack, code } }
}

const log =
  (level: keyof RpcLogger) =>
  (obj: unknown, msg?: string): void =>
    outbox.push({ t: 'log', level, obj: loggable(obj), msg })
const logger: RpcLogger = { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }

const transport = createRpcTransport(
  options,
  {
    httpCall(text, connectionId) {
      const here = answerHere(text)
      if (here !== undefined) return here
      const id = ++nextCall
      outbox.push({ t: 'http', id, connectionId, text })
      return new Promise((resolve, reject) => calls.set(id, { resolve, reject }))
    },
    wsOpen: (connectionId) => outbox.push({ t: 'wsOpen', connectionId }),
    wsMessage: (connectionId, text) => outbox.push({ t: 'wsMessage', connectionId, text }),
    wsClose: (connectionId) => outbox.push({ t: 'wsClose', connectionId }),
  },
  logger,
)

function receive(message: HostMessage): void {
  switch (message.t) {
    case 'reply':
    case 'fail': {
      const call = calls.get(message.id)
      calls.delete(message.id)
      if (message.t === 'reply') call?.resolve(message.body)
      else call?.reject(new Error(message.message))
      return
    }
    case 'send':
      transport.send(message.connectionId, message.text)
      return
    case 'answer':
      if (message.result === undefined) answers.delete(message.method)
      else answers.set(message.method, message.result)
      answeredNames = [...answers.keys()].map((method) => JSON.stringify(method))
      return
    case 'listen':
      transport.listen().then(
        (urls) => outbox.push({ t: 'listening', urls }),
        (error: Error & { code?: string }) =>
          outbox.push({ t: 'listenFailed', message: error.message, code: error.code }),
      )
      return
    case 'close':
      transport.close().then(() => {
        reportAnswered()
        outbox.push({ t: 'closed' })
        outbox.flush()
      })
      return
  }
}

port.on('message', (batch: HostMessage[]) => {
  for (const message of batch) receive(message)
})
