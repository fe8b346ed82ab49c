import { inboxAbi, preconfWhitelistAbi } from '@cairn/contracts'
import { readAtStartup } from '@cairn/l1'
import type { Address, PublicClient } from 'viem'

/** Whether an address may propose to the Inbox, and why (docs/contracts.md, "Who may propose"). */
export interface ProposerRole {
  basedMode: boolean
  /** The address is in the preconfer whitelist (it proposes in its epochs). */
  whitelisted: boolean
  /** L1 blocks without a proposal after which anyone may propose (the based fallback). */
  fallbackWindow: bigint
  /** Anyone may propose now, or the address is on the whitelist: its proposals can land. */
  canEverPropose: boolean
}

/** Reads the Inbox's mode and the preconfer whitelist for `proposer`. */
export async function readProposerRole(l1: PublicClient, inbox: Address, proposer: Address): Promise<ProposerRole> {
  const config = await l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getConfig' })
  if (config.basedMode)
    return { basedMode: true, whitelisted: false, fallbackWindow: BigInt(config.fallbackWindow), canEverPropose: true }
  const whitelist = await l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'preconfWhitelist' })
  const operators = await l1.readContract({ address: whitelist, abi: preconfWhitelistAbi, functionName: 'operators' })
  const whitelisted = operators.some((o) => o.toLowerCase() === proposer.toLowerCase())
  return { basedMode: false, whitelisted, fallbackWindow: BigInt(config.fallbackWindow), canEverPropose: whitelisted }
}

/**
 * The ForcedInclusionStore the Inbox reads forced transactions from, read when a proposer starts:
 * an L1 that does not answer, or no Inbox at the address, stops the start with a StartupReadError.
 */
export function readForcedInclusionStore(
  l1: PublicClient,
  target: { l1Rpc: string; inbox: Address },
): Promise<Address> {
  return readAtStartup(
    {
      what: "the Inbox's ForcedInclusionStore",
      l1Rpc: target.l1Rpc,
      address: target.inbox,
      addressSettings: '--l1.inbox or --l1.deployment',
    },
    () => l1.readContract({ address: target.inbox, abi: inboxAbi, functionName: 'forcedInclusionStore' }),
  )
}
