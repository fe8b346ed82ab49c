import type { Address } from '@ethereumjs/util'
import type { ChainStore } from '@cairn/chain'
import type { StateDB } from '@cairn/state'

/**
 * Account reads at the latest head for the mempool's admission checks, through the state's
 * shared view of that root, never the executor's state (which may be mid-block).
 */
export class HeadStateReader {
  constructor(
    private readonly chain: ChainStore,
    private readonly state: StateDB,
  ) {}

  async getAccount(address: Address): Promise<{ nonce: bigint; balance: bigint }> {
    const account = await this.state.view(this.chain.head('latest').header.stateRoot).getAccount(address)
    return { nonce: account?.nonce ?? 0n, balance: account?.balance ?? 0n }
  }
}
