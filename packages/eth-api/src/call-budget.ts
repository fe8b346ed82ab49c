import type { EVM, EVMOpts } from '@ethereumjs/evm'
import { EventLoopTurns } from '@cairn/primitives'
import { serverError } from '@cairn/rpc'

/** geth's `--rpc.evmtimeout` default. */
export const DEFAULT_EVM_TIMEOUT_MS = 5_000
/** The clock is read at every this many checkpoints (JUMPDESTs and message calls), not at each. */
const CHECK_EVERY = 256
/** A running call gives the event loop a turn this often (the block builder's own interval). */
const TURN_EVERY_MS = 2

const JUMPDEST = 0x5b

/**
 * The time one RPC execution may run (geth's `--rpc.evmtimeout`), and the turns it gives the event
 * loop while it runs. Calls execute on the thread that builds blocks, and EVM code that touches no
 * state never waits for I/O: without these an endless loop in one eth_call would hold that thread
 * for as long as its 50M gas lasts (~2 s here), and a handful of them would stop the chain.
 *
 * It is checked at every JUMPDEST (every loop passes one) and at every message call (a call tree
 * without loops). One budget belongs to one pooled VM, so concurrent calls each have their own.
 */
export class CallBudget {
  private deadline = Number.POSITIVE_INFINITY
  private checkpoints = 0
  private readonly turns = new EventLoopTurns(TURN_EVERY_MS)
  /** Whether the running execution was cut off (its VM's journal is left mid-call). */
  expired = false

  constructor(readonly timeoutMs: number) {}

  /** The EVM option that makes JUMPDEST a checkpoint: JUMPDEST itself does nothing and costs 1 gas. */
  customOpcodes(): NonNullable<EVMOpts['customOpcodes']> {
    return [{ opcode: JUMPDEST, opcodeName: 'JUMPDEST', baseFee: 1, logicFunction: () => this.checkpoint() }]
  }

  /** Makes every message call (CALL, CREATE, … and the transaction's own) a checkpoint. */
  watch(evm: EVM): void {
    evm.events.on('beforeMessage', (_message: unknown, resolve?: (result?: unknown) => void) => {
      const pending = this.checkpoint()
      if (pending === undefined) resolve?.()
      else pending.then(() => resolve?.(), resolve)
    })
  }

  start(): void {
    this.deadline = this.timeoutMs > 0 ? performance.now() + this.timeoutMs : Number.POSITIVE_INFINITY
    this.checkpoints = 0
    this.expired = false
  }

  stop(): void {
    this.deadline = Number.POSITIVE_INFINITY
  }

  private checkpoint(): Promise<void> | undefined {
    if (++this.checkpoints % CHECK_EVERY !== 0) return undefined
    if (performance.now() >= this.deadline) {
      this.expired = true
      throw serverError(`execution aborted (timeout = ${formatDuration(this.timeoutMs)})`, { code: 'RPC_EVM_TIMEOUT' })
    }
    return this.turns.due() ? this.turns.take() : undefined
  }
}

/** As Go prints a duration: `5s`, `1.5s`, `500ms`. */
function formatDuration(ms: number): string {
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`
}
