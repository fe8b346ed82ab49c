/**
 * The front-end thread: runs the HTTP and WebSocket transport and hands every request text to the
 * main thread (see `transport-thread.ts`).
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { RpcLogger } from './errors.ts'
import { type FrontEndMessage, type HostMessage, MessageBatcher } from './transport-thread.ts'
import { type TransportOptions, createRpcTransport } from './transport.ts'

const port = parentPort!
const { options } = workerData as { options: TransportOptions }
const outbox = new MessageBatcher<FrontEndMessage>((batch) => port.postMessage(batch))
const calls = new Map<number, { resolve(body: string | undefined): void; reject(error: Error): void }>()
let nextCall = 0

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
    case 'listen':
      transport.listen().then(
        (urls) => outbox.push({ t: 'listening', urls }),
        (error: Error & { code?: string }) =>
          outbox.push({ t: 'listenFailed', message: error.message, code: error.code }),
      )
      return
    case 'close':
      transport.close().then(() => {
        outbox.push({ t: 'closed' })
        outbox.flush()
      })
      return
  }
}

port.on('message', (batch: HostMessage[]) => {
  for (const message of batch) receive(message)
})
