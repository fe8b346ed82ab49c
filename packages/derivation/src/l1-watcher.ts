import { hexToBytes } from '@ethereumjs/util'
import type { PublicClient } from 'viem'
import type { L1Anchor } from '@cairn/primitives'
import type { L1Pointer } from './progress-store.ts'

export interface L1Heads {
  head: L1Pointer & { timestamp: bigint }
  finalized: L1Pointer
}

/**
 * The node's view of L1: the latest and finalized heads, refreshed by `refresh()`, and the anchor
 * the sequencer gives new blocks: the block `anchorLag` behind the head, never moving backwards (the
 * Anchor predeploy rejects an L1 origin that goes back). The anchor moves only once the target is
 * `anchorInterval` blocks past it: a batch carries one anchor, so an anchor that moved with every
 * L1 block would cut batches at every L1 block and post mostly empty blobs.
 */
export class L1Watcher {
  private heads: L1Heads | undefined
  private anchorValue: L1Anchor | undefined

  constructor(
    private readonly client: PublicClient,
    private readonly options: { anchorLag: number; anchorInterval?: number },
  ) {}

  async refresh(): Promise<L1Heads> {
    const [head, finalized] = await Promise.all([
      this.client.getBlock({ blockTag: 'latest' }),
      this.client.getBlock({ blockTag: 'finalized' }),
    ])
    this.heads = {
      head: { number: head.number, hash: hexToBytes(head.hash), timestamp: head.timestamp },
      finalized: { number: finalized.number, hash: hexToBytes(finalized.hash) },
    }
    const target = head.number - BigInt(this.options.anchorLag)
    const interval = BigInt(Math.max(1, this.options.anchorInterval ?? 1))
    if (target >= 0n && (this.anchorValue === undefined || target >= this.anchorValue.number + interval)) {
      const block = target === head.number ? head : await this.client.getBlock({ blockNumber: target })
      this.anchorValue = { number: block.number, hash: hexToBytes(block.hash), stateRoot: hexToBytes(block.stateRoot) }
    }
    return this.heads
  }

  /** The most L1 blocks a new block's anchor can be behind the head: the lag, plus the interval it waits to move. */
  get maxAnchorAge(): number {
    return this.options.anchorLag + Math.max(1, this.options.anchorInterval ?? 1) - 1
  }

  get current(): L1Heads | undefined {
    return this.heads
  }

  /** The anchor for the next sequenced block; undefined until L1 has been seen once. */
  anchor(): L1Anchor | undefined {
    return this.anchorValue
  }

  async block(number: bigint): Promise<{ number: bigint; hash: Uint8Array; stateRoot: Uint8Array; timestamp: bigint }> {
    const block = await this.client.getBlock({ blockNumber: number })
    return {
      number: block.number,
      hash: hexToBytes(block.hash),
      stateRoot: hexToBytes(block.stateRoot),
      timestamp: block.timestamp,
    }
  }
}
