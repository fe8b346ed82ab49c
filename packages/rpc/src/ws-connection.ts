import type { RawData, WebSocket } from 'ws'
import type { Hex } from '@cairn/primitives'
import type { Dispatcher, DispatchContext, RpcMethod } from './dispatch.ts'
import { invalidParams, limitExceeded, notificationsUnsupported, serverError, type RpcLogger } from './errors.ts'
import type { RpcLimits } from './server.ts'
import { newSubscriptionId, startSubscription, type SubscriptionSource } from './subscriptions.ts'

export interface WsConnectionDeps {
  dispatcher: Dispatcher
  limits: RpcLimits
  logger: RpcLogger
  source: SubscriptionSource | undefined
  /** Serializes a notification result (shared across connections so one event is stringified once). */
  serialize(result: unknown): string
  onClose(connection: WsConnection): void
}

/**
 * One WebSocket client: runs its calls through the shared dispatcher, owns its subscriptions
 * (they end with it) and is dropped when it stops reading.
 */
export class WsConnection {
  readonly subscriptions = new Map<Hex, () => void>()
  readonly overrides: ReadonlyMap<string, RpcMethod>
  /** Cleared by each ping, set by each pong. */
  alive = true
  #closed = false

  constructor(
    readonly socket: WebSocket,
    readonly id: string,
    private readonly deps: WsConnectionDeps,
  ) {
    this.overrides = new Map<string, RpcMethod>([
      ['eth_subscribe', (params, ctx) => this.subscribe(params, ctx as DispatchContext)],
      ['eth_unsubscribe', (params) => this.unsubscribe(params)],
    ])
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary))
    socket.on('pong', () => {
      this.alive = true
    })
    socket.on('close', () => this.dispose())
    socket.on('error', (error) => deps.logger.debug({ err: error, connection: this.id }, 'websocket error'))
  }

  onMessage(data: RawData, _isBinary: boolean): void {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : data instanceof ArrayBuffer
        ? Buffer.from(data).toString('utf8')
        : data.toString('utf8')
    const ctx: DispatchContext = { transport: 'ws', connectionId: this.id, afterResponse: [] }
    const response = this.deps.dispatcher.handleText(text, ctx, this.overrides)
    if (response instanceof Promise) {
      response.then(
        (body) => this.reply(body, ctx),
        (error: unknown) => this.deps.logger.error({ err: error }, 'rpc dispatch failed'),
      )
    } else this.reply(response, ctx)
  }

  reply(body: string | undefined, ctx: DispatchContext): void {
    if (body !== undefined) this.send(body)
    for (const activate of ctx.afterResponse ?? []) activate()
  }

  send(text: string): void {
    if (this.socket.readyState !== this.socket.OPEN) return
    if (this.socket.bufferedAmount > this.deps.limits.maxWsBufferedBytes) {
      this.deps.logger.warn(
        { connection: this.id, bufferedBytes: this.socket.bufferedAmount, limit: this.deps.limits.maxWsBufferedBytes },
        'dropping websocket client: it is not reading fast enough',
      )
      this.socket.terminate()
      this.dispose()
      return
    }
    this.socket.send(text)
  }

  subscribe(params: unknown[], ctx: DispatchContext): Hex {
    const source = this.deps.source
    if (source === undefined) throw notificationsUnsupported()
    // A batch may still be running when its connection closes; nothing may outlive it.
    if (this.#closed) throw serverError('connection closed')
    if (this.subscriptions.size >= this.deps.limits.maxSubscriptionsPerConnection) {
      throw limitExceeded(
        `too many subscriptions: this connection already has ${this.deps.limits.maxSubscriptionsPerConnection}; call eth_unsubscribe for ones you no longer need`,
      )
    }
    const id = newSubscriptionId()
    // Events that arrive before the client has the subscription id wait for the response.
    let queue: unknown[] | undefined = []
    const prefix = `{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":"${id}","result":`
    const deliver = (result: unknown): void => this.send(`${prefix}${this.deps.serialize(result)}}}`)
    const cancel = startSubscription(source, params, (result) => {
      if (queue === undefined) deliver(result)
      else if (queue.length < 10_000) queue.push(result)
    })
    this.subscriptions.set(id, cancel)
    const activate = (): void => {
      const waiting = queue ?? []
      queue = undefined
      for (const result of waiting) deliver(result)
    }
    if (ctx.afterResponse === undefined) activate()
    else ctx.afterResponse.push(activate)
    return id
  }

  unsubscribe(params: unknown[]): boolean {
    const id = params[0]
    if (typeof id !== 'string') throw invalidParams('invalid argument 0: expected subscription id')
    if (params.length > 1) throw invalidParams('too many arguments, want at most 1')
    const cancel = this.subscriptions.get(id as Hex)
    if (cancel === undefined) throw serverError('subscription not found')
    this.subscriptions.delete(id as Hex)
    cancel()
    return true
  }

  /** Ends every subscription; safe to call more than once. */
  dispose(): void {
    if (this.#closed) return
    this.#closed = true
    for (const cancel of this.subscriptions.values()) cancel()
    this.subscriptions.clear()
    this.deps.onClose(this)
  }
}
