import { inboxAbi, preconfWhitelistAbi } from '@cairn/contracts'
import type { Logger } from '@cairn/telemetry'
import type { PublicClient } from 'viem'

/** Who may sign preconfirmed blocks. `undefined`: not known yet (L1 unreachable), so neither accept nor punish. */
export interface PreconferSet {
  allows(signer: string): Promise<boolean | undefined>
  describe(): string
  /** Stops background reads, if any. */
  close?(): void
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
 * rotation valid while they propagate.) Read at once, then every `refreshMs` in the background, so
 * an operator added or removed on L1 is honoured within one period and no block waits on L1; when
 * L1 does not answer, the last good list is kept and the read retried sooner.
 */
export function l1Preconfers(l1: PublicClient, inbox: `0x${string}`, logger: Logger, refreshMs = 12_000): PreconferSet {
  let whitelist: `0x${string}` | undefined
  let operators: Set<string> | undefined
  let timer: NodeJS.Timeout | undefined
  let closed = false
  const read = async (): Promise<Set<string>> => {
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
    return new Set(list.map((a) => a.toLowerCase()))
  }
  const refresh = async (): Promise<void> => {
    let next = refreshMs
    try {
      const fresh = await read()
      if (operators === undefined || !sameMembers(operators, fresh)) {
        logger.info({ whitelist, operators: [...fresh] }, 'preconf whitelist read from L1')
      }
      operators = fresh
    } catch (error) {
      logger.warn({ err: error, inbox }, 'cannot read the preconf whitelist from L1; keeping the last known operators')
      next = refreshMs / 2
    }
    if (!closed) {
      timer = setTimeout(() => void refresh(), next)
      timer.unref()
    }
  }
  const first = refresh()
  return {
    async allows(signer) {
      // Until L1 has answered once, the answer is "not known" (the block is ignored, not punished).
      if (operators === undefined) await first
      return operators?.has(signer.toLowerCase())
    },
    describe: () => `the L1 preconf whitelist of Inbox ${inbox} (read every ${refreshMs / 1000} s)`,
    close() {
      closed = true
      clearTimeout(timer)
    },
  }
}

function sameMembers(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x))
}
