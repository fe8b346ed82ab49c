import { paramsBlock } from '@ethereumjs/block'
import { createCommonFromGethGenesis, type Common, type CustomCrypto, type ParamsDict } from '@ethereumjs/common'
import { paramsEVM } from '@ethereumjs/evm'
import { paramsTx } from '@ethereumjs/tx'
import { paramsVM } from '@ethereumjs/vm'
import { CairnError } from './errors.ts'
import { DEV_ACCOUNTS } from './dev-accounts.ts'
import { isHex, type Hex } from './hex.ts'
import { preinstallsAlloc } from './preinstalls.ts'

/** Chain id of the dev genesis: distinct from anvil's 31337 so L1 and L2 signatures never replay across. */
export const DEV_CHAIN_ID = 77077n

export interface GenesisAccount {
  balance?: Hex | string
  nonce?: Hex | string | number
  code?: Hex
  storage?: Record<Hex, Hex>
}

/** Geth-style genesis file (the subset Cairn reads); hardforks up to Prague must be active at genesis. */
export interface GethGenesisFile {
  config: { chainId: number; [fork: string]: unknown }
  nonce?: Hex
  timestamp: Hex | string
  extraData?: Hex
  gasLimit: Hex
  difficulty?: Hex
  mixHash?: Hex
  coinbase?: Hex
  baseFeePerGas?: Hex
  alloc: Record<string, GenesisAccount>
}

export class GenesisError extends CairnError {
  override readonly name = 'GenesisError'
  constructor(message: string) {
    super('INVALID_GENESIS', message)
  }
}

const PRAGUE_AT_GENESIS = {
  homesteadBlock: 0,
  eip150Block: 0,
  eip155Block: 0,
  eip158Block: 0,
  byzantiumBlock: 0,
  constantinopleBlock: 0,
  petersburgBlock: 0,
  istanbulBlock: 0,
  muirGlacierBlock: 0,
  berlinBlock: 0,
  londonBlock: 0,
  arrowGlacierBlock: 0,
  grayGlacierBlock: 0,
  mergeNetsplitBlock: 0,
  shanghaiTime: 0,
  cancunTime: 0,
  pragueTime: 0,
  terminalTotalDifficulty: 0,
  terminalTotalDifficultyPassed: true,
  // ethereumjs reads the blob schedule from the genesis; an L2 never carries blobs but Cancun headers need it.
  blobSchedule: {
    cancun: { target: 3, max: 6, baseFeeUpdateFraction: 3338477 },
    prague: { target: 6, max: 9, baseFeeUpdateFraction: 5007716 },
  },
} as const

/**
 * The dev chain: chain id {@link DEV_CHAIN_ID}, 60M gas blocks, the ten dev accounts funded with
 * 10,000 ETH each and the {@link preinstallsAlloc preinstalls}.
 */
export function devGenesis(
  options: { chainId?: bigint; extraAlloc?: Record<string, GenesisAccount> } = {},
): GethGenesisFile {
  const alloc: Record<string, GenesisAccount> = {}
  for (const { address } of DEV_ACCOUNTS) alloc[address.toLowerCase()] = { balance: '0x21e19e0c9bab2400000' } // 10,000 ETH
  Object.assign(alloc, preinstallsAlloc(), options.extraAlloc)
  return {
    config: { chainId: Number(options.chainId ?? DEV_CHAIN_ID), ...PRAGUE_AT_GENESIS },
    nonce: '0x0',
    timestamp: '0x0',
    extraData: '0x',
    gasLimit: '0x3938700', // 60,000,000
    difficulty: '0x0',
    mixHash: '0x0000000000000000000000000000000000000000000000000000000000000000',
    coinbase: '0x0000000000000000000000000000000000000000',
    baseFeePerGas: '0x3b9aca00', // 1 gwei
    alloc,
  }
}

/** Checks a parsed genesis file and returns it typed; errors name the field that is wrong. */
export function parseGenesis(value: unknown): GethGenesisFile {
  if (typeof value !== 'object' || value === null) throw new GenesisError('genesis must be a JSON object')
  const g = value as Record<string, unknown>
  const config = g.config as Record<string, unknown> | undefined
  if (typeof config !== 'object' || config === null) throw new GenesisError('genesis.config is missing')
  if (!Number.isSafeInteger(config.chainId) || (config.chainId as number) <= 0)
    throw new GenesisError(`genesis.config.chainId must be a positive integer, got ${JSON.stringify(config.chainId)}`)
  for (const fork of ['shanghaiTime', 'cancunTime', 'pragueTime'] as const) {
    if (config[fork] !== 0) throw new GenesisError(`genesis.config.${fork} must be 0: Cairn runs Prague from genesis`)
  }
  if (!isHex(g.gasLimit))
    throw new GenesisError(`genesis.gasLimit must be a hex quantity, got ${JSON.stringify(g.gasLimit)}`)
  if (typeof g.alloc !== 'object' || g.alloc === null) throw new GenesisError('genesis.alloc must be an object')
  for (const [address, account] of Object.entries(g.alloc as Record<string, unknown>)) {
    const normalized = address.startsWith('0x') ? address : `0x${address}`
    if (!isHex(normalized, { bytes: 20 })) throw new GenesisError(`genesis.alloc has an invalid address: ${address}`)
    if (typeof account !== 'object' || account === null)
      throw new GenesisError(`genesis.alloc[${address}] must be an object`)
  }
  return { timestamp: '0x0', ...(g as object) } as GethGenesisFile
}

/** The ethereumjs Common for a genesis, Prague active, with optional native crypto plugged in. */
export function createChainCommon(genesis: GethGenesisFile, customCrypto?: CustomCrypto): Common {
  const withSchedule = { ...genesis, config: { ...PRAGUE_AT_GENESIS, ...genesis.config } }
  const common = createCommonFromGethGenesis(withSchedule as never, {
    chain: `cairn-${genesis.config.chainId}`,
    hardfork: 'prague',
    ...(customCrypto ? { customCrypto } : {}),
  })
  return premergeParams(common, [paramsTx, paramsBlock, paramsVM, paramsEVM])
}

/**
 * Every transaction, header, VM and EVM constructor merges its parameter set into its Common, rebuilding the whole parameter cache (~30 µs per transaction). Copies share the parameter
 * tables, so merging those sets once here and skipping the repeats is equivalent and free.
 */
function premergeParams(common: Common, sets: ParamsDict[]): Common {
  for (const params of sets) common.updateParams(params)
  const merge = common.updateParams
  common.updateParams = function (this: Common, params: ParamsDict) {
    if (!sets.includes(params)) merge.call(this, params)
  }
  return common
}
