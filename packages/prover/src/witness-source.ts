import { CairnError } from '@cairn/primitives'
import { type BatchWitness, parseWitness } from '@cairn/proof'
import type { Hex } from 'viem'

/** What the prover needs from an L2 node: a derived batch's witness and its view of a block. */
export interface WitnessSource {
  /** The witness of a batch the node derived from L1; undefined while the node has not derived it. */
  batchWitness(batchId: bigint): Promise<BatchWitness | undefined>
  /** The node's block `number` if it is at or below its safe head (derived from L1), else undefined. */
  safeBlock(number: bigint): Promise<{ hash: Hex; stateRoot: Hex } | undefined>
}

/** A cairn node over JSON-RPC (`cairn_getBatchWitness`, `eth_getBlockByNumber`). */
export class RpcWitnessSource implements WitnessSource {
  constructor(
    private readonly url: string,
    private readonly timeoutMs = 120_000,
  ) {}

  async batchWitness(batchId: bigint): Promise<BatchWitness | undefined> {
    try {
      const raw = await this.call<unknown>('cairn_getBatchWitness', [`0x${batchId.toString(16)}`])
      return parseWitness(raw as never)
    } catch (error) {
      if (error instanceof CairnError && /not derived/.test(error.message)) return undefined
      throw error
    }
  }

  async safeBlock(number: bigint): Promise<{ hash: Hex; stateRoot: Hex } | undefined> {
    const safe = await this.call<{ number: Hex } | null>('eth_getBlockByNumber', ['safe', false])
    if (safe === null || BigInt(safe.number) < number) return undefined
    const block = await this.call<{ hash: Hex; stateRoot: Hex } | null>('eth_getBlockByNumber', [
      `0x${number.toString(16)}`,
      false,
    ])
    return block === null ? undefined : { hash: block.hash, stateRoot: block.stateRoot }
  }

  private async call<T>(method: string, params: unknown[]): Promise<T> {
    let body: { result?: T; error?: { code: number; message: string } }
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        signal: AbortSignal.timeout(this.timeoutMs),
      })
      body = (await response.json()) as typeof body
    } catch (cause) {
      throw new CairnError('L2_RPC_UNAVAILABLE', `${method} on ${this.url} failed: ${(cause as Error).message}`, {
        cause,
      })
    }
    if (body.error !== undefined) {
      throw new CairnError('L2_RPC_ERROR', `${method} on ${this.url}: ${body.error.message}`)
    }
    return body.result as T
  }
}
