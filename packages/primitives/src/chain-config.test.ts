import { describe, expect, it } from 'vitest'
import { mnemonicToAccount } from 'viem/accounts'
import { DEV_ACCOUNTS, DEV_MNEMONIC } from './dev-accounts.ts'
import { DEV_CHAIN_ID, createChainCommon, devGenesis, parseGenesis } from './chain-config.ts'

describe('dev accounts', () => {
  it('are the first ten accounts of the standard test mnemonic', () => {
    DEV_ACCOUNTS.forEach((account, addressIndex) => {
      const derived = mnemonicToAccount(DEV_MNEMONIC, { addressIndex })
      expect(derived.address).toBe(account.address)
    })
  })
})

describe('chain config', () => {
  it('builds a Prague common with the genesis chain id', () => {
    const common = createChainCommon(devGenesis())
    expect(common.chainId()).toBe(DEV_CHAIN_ID)
    expect(common.hardfork()).toBe('prague')
    expect(common.isActivatedEIP(7702)).toBe(true)
  })

  it('rejects a genesis without Prague at genesis, naming the field', () => {
    const genesis = devGenesis() as unknown as { config: Record<string, unknown> }
    genesis.config.pragueTime = 100
    expect(() => parseGenesis(genesis)).toThrow(/pragueTime must be 0/)
  })

  it('rejects a malformed alloc address', () => {
    expect(() => parseGenesis({ ...devGenesis(), alloc: { '0x1234': { balance: '0x1' } } })).toThrow(/invalid address/)
  })
})
