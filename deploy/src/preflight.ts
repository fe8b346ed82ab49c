// What deploy:l1 checks before it sends anything: that nodes can follow the Inbox it initializes (the
// config's `genesis` is the block 0 of the genesis `genesis:l2` makes from the same config), and that
// someone can act from every address the config gives a role or funds. testnet.template.json's
// placeholders fail both, so a public L1 deployment cannot go out with them.
import { CairnError } from '@cairn/primitives'
import type { DeployConfig } from './config.ts'
import { configL2Genesis, genesisBlock } from './genesis.ts'

/**
 * Anvil's (and Hardhat's) chain id. A config for it without `l2Genesis` is a local one (config/local.json):
 * its `genesis` is a placeholder, and the devnet deploys with the genesis it makes itself (the dev
 * accounts funded), so its `genesis` is not checked.
 */
export const LOCAL_L1_CHAIN_ID = 31337

/**
 * The highest reserved address: no one can act from an address whose first 18 bytes are zero. That is
 * the zero address, the precompiles (0x01–0x11 up to Prague, P256VERIFY at 0x0100) and the rest of the
 * range kept for precompiles (up to 0x…ffff); a key's or a contract's address lands there with odds of
 * 2^-144, so such an address is a placeholder (or a burn address such as 0x…dead).
 */
export const HIGHEST_RESERVED_ADDRESS = 0xffffn

/** Whether `address` is the zero address, a precompile or another reserved address (at most 0x…ffff). */
export function isReservedAddress(address: string): boolean {
  return BigInt(address) <= HIGHEST_RESERVED_ADDRESS
}

/** An address the config expects someone to act from, and the config field it is in. */
export interface ActingAddress {
  /** The field's path, as config errors name it: `timelock.proposers.0`, `l2Genesis.alloc.0x…`. */
  field: string
  address: string
}

/**
 * Every address that must act: the timelock's proposers and executors, the preconf operators, the TEE
 * attestation authority, and the accounts `l2Genesis` funds (someone must spend a faucet's ether).
 * `verifier.zkCircuit` and `verifier.zkvm` are contracts deployed already, not roles.
 */
export function actingAddresses(config: DeployConfig): ActingAddress[] {
  const list = (field: string, addresses: readonly string[]) =>
    addresses.map((address, i) => ({ field: `${field}.${i}`, address }))
  return [
    ...list('timelock.proposers', config.timelock.proposers),
    ...list('timelock.executors', config.timelock.executors),
    ...list('preconf.operators', config.preconf.operators),
    { field: 'verifier.tee.attestationAuthority', address: config.verifier.tee.attestationAuthority },
    ...Object.keys(config.l2Genesis?.alloc ?? {}).map((address) => ({ field: `l2Genesis.alloc.${address}`, address })),
  ]
}

/** `timelock.proposers.0 is 0x…`; a funded account is its field's key, so `l2Genesis.alloc funds 0x…`. */
function describe({ field, address }: ActingAddress): string {
  return field === `l2Genesis.alloc.${address}` ? `l2Genesis.alloc funds ${address}` : `${field} is ${address}`
}

/** DEPLOY_ADDRESS_UNUSABLE naming every acting address that is reserved ({@link isReservedAddress}), if any. */
export function unusableAddresses(config: DeployConfig, configFile?: string): CairnError | undefined {
  const reserved = actingAddresses(config).filter(({ address }) => isReservedAddress(address))
  if (reserved.length === 0) return undefined
  const funded = reserved.some(({ field }) => field.startsWith('l2Genesis.'))
  return new CairnError(
    'DEPLOY_ADDRESS_UNUSABLE',
    `${configFile ?? 'the config'} gives roles or funds to addresses no one can act from (the zero address, a precompile or another address up to 0x…ffff): ${reserved.map(describe).join(', ')}; put the real ones there (the timelock's proposers and executors, typically a multisig; the preconf operators' and the TEE attestation authority's keys; the faucet)${funded ? `, then run genesis:l2 with --update-config again, as l2Genesis.alloc is part of the L2 genesis` : ''}.`,
    { details: { fields: reserved.map(({ field }) => field) } },
  )
}

/**
 * DEPLOY_GENESIS_MISMATCH if the config's `genesis` is not block 0 of the L2 genesis `genesis:l2` makes
 * from it ({@link configL2Genesis}, hashed by a `cairn node` as there: a few seconds). A local config
 * ({@link LOCAL_L1_CHAIN_ID}, no `l2Genesis`) is not checked.
 */
export async function genesisMismatch(config: DeployConfig, configFile?: string): Promise<CairnError | undefined> {
  if (isLocalConfig(config)) return undefined
  const expected = await genesisBlock(configL2Genesis(config))
  const { blockHash, stateRoot } = config.genesis
  if (blockHash === expected.blockHash.toLowerCase() && stateRoot === expected.stateRoot.toLowerCase()) return undefined
  const made =
    config.l2Genesis === undefined
      ? 'its l2ChainId gives (with the predeploys alone: it has no l2Genesis)'
      : 'its l2ChainId and l2Genesis give'
  return new CairnError(
    'DEPLOY_GENESIS_MISMATCH',
    `the "genesis" of ${configFile ?? 'the config'} (block hash ${blockHash}, state root ${stateRoot}) is not block 0 of the L2 genesis ${made} (block hash ${expected.blockHash}, state root ${expected.stateRoot}): no node would follow an Inbox initialized with it. Run \`npm run genesis:l2 -w @cairn/deploy -- --config ${configFile ?? 'FILE'} --update-config\`, which writes that genesis for the nodes and its block 0 into "genesis".`,
    { details: { configured: config.genesis, expected } },
  )
}

/** Whether the config is a local one, whose `genesis` the devnet supplies (see {@link LOCAL_L1_CHAIN_ID}). */
export function isLocalConfig(config: DeployConfig): boolean {
  return config.l1ChainId === LOCAL_L1_CHAIN_ID && config.l2Genesis === undefined
}

/**
 * Everything that makes the config unfit to deploy, each a CairnError with its code (empty when it is
 * fit): the genesis mismatch and the unusable addresses. The messages name `configFile` (as given to
 * deploy:l1, so the command they suggest runs as it is).
 */
export async function deployConfigProblems(config: DeployConfig, configFile?: string): Promise<CairnError[]> {
  const problems = [await genesisMismatch(config, configFile), unusableAddresses(config, configFile)]
  return problems.filter((problem) => problem !== undefined)
}
