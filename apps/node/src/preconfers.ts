import { inboxAbi, preconfWhitelistAbi } from '@cairn/contracts'
import type { Logger } from '@cairn/telemetry'
import type { PublicClient } from 'viem'

/** Who may sign preconfirmed blocks. `undefined`: not known yet (L1 unreachable), so neither accept nor punish. */
export interface PreconferSet {
  allows(signer: string): Promise<boolean | undefined>
  describe(): string
}

/** A fixed list (`--p2p.preconfer`), for chains without L1. */
export function staticPreconfers(addresses: string[]): PreconferSet {
  const allowed = new Set(addresses.map((a) => a.toLowerCase()))
  return {
    async allows(signer) {
      return allowed.has(signer.toLowerCase())
    },
    describe: () => `--p2p.preconfer ${[...allowed].join(',') || '(none: every preconfirmed block is refused)'}`,
  }
}

/**
 * The Inbox's preconf whitelist on L1: every whitelisted operator may sign. (The whitelist rotates
 * the *current* operator by L1 epoch; accepting any member keeps blocks signed just before a
 * rotation valid while they propagate.) Read at most every `refreshMs`; the last good answer is
 * kept when L1 does not answer.
 */
export function l1Preconfers(l1: PublicClient, inbox: `0x${string}`, logger: Logger, refreshMs = 12_000): PreconferSet {
  let whitelist: `0x${string}` | undefined
  let operators: Set<string> | undefined
  let readAt = 0
  let reading: Promise<void> | undefined
  const refresh = async () => {
    try {
      whitelist ??= (await l1.readContract({
        address: inbox,
        abi: inboxAbi,
        functionName: 'preconfWhitelist',
      })) as `0x${string}`
      const list = (await l1.readContract({
        address: whitelist,
        abi: preconfWhitelistAbi,
        functionName: 'operators',
      })) as readonly string[]
      operators = new Set(list.map((a) => a.toLowerCase()))
      readAt = Date.now()
    } catch (error) {
      logger.warn({ err: error, inbox }, 'cannot read the preconf whitelist from L1; keeping the last known operators')
      readAt = Date.now() - refreshMs / 2 // retry sooner than a full period
    }
  }
  return {
    async allows(signer) {
      if (Date.now() - readAt >= refreshMs) {
        reading ??= refresh().finally(() => {
          reading = undefined
        })
        // The first read must finish; later ones refresh in the background.
        if (operators === undefined) await reading
      }
      return operators?.has(signer.toLowerCase())
    },
    describe: () => `the L1 preconf whitelist of Inbox ${inbox}`,
  }
}
