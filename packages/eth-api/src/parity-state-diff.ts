import type { PrestateAccount } from '@cairn/tracer'

/** One field's change in Parity's stateDiff: unchanged, born, died, or changed. */
export type ParityDiff = '=' | { '+': string } | { '-': string } | { '*': { from: string; to: string } }

export interface ParityAccountDiff {
  balance: ParityDiff
  code: ParityDiff
  nonce: ParityDiff
  storage: Record<string, ParityDiff>
}

const ZERO_WORD = `0x${'00'.repeat(32)}`

/**
 * Parity's `stateDiff` from prestateTracer's diff (geth's `diffMode`, which keeps only the accounts
 * and slots a transaction changed, and leaves out what is zero or empty). An account absent before
 * is born (`+` for each field), one absent after died (`-`), any other account shows each field as
 * unchanged (`=`) or changed (`*`, from and to). Accounts and slots are sorted, as Parity's maps are.
 */
export function parityStateDiff(diff: {
  pre: Record<string, PrestateAccount>
  post: Record<string, PrestateAccount>
}): Record<string, ParityAccountDiff> {
  const result: Record<string, ParityAccountDiff> = {}
  for (const address of sortedKeys(diff.pre, diff.post)) {
    const before = diff.pre[address]
    const after = diff.post[address]
    if (before === undefined || after === undefined) {
      const [side, account] = before === undefined ? (['+', after!] as const) : (['-', before] as const)
      result[address] = {
        balance: { [side]: account.balance ?? '0x0' } as ParityDiff,
        code: { [side]: account.code ?? '0x' } as ParityDiff,
        nonce: { [side]: quantity(account.nonce ?? 0) } as ParityDiff,
        storage: Object.fromEntries(
          sortedKeys(account.storage ?? {}).map((slot) => [slot, { [side]: account.storage![slot]! } as ParityDiff]),
        ),
      }
      continue
    }
    const storage: Record<string, ParityDiff> = {}
    // Left out after means zero now; left out before means zero then.
    for (const slot of sortedKeys(before.storage ?? {}, after.storage ?? {})) {
      const from = before.storage?.[slot] ?? ZERO_WORD
      const to = after.storage?.[slot] ?? ZERO_WORD
      if (from !== to) storage[slot] = { '*': { from, to } }
    }
    result[address] = {
      balance: changed(before.balance ?? '0x0', after.balance),
      code: changed(before.code ?? '0x', after.code),
      nonce: changed(quantity(before.nonce ?? 0), after.nonce === undefined ? undefined : quantity(after.nonce)),
      storage,
    }
  }
  return result
}

/** geth's diff names a field after only when it changed. */
function changed(from: string, to: string | undefined): ParityDiff {
  return to === undefined || to === from ? '=' : { '*': { from, to } }
}

function quantity(value: number): string {
  return `0x${value.toString(16)}`
}

function sortedKeys(...records: Record<string, unknown>[]): string[] {
  return [...new Set(records.flatMap((record) => Object.keys(record)))].sort()
}
