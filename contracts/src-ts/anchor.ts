import { type Address, type Hex, getAddress } from 'viem'
import { anchorDeployedBytecode } from './generated/Anchor.ts'

/** Fixed L2 address of the Anchor predeploy. */
export const ANCHOR_ADDRESS: Address = getAddress('0xca11000000000000000000000000000000000001')

/** Keyless sender of the anchor system call (the same system address Ethereum uses for EIP-4788). */
export const SYSTEM_SENDER: Address = getAddress('0xfffffffffffffffffffffffffffffffffffffffe')

export type GenesisAllocAccount = { code: Hex; storage: Record<Hex, Hex>; balance: Hex }

/** The Anchor predeploy in geth genesis `alloc` form, from the current build. */
export function anchorGenesisAlloc(): Record<Address, GenesisAllocAccount> {
  return { [ANCHOR_ADDRESS]: { code: anchorDeployedBytecode, storage: {}, balance: '0x0' } }
}
