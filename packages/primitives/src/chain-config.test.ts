import { describe, expect, it } from 'vitest'
import { keccak256 } from 'viem'
import { mnemonicToAccount } from 'viem/accounts'
import { DEV_ACCOUNTS, DEV_MNEMONIC } from './dev-accounts.ts'
import { DEV_CHAIN_ID, createChainCommon, devGenesis, parseGenesis } from './chain-config.ts'
import { CREATE2_DEPLOYER_ADDRESS, MULTICALL3_ADDRESS } from './preinstalls.ts'

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

describe('preinstalls', () => {
  it('are in the dev genesis with the code pinned here', () => {
    const { alloc } = devGenesis()
    // A changed constant changes every chain's genesis: it has to be deliberate.
    expect(keccak256(alloc[CREATE2_DEPLOYER_ADDRESS]!.code!)).toBe(
      '0x2fa86add0aed31f33a762c9d88e807c475bd51d0f52bd0955754b2608f7e4989',
    )
    expect(keccak256(alloc[MULTICALL3_ADDRESS]!.code!)).toBe(
      '0x5a29a1eb2f59e45e4249b938c8192cac0d2bd32398e1afa03f302a867db692ea',
    )
  })
})
