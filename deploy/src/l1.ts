import {
  authorityAttestationVerifierAbi,
  authorityAttestationVerifierBytecode,
  cairnProxyAbi,
  cairnProxyBytecode,
  cairnTimelockAbi,
  cairnTimelockBytecode,
  composeVerifierAbi,
  composeVerifierBytecode,
  forcedInclusionStoreAbi,
  forcedInclusionStoreBytecode,
  inboxAbi,
  inboxBytecode,
  preconfWhitelistAbi,
  preconfWhitelistBytecode,
  teeVerifierAbi,
  teeVerifierBytecode,
  VERIFIER_IDS,
} from '@cairn/contracts'
import { CairnError } from '@cairn/primitives'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import {
  type Abi,
  type Address,
  BaseError,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  getAddress,
  type Hex,
  http,
  isAddressEqual,
  keccak256,
  type PublicClient,
  toHex,
  zeroAddress,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { DeployConfig } from './config.ts'

/** The proxied L1 contracts, in deployment order (each may need the ones before it). */
export const PROXIED_CONTRACTS = [
  'preconfWhitelist',
  'forcedInclusionStore',
  'attestationVerifier',
  'teeVerifier',
  'composeVerifier',
  'inbox',
] as const
export type ProxiedContract = (typeof PROXIED_CONTRACTS)[number]

/** The addresses file written by the deploy script. */
export type L1Deployment = {
  l1ChainId: number
  deployer: Address
  timelock: Address
} & Record<ProxiedContract, Address> & { implementations: Record<ProxiedContract, Address> }

export type DeployL1Options = {
  rpcUrl: string
  /** Deployer private key; it owns the contracts only until the final step hands them to the timelock. */
  deployerKey: Hex
  /** Addresses JSON: read to resume or skip, written after every deployed contract. */
  outFile?: string
  /** Report what would be done without sending transactions. */
  dryRun?: boolean
  log?: (line: string) => void
}

export type DeployL1Result = {
  /** Complete unless this was a dry run over a missing or partial deployment. */
  deployment: L1Deployment | undefined
  /** What was done (or, in a dry run, would be done); empty when everything already matched. */
  actions: string[]
  transactionsSent: number
}

const ERC1967_IMPLEMENTATION_SLOT: Hex = '0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc'
const PROPOSER_ROLE = keccak256(toHex('PROPOSER_ROLE'))
const EXECUTOR_ROLE = keccak256(toHex('EXECUTOR_ROLE'))

const ARTIFACTS = {
  preconfWhitelist: { abi: preconfWhitelistAbi, bytecode: preconfWhitelistBytecode },
  forcedInclusionStore: { abi: forcedInclusionStoreAbi, bytecode: forcedInclusionStoreBytecode },
  attestationVerifier: { abi: authorityAttestationVerifierAbi, bytecode: authorityAttestationVerifierBytecode },
  teeVerifier: { abi: teeVerifierAbi, bytecode: teeVerifierBytecode },
  composeVerifier: { abi: composeVerifierAbi, bytecode: composeVerifierBytecode },
  inbox: { abi: inboxAbi, bytecode: inboxBytecode },
} as const satisfies Record<ProxiedContract, { abi: Abi; bytecode: Hex }>

export function sufficientMasks(config: DeployConfig): number[] {
  const masks = config.verifier.sufficient.map((combo) =>
    combo.reduce((mask, name) => mask | (1 << VERIFIER_IDS[name]), 0),
  )
  return [...new Set(masks)].sort((a, b) => a - b)
}

function readDeploymentFile(path: string | undefined): Partial<L1Deployment> {
  if (!path || !existsSync(path)) return {}
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<L1Deployment>
  } catch (cause) {
    throw new CairnError('DEPLOY_OUT_FILE_INVALID', `Cannot parse the addresses file ${path}; fix or remove it.`, {
      cause,
    })
  }
}

async function hasCode(client: PublicClient, address: Address | undefined): Promise<boolean> {
  if (!address) return false
  const code = await client.getCode({ address })
  return code !== undefined && code !== '0x'
}

/**
 * Deploys and wires the L1 suite: a TimelockController, then each contract as UUPS implementation
 * plus ERC-1967 proxy, wiring, and finally ownership to the timelock. Idempotent: whatever the
 * addresses file and the chain show as already done and matching is skipped, so a second run
 * sends no transaction. A setting that differs on a contract already owned by the timelock is an
 * error (only a timelocked operation can change it).
 */
export async function deployL1(config: DeployConfig, options: DeployL1Options): Promise<DeployL1Result> {
  const log = options.log ?? (() => {})
  const dryRun = options.dryRun ?? false
  const account = privateKeyToAccount(options.deployerKey)
  const transport = http(options.rpcUrl)
  const client = createPublicClient({ transport })
  const wallet = createWalletClient({ account, transport })

  const chainId = await client.getChainId().catch((error: unknown) => {
    const reason = error instanceof BaseError ? error.shortMessage.replace(/\.$/, '') : String(error)
    throw new CairnError(
      'DEPLOY_RPC_UNREACHABLE',
      `The RPC ${options.rpcUrl} did not answer eth_chainId (${reason}); check --rpc and that the L1 node is running.`,
      { cause: error },
    )
  })
  if (chainId !== config.l1ChainId) {
    throw new CairnError(
      'DEPLOY_WRONG_CHAIN',
      `The RPC ${options.rpcUrl} serves chain ${chainId} but the config's l1ChainId is ${config.l1ChainId}.`,
    )
  }
  const previous = readDeploymentFile(options.outFile)
  if (previous.l1ChainId !== undefined && previous.l1ChainId !== chainId) {
    throw new CairnError(
      'DEPLOY_OUT_FILE_OTHER_CHAIN',
      `${options.outFile} records a deployment on chain ${previous.l1ChainId}, not ${chainId}; use another --out.`,
    )
  }
  const state: Partial<L1Deployment> = {
    ...previous,
    l1ChainId: chainId,
    deployer: previous.deployer ?? account.address,
    implementations: { ...(previous.implementations ?? {}) } as Record<ProxiedContract, Address>,
  }
  const actions: string[] = []
  let transactionsSent = 0

  const save = () => {
    if (!options.outFile || dryRun) return
    mkdirSync(dirname(options.outFile), { recursive: true })
    writeFileSync(options.outFile, `${JSON.stringify(state, null, 2)}\n`)
  }
  const confirm = async (hash: Hex, what: string) => {
    const receipt = await client.waitForTransactionReceipt({ hash })
    transactionsSent++
    if (receipt.status !== 'success') {
      throw new CairnError('DEPLOY_TX_REVERTED', `Transaction for "${what}" reverted (${hash}).`)
    }
    return receipt
  }
  const deploy = async (what: string, abi: Abi, bytecode: Hex, args: readonly unknown[]): Promise<Address> => {
    actions.push(what)
    log(`${dryRun ? '[dry-run] would ' : ''}${what}`)
    if (dryRun) return zeroAddress
    const hash = await wallet.deployContract({ abi, bytecode, args, chain: null })
    const receipt = await confirm(hash, what)
    if (!receipt.contractAddress) throw new CairnError('DEPLOY_NO_ADDRESS', `No contract address for "${what}".`)
    return getAddress(receipt.contractAddress)
  }

  // 1. Timelock.
  if (await hasCode(client, state.timelock)) {
    await checkTimelock(client, state.timelock!, config)
  } else {
    const address = await deploy('deploy CairnTimelock', cairnTimelockAbi, cairnTimelockBytecode, [
      BigInt(config.timelock.minDelaySeconds),
      config.timelock.proposers,
      config.timelock.executors,
    ])
    if (!dryRun) state.timelock = address
    save()
  }

  // 2. Implementations and proxies, initialized with the deployer as owner until step 4.
  const deployer = account.address
  const initData = (name: ProxiedContract): Hex | undefined => {
    switch (name) {
      case 'preconfWhitelist':
        return encodeFunctionData({
          abi: preconfWhitelistAbi,
          functionName: 'initialize',
          args: [deployer, BigInt(config.preconf.epochLength), config.preconf.operators],
        })
      case 'forcedInclusionStore': {
        const fi = config.forcedInclusion
        return encodeFunctionData({
          abi: forcedInclusionStoreAbi,
          functionName: 'initialize',
          args: [deployer, BigInt(fi.feeWei), BigInt(fi.inclusionDelay), BigInt(fi.staleWindow), fi.maxCalldataBytes],
        })
      }
      case 'attestationVerifier':
        return encodeFunctionData({
          abi: authorityAttestationVerifierAbi,
          functionName: 'initialize',
          args: [deployer, config.verifier.tee.attestationAuthority],
        })
      case 'teeVerifier':
        if (!state.attestationVerifier) return undefined
        return encodeFunctionData({
          abi: teeVerifierAbi,
          functionName: 'initialize',
          args: [deployer, state.attestationVerifier, BigInt(config.verifier.tee.maxInstanceValiditySeconds)],
        })
      case 'composeVerifier':
        return encodeFunctionData({ abi: composeVerifierAbi, functionName: 'initialize', args: [deployer] })
      case 'inbox':
        if (!state.preconfWhitelist || !state.forcedInclusionStore || !state.composeVerifier) return undefined
        return encodeFunctionData({
          abi: inboxAbi,
          functionName: 'initialize',
          args: [
            deployer,
            inboxConfig(config),
            state.preconfWhitelist,
            state.forcedInclusionStore,
            state.composeVerifier,
            config.genesis.blockHash,
            config.genesis.stateRoot,
          ],
        })
    }
  }
  for (const name of PROXIED_CONTRACTS) {
    if (await hasCode(client, state[name])) {
      const slot = await client.getStorageAt({ address: state[name]!, slot: ERC1967_IMPLEMENTATION_SLOT })
      const implementation = getAddress(`0x${(slot ?? '0x').slice(-40).padStart(40, '0')}`)
      if (!isAddressEqual(implementation, state.implementations![name])) {
        throw new CairnError(
          'DEPLOY_STATE_MISMATCH',
          `${name} proxy ${state[name]} points at ${implementation}, not the recorded ${state.implementations![name]}.`,
        )
      }
      continue
    }
    const { abi, bytecode } = ARTIFACTS[name]
    let implementation = state.implementations![name]
    if (!(await hasCode(client, implementation))) {
      implementation = await deploy(`deploy ${name} implementation`, abi, bytecode, [])
      if (!dryRun) state.implementations![name] = implementation
      save()
    }
    const data = initData(name)
    const proxy = await deploy(`deploy ${name} proxy`, cairnProxyAbi, cairnProxyBytecode, [
      implementation,
      data ?? '0x',
    ])
    if (!dryRun) state[name] = proxy
    save()
  }

  const complete = state.timelock !== undefined && PROXIED_CONTRACTS.every((name) => state[name] !== undefined)
  if (!complete) {
    actions.push('wire contracts and hand ownership to the timelock')
    return { deployment: undefined, actions, transactionsSent }
  }
  const d = state as L1Deployment

  // 3. Wiring and settings, each checked against the chain first.
  const ensure = async (
    what: string,
    target: { address: Address; abi: Abi },
    matches: () => Promise<boolean>,
    functionName: string,
    args: readonly unknown[],
  ) => {
    if (await matches()) return
    const owner = (await client.readContract({ ...target, functionName: 'owner' })) as Address
    if (!isAddressEqual(owner, deployer)) {
      throw new CairnError(
        'DEPLOY_NEEDS_TIMELOCK',
        `${what}: the on-chain value differs from the config, and the contract at ${target.address} is owned by ${owner}; change it through a timelock operation.`,
      )
    }
    actions.push(what)
    log(`${dryRun ? '[dry-run] would ' : ''}${what}`)
    if (dryRun) return
    const hash = await wallet.writeContract({ ...target, functionName, args, chain: null })
    await confirm(hash, what)
  }
  const store = { address: d.forcedInclusionStore, abi: forcedInclusionStoreAbi as Abi }
  const compose = { address: d.composeVerifier, abi: composeVerifierAbi as Abi }
  const read = <T>(target: { address: Address; abi: Abi }, functionName: string, args: readonly unknown[] = []) =>
    client.readContract({ ...target, functionName, args }) as Promise<T>

  await ensure(
    'wire inbox into forcedInclusionStore',
    store,
    async () => isAddressEqual(await read<Address>(store, 'inbox'), d.inbox),
    'setInbox',
    [d.inbox],
  )
  const verifierAddresses: [number, Address][] = [
    [VERIFIER_IDS.TEE, d.teeVerifier],
    [VERIFIER_IDS.ZK_CIRCUIT, config.verifier.zkCircuit ?? zeroAddress],
    [VERIFIER_IDS.ZKVM, config.verifier.zkvm ?? zeroAddress],
  ]
  for (const [id, address] of verifierAddresses) {
    await ensure(
      `set compose verifier ${id} to ${address}`,
      compose,
      async () => isAddressEqual(await read<Address>(compose, 'verifiers', [id]), address),
      'setVerifier',
      [id, address],
    )
  }
  const wanted = new Set(sufficientMasks(config))
  for (let mask = 1; mask < 8; mask++) {
    await ensure(
      `set proof combination ${mask} ${wanted.has(mask) ? 'sufficient' : 'insufficient'}`,
      compose,
      async () => (await read<boolean>(compose, 'isSufficient', [mask])) === wanted.has(mask),
      'setSufficient',
      [mask, wanted.has(mask)],
    )
  }
  await checkSettings(client, d, config)

  // 4. Ownership to the timelock, last, so the steps above could still be done by the deployer.
  for (const name of PROXIED_CONTRACTS) {
    const target = { address: d[name], abi: ARTIFACTS[name].abi as Abi }
    await ensure(
      `transfer ${name} ownership to the timelock`,
      target,
      async () => isAddressEqual(await read<Address>(target, 'owner'), d.timelock),
      'transferOwnership',
      [d.timelock],
    )
  }
  save()
  return { deployment: d, actions, transactionsSent }
}

function inboxConfig(config: DeployConfig) {
  const c = config.inbox
  return {
    l2ChainId: BigInt(config.l2ChainId),
    ringBufferSize: BigInt(c.ringBufferSize),
    maxBlocksPerBatch: c.maxBlocksPerBatch,
    maxBlobsPerBatch: c.maxBlobsPerBatch,
    anchorWindow: c.anchorWindow,
    fallbackWindow: BigInt(c.fallbackWindow),
    basedMode: c.basedMode,
    maxBatchesToVerify: c.maxBatchesToVerify,
  }
}

function mismatch(what: string, onChain: unknown, wanted: unknown): CairnError {
  const show = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x))
  return new CairnError(
    'DEPLOY_STATE_MISMATCH',
    `${what} on chain is ${show(onChain)} but the config wants ${show(wanted)}; change it through a timelock operation or deploy afresh with another --out.`,
  )
}

async function checkTimelock(client: PublicClient, timelock: Address, config: DeployConfig): Promise<void> {
  const minDelay = await client.readContract({ address: timelock, abi: cairnTimelockAbi, functionName: 'getMinDelay' })
  if (minDelay !== BigInt(config.timelock.minDelaySeconds)) {
    throw mismatch('timelock.minDelaySeconds', minDelay, config.timelock.minDelaySeconds)
  }
  for (const [role, members, field] of [
    [PROPOSER_ROLE, config.timelock.proposers, 'timelock.proposers'],
    [EXECUTOR_ROLE, config.timelock.executors, 'timelock.executors'],
  ] as const) {
    for (const member of members) {
      const has = await client.readContract({
        address: timelock,
        abi: cairnTimelockAbi,
        functionName: 'hasRole',
        args: [role, member],
      })
      if (!has) throw mismatch(`${field} membership of ${member}`, false, true)
    }
  }
}

/** Settings fixed at initialization: compared, and reported when they differ. */
async function checkSettings(client: PublicClient, d: L1Deployment, config: DeployConfig): Promise<void> {
  const onChainInbox = await client.readContract({ address: d.inbox, abi: inboxAbi, functionName: 'getConfig' })
  const wantedInbox = inboxConfig(config)
  for (const key of Object.keys(wantedInbox) as (keyof typeof wantedInbox)[]) {
    if (onChainInbox[key] !== wantedInbox[key]) throw mismatch(`inbox.${key}`, onChainInbox[key], wantedInbox[key])
  }
  const operators = await client.readContract({
    address: d.preconfWhitelist,
    abi: preconfWhitelistAbi,
    functionName: 'operators',
  })
  const sameOperators =
    operators.length === config.preconf.operators.length &&
    config.preconf.operators.every((op) => operators.some((onChain) => isAddressEqual(onChain, op)))
  if (!sameOperators) throw mismatch('preconf.operators', operators, config.preconf.operators)
  const epochLength = await client.readContract({
    address: d.preconfWhitelist,
    abi: preconfWhitelistAbi,
    functionName: 'epochLength',
  })
  if (epochLength !== BigInt(config.preconf.epochLength)) {
    throw mismatch('preconf.epochLength', epochLength, config.preconf.epochLength)
  }
  const fee = await client.readContract({
    address: d.forcedInclusionStore,
    abi: forcedInclusionStoreAbi,
    functionName: 'fee',
  })
  if (fee !== BigInt(config.forcedInclusion.feeWei))
    throw mismatch('forcedInclusion.feeWei', fee, config.forcedInclusion.feeWei)
  const authority = await client.readContract({
    address: d.attestationVerifier,
    abi: authorityAttestationVerifierAbi,
    functionName: 'authority',
  })
  if (!isAddressEqual(authority, config.verifier.tee.attestationAuthority)) {
    throw mismatch('verifier.tee.attestationAuthority', authority, config.verifier.tee.attestationAuthority)
  }
}
