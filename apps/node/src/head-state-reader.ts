import type { MerkleStateManager } from '@ethereumjs/statemanager'
import type { Address } from '@ethereumjs/util'
import type { ChainStore } from '@cairn/chain'
import type { StateDB } from '@cairn/state'

/**
 * Account reads at the latest head for the mempool's admission checks: one cached view per
 * head, replaced when the head moves, never the executor's state (which may be mid-block).
 */
export class HeadStateReader {
  private view: MerkleStateManager
  private root: Uint8Array

  constructor(
    private readonly chain: ChainStore,
    private readonly state: StateDB,
  ) {
    this.root = chain.head('latest').header.stateRoot
    this.view = state.stateAt(this.root)
  }

  async getAccount(address: Address): Promise<{ nonce: bigint; balance: bigint }> {
    const root = this.chain.head('latest').header.stateRoot
    if (root !== this.root) {
      this.root = root
      this.view = this.state.stateAt(root)
    }
    const account = await this.view.getAccount(address)
    return { nonce: account?.nonce ?? 0n, balance: account?.balance ?? 0n }
  }
}
