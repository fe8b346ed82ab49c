// Helpers for the rollup end-to-end tests: a devnet in a temp dir started through the same code as
// `npm run devnet`, typed reads of the nodes and the Inbox, and waits that explain themselves on timeout.
import { mkdtempSync, rmSync } from 'node:fs'
import type { BatchMeta } from '@cairn/contracts'
import cKzg from 'c-kzg'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  defineKzg,
  type Hex,
  http,
  type Kzg,
  type PublicClient,
  parseEther,
  parseEventLogs,
  parseGwei,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { type Devnet, type DevnetOptions, startDevnet } from '../../deploy/src/devnet-stack.ts'
import { jsonRpc, tail } from '../../deploy/src/devnet-process.ts'

export { type Devnet, type DevnetOptions, startDevnet } from '../../deploy/src/devnet-stack.ts'
export { createManagedProcess, type ManagedProcess, tail } from '../../deploy/src/devnet-process.ts'

export interface HeadPointer {
  number: number
  hash: Hex
}

/** `cairn_syncStatus`: what L1 the node has seen and derived, and its L2 heads. */
export interface SyncStatus {
  l1Head: HeadPointer | null
  l1Finalized: HeadPointer | null
  l1Derived: HeadPointer | null
  latest: HeadPointer & { timestamp: number }
  safe: HeadPointer & { timestamp: number }
  finalized: HeadPointer & { timestamp: number }
  /** The last L2 block of the last batch the Inbox verified (null on a node without L1). */
  verified: (HeadPointer & { stateRoot: Hex }) | null
}

export interface TestDevnet extends Devnet {
  l1: PublicClient
  /** Clients of the sequencer and each follower. */
  sequencerClient: PublicClient
  followerClients: PublicClient[]
  /** Log tails of every process (for failure messages). */
  logTails(lines?: number): string
  /** Stops everything and removes the temp dir. */
  cleanup(): Promise<void>
}

/**
 * A devnet in a fresh temp dir with free ports, short block times and quick polling, so the tests
 * see proposals within seconds. Same code path as `npm run devnet`.
 */
export async function startTestDevnet(options: DevnetOptions = {}): Promise<TestDevnet> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'cairn-devnet-'))
  const devnet = await startDevnet({
    fresh: true,
    l1BlockTime: 1,
    slotsInAnEpoch: 3,
    l2BlockTime: 2,
    anchorLag: 1,
    l1PollInterval: 0.5,
    ...options,
    proposerArgs: ['--poll-interval', '0.5', '--max-batch-age', '2', ...(options.proposerArgs ?? [])],
    dir,
  })
  const l1 = createPublicClient({ transport: http(devnet.info.l1.rpc) })
  const l2Chain = defineChain({
    id: devnet.info.l2.chainId,
    name: 'cairn-devnet',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [devnet.info.l2.sequencer.rpc] } },
  })
  const client = (url: string) => createPublicClient({ chain: l2Chain, transport: http(url) }) as PublicClient
  return {
    ...devnet,
    l1,
    sequencerClient: client(devnet.info.l2.sequencer.rpc),
    followerClients: devnet.info.l2.followers.map((f) => client(f.rpc)),
    logTails(lines = 30) {
      // anvil logs every RPC method name: only its last lines say anything.
      return [devnet.anvil, devnet.sequencer, ...devnet.followers, devnet.proposer, devnet.prover]
        .map((p) => `--- ${p.name} (${p.logFile}) ---\n${tail(p.logs(), p === devnet.anvil ? 5 : lines)}`)
        .join('\n')
    },
    async cleanup() {
      await devnet.stop()
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A JSON-RPC call returning `result`, throwing with the server's message on an error (the devnet's own). */
export const rpcCall = jsonRpc

export function syncStatus(url: string): Promise<SyncStatus> {
  return rpcCall<SyncStatus>(url, 'cairn_syncStatus')
}

/**
 * Polls `check` until it returns a value other than undefined/false. On timeout the error says what
 * was awaited, the last observation and (via `context`) the processes' log tails.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  let lastError: unknown
  while (true) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      lastError = error
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}${
          options.context ? `\n${options.context()}` : ''
        }`,
      )
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250))
  }
}

/**
 * Stops the devnet's proposer and waits until its L1 account has no pending transaction: a proposal
 * it sent just before stopping may still be in the L1 mempool, and has to land before a test reads
 * the Inbox as the proposer left it.
 */
export async function stopProposerAndDrain(
  devnet: Pick<TestDevnet, 'info' | 'l1' | 'proposer'>,
  options: { timeoutMs?: number; context?: () => string } = {},
): Promise<void> {
  await devnet.proposer.stop()
  const address = devnet.info.accounts.proposer.address
  await waitFor(
    'the stopped proposer to have nothing in flight on L1',
    async () => {
      const [pending, mined] = await Promise.all([
        devnet.l1.getTransactionCount({ address, blockTag: 'pending' }),
        devnet.l1.getTransactionCount({ address, blockTag: 'latest' }),
      ])
      return pending === mined
    },
    { timeoutMs: options.timeoutMs ?? 30_000, context: options.context },
  )
}

/** One `BatchProposed` event as the tests look at it. */
export interface ProposedBatchEvent {
  batchId: bigint
  proposer: Address
  firstBlockId: bigint
  lastBlockId: bigint
  blockTimestamps: bigint[]
  anchorBlockId: bigint
  blobHashes: Hex[]
  /** How many forced inclusions the proposal consumed. */
  forcedInclusions: number
  l1BlockNumber: bigint
  txHash: Hex
}

/** Every `BatchProposed` on the canonical L1 chain, in order. */
export async function proposedBatches(l1: PublicClient, inbox: Address): Promise<ProposedBatchEvent[]> {
  const { inboxAbi } = await import('@cairn/contracts')
  const logs = await l1.getContractEvents({ address: inbox, abi: inboxAbi, eventName: 'BatchProposed', fromBlock: 0n })
  return logs.map((log) => batchEventOf(log.args.meta!, log.blockNumber, log.transactionHash))
}

/**
 * Drops every L1 block above `keep` (an L1 reorg), with anvil's interval mining paused around it.
 *
 * anvil's `anvil_rollback` does not take its mining lock (v1.7.1 and foundry's main as of 2026-12):
 * a block mined alongside it lands on the unwound chain at its old number, built on the dropped
 * state, while the state is reset underneath it. L1 then holds a log (a `BatchProposed` of id 3
 * ahead of a re-proposed id 2, as one CI run had) that its own state never saw. `evm_mine`
 * waits for a block in flight; a rollback that still finds a stray block is done again.
 */
export async function rollbackL1(rpc: string, keep: bigint): Promise<void> {
  const interval = await jsonRpc<number | null>(rpc, 'anvil_getIntervalMining', [])
  await jsonRpc(rpc, 'evm_setIntervalMining', [0])
  try {
    await jsonRpc(rpc, 'evm_mine', [])
    for (let attempt = 1; ; attempt++) {
      const head = BigInt(await jsonRpc<Hex>(rpc, 'eth_blockNumber', []))
      if (head === keep) return
      if (attempt > 3) throw new Error(`anvil's head is ${head} after ${attempt - 1} rollbacks to block ${keep}`)
      await jsonRpc(rpc, 'anvil_rollback', [Number(head - keep)])
    }
  } finally {
    if (interval !== null && interval > 0) await jsonRpc(rpc, 'evm_setIntervalMining', [interval])
  }
}

function batchEventOf(meta: BatchMeta, l1BlockNumber: bigint, txHash: Hex): ProposedBatchEvent {
  return {
    batchId: meta.batchId,
    proposer: meta.proposer,
    firstBlockId: meta.firstBlockId,
    lastBlockId: meta.firstBlockId + BigInt(meta.blocks.length) - 1n,
    blockTimestamps: meta.blocks.map((b) => b.timestamp),
    anchorBlockId: meta.anchorBlockId,
    blobHashes: [...meta.blobHashes],
    forcedInclusions: meta.forcedInclusions.length,
    l1BlockNumber,
    txHash,
  }
}

/**
 * Checks the proposals form one chain: ids 1, 2, 3… and each batch starts right after the previous
 * one's last block (so no L2 block is proposed twice and none is skipped). Returns a problem or undefined.
 */
export function batchChainProblem(batches: ProposedBatchEvent[]): string | undefined {
  let nextBlock = 1n
  for (const [i, b] of batches.entries()) {
    if (b.batchId !== BigInt(i + 1)) return `batch #${i} has id ${b.batchId}, expected ${i + 1}`
    if (b.firstBlockId !== nextBlock)
      return `batch ${b.batchId} starts at L2 block ${b.firstBlockId}, expected ${nextBlock}`
    nextBlock = b.lastBlockId + 1n
  }
  return undefined
}

export interface BlockSummary {
  number: bigint
  hash: Hex
  stateRoot: Hex
  timestamp: bigint
  transactions: Hex[]
}

export async function blockSummary(client: PublicClient, number: bigint): Promise<BlockSummary | undefined> {
  const block = await client.getBlock({ blockNumber: number }).catch(() => undefined)
  if (block === undefined || block === null) return undefined
  return {
    number: block.number,
    hash: block.hash,
    stateRoot: block.stateRoot,
    timestamp: block.timestamp,
    transactions: block.transactions as Hex[],
  }
}

/** The first block in [from, to] where the two nodes differ (hash or state root), or undefined. */
export async function firstDifference(
  a: PublicClient,
  b: PublicClient,
  from: bigint,
  to: bigint,
): Promise<{ number: bigint; a: BlockSummary | undefined; b: BlockSummary | undefined } | undefined> {
  for (let n = from; n <= to; n++) {
    const [x, y] = await Promise.all([blockSummary(a, n), blockSummary(b, n)])
    if (x === undefined || y === undefined || x.hash !== y.hash || x.stateRoot !== y.stateRoot)
      return { number: n, a: x, b: y }
  }
  return undefined
}

/** Sends `count` ETH transfers from one dev key to fresh addresses; returns their hashes. */
export async function sendTransfers(rpcUrl: string, chainId: number, privateKey: Hex, count: number): Promise<Hex[]> {
  const account = privateKeyToAccount(privateKey)
  const chain = defineChain({
    id: chainId,
    name: 'cairn-devnet',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const wallet = createWalletClient({ account, chain, transport: http(rpcUrl) })
  const client = createPublicClient({ chain, transport: http(rpcUrl) })
  let nonce = await client.getTransactionCount({ address: account.address, blockTag: 'pending' })
  const hashes: Hex[] = []
  for (let i = 0; i < count; i++) {
    const to = privateKeyToAccount(`0x${(BigInt(privateKey) + BigInt(i + 1) * 7919n).toString(16).padStart(64, '0')}`)
    hashes.push(
      await wallet.sendTransaction({
        to: to.address,
        value: parseEther('0.001'),
        nonce: nonce++,
        gas: 21_000n,
        maxFeePerGas: 10_000_000_000n,
        maxPriorityFeePerGas: 1_000_000n,
      }),
    )
  }
  return hashes
}

/** Waits until the node has a successful receipt for every hash; returns the highest block holding one. */
export async function waitForReceipts(
  client: PublicClient,
  hashes: Hex[],
  options: { timeoutMs?: number; context?: () => string } = {},
): Promise<bigint> {
  let highest = 0n
  const pending = new Set(hashes)
  await waitFor(
    `${hashes.length} receipts`,
    async () => {
      for (const hash of [...pending]) {
        const receipt = await client.getTransactionReceipt({ hash }).catch(() => undefined)
        if (receipt === undefined) continue
        if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`)
        if (receipt.blockNumber > highest) highest = receipt.blockNumber
        pending.delete(hash)
      }
      return pending.size === 0
    },
    options,
  )
  return highest
}

let kzg: Kzg | undefined
/** c-kzg with its bundled mainnet trusted setup, loaded once per process (~2 s). */
export function loadKzg(): Kzg {
  if (kzg === undefined) {
    cKzg.loadTrustedSetup(0)
    kzg = defineKzg(cKzg)
  }
  return kzg
}

/**
 * Proposes a batch straight to the Inbox, as any L1 account may in based mode: the given blobs and
 * block parameters, built on the Inbox's last batch, anchored to the L1 block before the head.
 * Returns the decoded event. Timestamps default to the later of the last proposed block's and the
 * L1 head's, so the Inbox accepts them.
 */
export async function proposeRawBatch(
  devnet: Pick<TestDevnet, 'info' | 'l1'>,
  privateKey: Hex,
  blobs: Hex[] | Uint8Array[],
  blocks: { timestamp?: bigint; gasLimit?: number; coinbase?: Address }[],
): Promise<ProposedBatchEvent> {
  const { inboxAbi } = await import('@cairn/contracts')
  const account = privateKeyToAccount(privateKey)
  const wallet = createWalletClient({ account, transport: http(devnet.info.l1.rpc) })
  const inbox = devnet.info.contracts.inbox
  const state = await devnet.l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getState' })
  const head = await devnet.l1.getBlock()
  const timestamp = state.lastBlockTimestamp > head.timestamp ? state.lastBlockTimestamp : head.timestamp
  const anchor = head.number - 1n > state.lastAnchorBlockId ? head.number - 1n : state.lastAnchorBlockId
  const hash = await wallet.writeContract({
    address: inbox,
    abi: inboxAbi,
    functionName: 'proposeBatch',
    chain: null,
    args: [
      {
        parentMetaHash: state.lastMetaHash,
        anchorBlockId: anchor,
        numBlobs: blobs.length,
        numForcedInclusions: 0,
        blocks: blocks.map((b) => ({
          timestamp: b.timestamp ?? timestamp,
          gasLimit: b.gasLimit ?? 60_000_000,
          coinbase: b.coinbase ?? account.address,
        })),
      },
    ],
    blobs,
    kzg: loadKzg(),
    maxFeePerBlobGas: parseGwei('30'),
    gas: 1_000_000n,
  })
  const receipt = await devnet.l1.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') {
    // The usual cause is a race with another proposer: say what the Inbox holds now.
    const now = await devnet.l1.readContract({ address: inbox, abi: inboxAbi, functionName: 'getState' })
    throw new Error(
      `proposeBatch ${hash} reverted (sent on parent ${state.lastMetaHash}, batch ${state.nextBatchId}, anchor ${anchor}; ` +
        `the Inbox now has parent ${now.lastMetaHash}, next batch ${now.nextBatchId})`,
    )
  }
  const [event] = parseEventLogs({ abi: inboxAbi, eventName: 'BatchProposed', logs: receipt.logs })
  if (event === undefined) throw new Error(`proposeBatch ${hash} emitted no BatchProposed`)
  return batchEventOf(event.args.meta, receipt.blockNumber, hash)
}
