import type { Hex } from '@cairn/primitives'
import type { Dispatcher, DispatchContext, RpcMethod } from './dispatch.ts'
import { invalidParams, limitExceeded, notificationsUnsupported, serverError, type RpcLogger } from './errors.ts'
import { newSubscriptionId, startSubscription, type SubscriptionSource } from './subscriptions.ts'

export interface WsSessionDeps {
  dispatcher: Dispatcher
  maxSubscriptionsPerConnection: number
  logger: RpcLogger
  source: SubscriptionSource | undefined
  /** Serializes a notification result (shared across sessions so one event is stringified once). */
  serialize(result: unknown): string
  /** Sends to this session's client, in order; the transport drops clients that stop reading. */
  send(connectionId: string, text: string): void
}

/**
 * One WebSocket client's calls and subscriptions (they end with it). The socket itself belongs to
 * the transport, which may run on another thread: the session sees only texts in and texts out.
 */
export class WsSession {
  readonly subscriptions = new Map<Hex, () => void>()
  readonly overrides: ReadonlyMap<string, RpcMethod>
  #closed = false

  constructor(
    readonly id: string,
    private readonly deps: WsSessionDeps,
  ) {
    this.overrides = new Map<string, RpcMethod>([
      ['eth_subscribe', (params, ctx) => this.subscribe(params, ctx as DispatchContext)],
      ['eth_unsubscribe', (params) => this.unsubscribe(params)],
    ])
  }

  onMessage(text: string): void {
    const ctx: DispatchContext = { transport: 'ws', connectionId: this.id, afterResponse: [] }
    const response = this.deps.dispatcher.handleText(text, ctx, this.overrides)
    if (response instanceof Promise) {
      response.then(
        (body) => this.reply(body, ctx),
        (error: unknown) => this.deps.logger.error({ err: error }, 'rpc dispatch failed'),
      )
    } else this.reply(response, ctx)
  }

  private reply(body: string | undefined, ctx: DispatchContext): void {
    if (body !== undefined) this.send(body)
    for (const activate of ctx.afterResponse ?? []) activate()
  }

  private send(text: string): void {
    if (!this.#closed) this.deps.send(this.id, text)
  }

  subscribe(params: unknown[], ctx: DispatchContext): Hex {
    const source = this.deps.source
    if (source === undefined) throw notificationsUnsupported()
    // A batch may still be running when its connection closes; nothing may outlive it.
    if (this.#closed) throw serverError('connection closed')
    if (this.subscriptions.size >= this.deps.maxSubscriptionsPerConnection) {
      throw limitExceeded(
        `too many subscriptions: this connection already has ${this.deps.maxSubscriptionsPerConnection}; call eth_unsubscribe for ones you no longer need`,
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
  }
}
