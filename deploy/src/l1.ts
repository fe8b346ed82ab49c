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
  encodeDeployData,
  encodeFunctionData,
  getAddress,
  getContractAddress,
  type Hex,
  http,
  isAddressEqual,
  keccak256,
  NonceTooLowError,
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

/** An L1 block by number and hash. */
export interface L1BlockRef {
  number: number
  hash: Hex
}

/** The addresses file written by the deploy script (`--l1.deployment` of nodes, proposers and provers). */
export type L1Deployment = {
  l1ChainId: number
  deployer: Address
  /**
   * The L1 block holding the deployment's first transaction (the timelock's creation): every event of
   * the suite is in it or after it, so a follower reads L1 logs from here (`--l1.start-block`). Absent
   * only from a file written before it was recorded, when the RPC cannot read past state to find it.
   */
  startBlock?: L1BlockRef
  timelock: Address
} & Record<ProxiedContract, Address> & { implementations: Record<ProxiedContract, Address> }

/** One transaction of the deployment: what a run sends, in this order, and what a dry run lists. */
export interface PlannedTransaction {
  /** What it does, e.g. `deploy inbox proxy` or `transfer inbox ownership to the timelock`. */
  what: string
  /** The deployer's nonce it is sent with; it also fixes the address a creation deploys to. */
  nonce: number
  /** The contract called; undefined for a contract creation. */
  to: Address | undefined
  data: Hex
  /** The address a creation deploys to. */
  creates?: Address
}

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
  /** What was done (or, in a dry run, would be done): each transaction's `what`; empty when everything already matched. */
  actions: string[]
  /** The transactions sent (or, in a dry run, that a run would send), in order. */
  transactions: PlannedTransaction[]
  transactionsSent: number
}

const ERC1967_IMPLEMENTATION_SLOT: Hex = '0x360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc'
const PROPOSER_ROLE = keccak256(toHex('PROPOSER_ROLE'))
const EXECUTOR_ROLE = keccak256(toHex('EXECUTOR_ROLE'))

type Artifact = { abi: Abi; bytecode: Hex }
const TIMELOCK: Artifact = { abi: cairnTimelockAbi, bytecode: cairnTimelockBytecode }
const PROXY: Artifact = { abi: cairnProxyAbi, bytecode: cairnProxyBytecode }
const ARTIFACTS = {
  preconfWhitelist: { abi: preconfWhitelistAbi, bytecode: preconfWhitelistBytecode },
  forcedInclusionStore: { abi: forcedInclusionStoreAbi, bytecode: forcedInclusionStoreBytecode },
  attestationVerifier: { abi: authorityAttestationVerifierAbi, bytecode: authorityAttestationVerifierBytecode },
  teeVerifier: { abi: teeVerifierAbi, bytecode: teeVerifierBytecode },
  composeVerifier: { abi: composeVerifierAbi, bytecode: composeVerifierBytecode },
  inbox: { abi: inboxAbi, bytecode: inboxBytecode },
} as const satisfies Record<ProxiedContract, Artifact>

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

/** The addresses file's content, its fields in a fixed order. */
function deploymentFileText(state: Partial<L1Deployment>): string {
  const { l1ChainId, deployer, startBlock, timelock, implementations } = state
  const proxies = Object.fromEntries(PROXIED_CONTRACTS.map((name) => [name, state[name]]))
  return `${JSON.stringify({ l1ChainId, deployer, startBlock, timelock, ...proxies, implementations }, null, 2)}\n`
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
 * error (only a timelocked operation can change it). A run sends exactly the transactions
 * {@link planDeployment} lists, which is what a dry run prints.
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
  // A file written before the start block was recorded: the block the timelock was created in.
  if (state.startBlock === undefined && (await hasCode(client, state.timelock))) {
    state.startBlock = await creationBlock(client, state.timelock!).catch((error: unknown) => {
      log(
        `cannot find the block ${state.timelock} (the timelock) was created in, so ${options.outFile ?? 'the addresses file'} gets no startBlock (${error instanceof BaseError ? error.shortMessage : String(error)}); add "startBlock": {"number": N, "hash": "0x…"} of that block by hand, or give followers --l1.start-block N`,
      )
      return undefined
    })
  }

  const plan = await planDeployment(client, config, account.address, state)
  const transactions = plan.map(({ record: _record, ...tx }) => tx)
  const actions = plan.map((step) => step.what)
  const describe = (tx: PlannedTransaction) =>
    `${tx.what} (nonce ${tx.nonce}, ${tx.creates === undefined ? `to ${tx.to}` : `at ${tx.creates}`})`

  if (dryRun) {
    if (plan.length > 0) {
      log(
        `[dry-run] would send ${plan.length} transactions from ${account.address}, nonces ${plan[0]!.nonce}-${plan.at(-1)!.nonce}:`,
      )
    }
    for (const tx of transactions) log(`[dry-run] would ${describe(tx)}`)
    return {
      deployment: plan.length === 0 ? (state as L1Deployment) : undefined,
      actions,
      transactions,
      transactionsSent: 0,
    }
  }

  let transactionsSent = 0
  const save = () => {
    if (!options.outFile) return
    mkdirSync(dirname(options.outFile), { recursive: true })
    writeFileSync(options.outFile, deploymentFileText(state))
  }
  for (const step of plan) {
    log(describe(step))
    const hash = await wallet
      .sendTransaction({ to: step.to ?? null, data: step.data, nonce: step.nonce, chain: null })
      .catch((error: unknown) => {
        if (error instanceof BaseError && error.walk((e) => e instanceof NonceTooLowError) !== null) {
          throw new CairnError(
            'DEPLOY_NONCE_MOVED',
            `"${step.what}" needs nonce ${step.nonce} of ${account.address}, but that nonce was used by another transaction (is something else sending from the deployer key?). What is deployed so far is recorded${options.outFile ? ` in ${options.outFile}` : ''}; run the deployment again to continue from there.`,
            { cause: error },
          )
        }
        throw error
      })
    const receipt = await client.waitForTransactionReceipt({ hash })
    transactionsSent++
    if (receipt.status !== 'success') {
      throw new CairnError('DEPLOY_TX_REVERTED', `Transaction for "${step.what}" reverted (${hash}).`)
    }
    state.startBlock ??= { number: Number(receipt.blockNumber), hash: receipt.blockHash }
    if (step.creates !== undefined) {
      if (!receipt.contractAddress || !isAddressEqual(receipt.contractAddress, step.creates)) {
        throw new CairnError(
          'DEPLOY_NO_ADDRESS',
          `"${step.what}" created ${receipt.contractAddress ?? 'no contract'}, not ${step.creates} (${hash}).`,
        )
      }
      step.record?.(state)
      save()
    }
  }
  save()
  return { deployment: state as L1Deployment, actions, transactions, transactionsSent }
}

type PlanStep = PlannedTransaction & {
  /** A creation's bookkeeping: puts its address into the addresses file once it is mined. */
  record?: (state: Partial<L1Deployment>) => void
}

/**
 * Every transaction that brings the chain from what `state` (the addresses file) and the chain show to
 * the deployment `config` describes, in the order they must be sent. Read-only. Contracts still to be
 * deployed get the addresses the deployer's nonces give them, so later steps (initializers, wiring)
 * can name them; their settings are those their initializer sets, so wiring lists exactly the calls
 * a run will make. Settings that differ on contracts already deployed and no longer owned by the
 * deployer are refused here, before anything is sent.
 */
async function planDeployment(
  client: PublicClient,
  config: DeployConfig,
  deployer: Address,
  state: Partial<L1Deployment>,
): Promise<PlanStep[]> {
  let nonce = await client.getTransactionCount({ address: deployer, blockTag: 'pending' })
  const plan: PlanStep[] = []
  const create = (
    what: string,
    { abi, bytecode }: Artifact,
    args: readonly unknown[],
    record: (state: Partial<L1Deployment>, address: Address) => void,
  ): Address => {
    const address = getContractAddress({ from: deployer, nonce: BigInt(nonce) })
    const data = encodeDeployData({ abi, bytecode, args })
    plan.push({ what, nonce: nonce++, to: undefined, data, creates: address, record: (s) => record(s, address) })
    return address
  }

  // 1. Timelock.
  let timelock: Address
  if (await hasCode(client, state.timelock)) {
    timelock = state.timelock!
    await checkTimelock(client, timelock, config)
  } else {
    timelock = create(
      'deploy CairnTimelock',
      TIMELOCK,
      [BigInt(config.timelock.minDelaySeconds), config.timelock.proposers, config.timelock.executors],
      (s, address) => {
        s.timelock = address
      },
    )
  }

  // 2. Implementations and proxies, initialized with the deployer as owner until step 4.
  const addresses = {} as Record<ProxiedContract, Address>
  const deployedBefore = new Set<ProxiedContract>()
  for (const name of PROXIED_CONTRACTS) {
    const proxy = state[name]
    if (await hasCode(client, proxy)) {
      const slot = await client.getStorageAt({ address: proxy!, slot: ERC1967_IMPLEMENTATION_SLOT })
      const implementation = getAddress(`0x${(slot ?? '0x').slice(-40).padStart(40, '0')}`)
      const recorded = state.implementations?.[name]
      if (recorded === undefined || !isAddressEqual(implementation, recorded)) {
        throw new CairnError(
          'DEPLOY_STATE_MISMATCH',
          `${name} proxy ${proxy} points at ${implementation}, not the recorded ${recorded ?? '(none)'}; fix the addresses file or deploy afresh with another --out.`,
        )
      }
      addresses[name] = proxy!
      deployedBefore.add(name)
      continue
    }
    let implementation = state.implementations?.[name]
    if (!(await hasCode(client, implementation))) {
      implementation = create(`deploy ${name} implementation`, ARTIFACTS[name], [], (s, address) => {
        s.implementations = { ...s.implementations!, [name]: address }
      })
    }
    addresses[name] = create(
      `deploy ${name} proxy`,
      PROXY,
      [implementation, initializer(name, config, deployer, addresses)],
      (s, address) => {
        s[name] = address
      },
    )
  }
  await checkSettings(client, addresses, deployedBefore, config)

  // 3. Wiring and settings: a deployed contract is read, a new one has what its initializer set.
  const wire = async <T>(
    what: string,
    name: ProxiedContract,
    value: { read: string; args?: readonly unknown[]; fresh: T; matches: (current: T) => boolean },
    functionName: string,
    args: readonly unknown[],
  ) => {
    const target = { address: addresses[name], abi: ARTIFACTS[name].abi as Abi }
    const deployed = deployedBefore.has(name)
    const current = deployed
      ? ((await client.readContract({ ...target, functionName: value.read, args: value.args ?? [] })) as T)
      : value.fresh
    if (value.matches(current)) return
    if (deployed) {
      const owner = (await client.readContract({ ...target, functionName: 'owner' })) as Address
      if (!isAddressEqual(owner, deployer)) {
        throw new CairnError(
          'DEPLOY_NEEDS_TIMELOCK',
          `${what}: the on-chain value differs from the config, and the contract at ${target.address} is owned by ${owner}; change it through a timelock operation.`,
        )
      }
    }
    plan.push({ what, nonce: nonce++, to: target.address, data: encodeFunctionData({ ...target, functionName, args }) })
  }

  await wire(
    'wire inbox into forcedInclusionStore',
    'forcedInclusionStore',
    { read: 'inbox', fresh: zeroAddress as Address, matches: (inbox) => isAddressEqual(inbox, addresses.inbox) },
    'setInbox',
    [addresses.inbox],
  )
  const verifierAddresses: [number, Address][] = [
    [VERIFIER_IDS.TEE, addresses.teeVerifier],
    [VERIFIER_IDS.ZK_CIRCUIT, config.verifier.zkCircuit ?? zeroAddress],
    [VERIFIER_IDS.ZKVM, config.verifier.zkvm ?? zeroAddress],
  ]
  for (const [id, address] of verifierAddresses) {
    await wire(
      `set compose verifier ${id} to ${address}`,
      'composeVerifier',
      { read: 'verifiers', args: [id], fresh: zeroAddress as Address, matches: (v) => isAddressEqual(v, address) },
      'setVerifier',
      [id, address],
    )
  }
  const wanted = new Set(sufficientMasks(config))
  for (let mask = 1; mask < 8; mask++) {
    await wire(
      `set proof combination ${mask} ${wanted.has(mask) ? 'sufficient' : 'insufficient'}`,
      'composeVerifier',
      { read: 'isSufficient', args: [mask], fresh: false, matches: (is) => is === wanted.has(mask) },
      'setSufficient',
      [mask, wanted.has(mask)],
    )
  }

  // 4. Ownership to the timelock, last, so the steps above could still be done by the deployer.
  for (const name of PROXIED_CONTRACTS) {
    await wire(
      `transfer ${name} ownership to the timelock`,
      name,
      { read: 'owner', fresh: deployer, matches: (owner) => isAddressEqual(owner, timelock) },
      'transferOwnership',
      [timelock],
    )
  }
  return plan
}

/** A proxy's initializer call: the deployer owns it until ownership goes to the timelock. */
function initializer(
  name: ProxiedContract,
  config: DeployConfig,
  deployer: Address,
  addresses: Record<ProxiedContract, Address>,
): Hex {
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
      return encodeFunctionData({
        abi: teeVerifierAbi,
        functionName: 'initialize',
        args: [deployer, addresses.attestationVerifier, BigInt(config.verifier.tee.maxInstanceValiditySeconds)],
      })
    case 'composeVerifier':
      return encodeFunctionData({ abi: composeVerifierAbi, functionName: 'initialize', args: [deployer] })
    case 'inbox':
      return encodeFunctionData({
        abi: inboxAbi,
        functionName: 'initialize',
        args: [
          deployer,
          inboxConfig(config),
          addresses.preconfWhitelist,
          addresses.forcedInclusionStore,
          addresses.composeVerifier,
          config.genesis.blockHash,
          config.genesis.stateRoot,
        ],
      })
  }
}

/** The first block at which `address` has code (a binary search over past state), with its hash. */
async function creationBlock(client: PublicClient, address: Address): Promise<L1BlockRef> {
  let low = 0n
  let high = await client.getBlockNumber()
  while (low < high) {
    const middle = (low + high) / 2n
    const code = await client.getCode({ address, blockNumber: middle })
    if (code !== undefined && code !== '0x') high = middle
    else low = middle + 1n
  }
  const block = await client.getBlock({ blockNumber: low })
  return { number: Number(low), hash: block.hash }
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

/**
 * Settings fixed at initialization, on the contracts deployed before this run: compared, and reported
 * when they differ (the ones this run deploys are initialized from the config).
 */
async function checkSettings(
  client: PublicClient,
  d: Record<ProxiedContract, Address>,
  deployed: ReadonlySet<ProxiedContract>,
  config: DeployConfig,
): Promise<void> {
  if (deployed.has('inbox')) {
    const onChainInbox = await client.readContract({ address: d.inbox, abi: inboxAbi, functionName: 'getConfig' })
    const wantedInbox = inboxConfig(config)
    for (const key of Object.keys(wantedInbox) as (keyof typeof wantedInbox)[]) {
      if (onChainInbox[key] !== wantedInbox[key]) throw mismatch(`inbox.${key}`, onChainInbox[key], wantedInbox[key])
    }
  }
  if (deployed.has('preconfWhitelist')) {
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
  }
  if (deployed.has('forcedInclusionStore')) {
    const fee = await client.readContract({
      address: d.forcedInclusionStore,
      abi: forcedInclusionStoreAbi,
      functionName: 'fee',
    })
    if (fee !== BigInt(config.forcedInclusion.feeWei))
      throw mismatch('forcedInclusion.feeWei', fee, config.forcedInclusion.feeWei)
  }
  if (deployed.has('attestationVerifier')) {
    const authority = await client.readContract({
      address: d.attestationVerifier,
      abi: authorityAttestationVerifierAbi,
      functionName: 'authority',
    })
    if (!isAddressEqual(authority, config.verifier.tee.attestationAuthority)) {
      throw mismatch('verifier.tee.attestationAuthority', authority, config.verifier.tee.attestationAuthority)
    }
  }
}
