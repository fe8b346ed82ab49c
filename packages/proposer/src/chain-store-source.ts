import { bytesToHex, type Hex } from 'viem'
import { decodeRawBlock, type L2Block, type L2BlockSource } from './l2-source.ts'

/**
 * What the source reads from a node's chain store (`@cairn/chain`'s `ChainStore` has this shape): the
 * canonical chain by number and the `latest` and `safe` heads. Structural, so this package does not
 * depend on the store.
 */
export interface LocalChain {
  head(name: 'latest' | 'safe'): { header: { number: bigint } }
  getCanonicalHash(number: bigint): Promise<Uint8Array | undefined>
  getBlockByNumber(number: bigint): Promise<{ block: { serialize(): Uint8Array } } | undefined>
}

/**
 * L2 blocks straight from the node's own chain store, for a proposer running inside the node
 * (`cairn node --based`): no RPC, the same bytes `debug_getRawBlock` serves. It also tells the
 * proposer what derivation has confirmed from L1 (`safe`), so stale preconfirmed blocks are never
 * proposed after another proposer's batch won.
 */
export class ChainStoreBlockSource implements L2BlockSource {
  constructor(private readonly chain: LocalChain) {}

  async headNumber(): Promise<bigint> {
    return this.chain.head('latest').header.number
  }

  async blockByNumber(number: bigint): Promise<L2Block | undefined> {
    const record = await this.chain.getBlockByNumber(number)
    return record === undefined ? undefined : decodeRawBlock(record.block.serialize())
  }

  async derivedHash(number: bigint): Promise<Hex | undefined> {
    if (number > this.chain.head('safe').header.number) return undefined
    const hash = await this.chain.getCanonicalHash(number)
    return hash === undefined ? undefined : bytesToHex(hash)
  }
}
