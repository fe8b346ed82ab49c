/**
 * Stateless proving cost per batch: a batch of blocks of pre-signed transfers (ETH or ERC-20) is
 * built on a level-backed node, then
 * - stateful: a second node that holds the parent state (a follower) re-imports the same blocks
 *   with `BlockExecutor.import` (timed: execution and sealing; the level write is timed apart);
 * - witness: the first node builds the batch witness (`buildBatchWitness`, timed) and serializes it
 *   (JSON size);
 * - stateless: the JSON is parsed and re-executed with `executeWitness` (timed together), which
 *   must reproduce the batch's last block hash and state root.
 * Run: npx tsx packages/proof/bench/witness.bench.ts [txPerBlock] [blocks]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Block, createBlockFromRLP } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { type TypedTransaction, createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bytesToHex, generateAddress, hexToBytes, privateToAddress, setLengthLeft } from '@ethereumjs/util'
import type { ChainStore } from '@cairn/chain'
import { anchorGenesisAlloc } from '@cairn/contracts'
import { type BlockExecutor, arraySource } from '@cairn/executor'
import { DEV_ACCOUNTS, type GethGenesisFile, type L1Anchor, devGenesis } from '@cairn/primitives'
import type { StateDB } from '@cairn/state'
import { compileBenchToken } from '../../executor/bench/erc20.ts'
import { openGenesisChain } from '@cairn/executor/testing'
import { benchAlloc, benchSenderKeys } from '../../executor/bench/workload.ts'
import { buildBatchWitness, executeWitness, parseWitness, serializeWitness } from '../src/index.ts'

export interface WitnessBenchResult {
  kind: 'eth' | 'erc20'
  blocks: number
  txs: number
  gasUsed: bigint
  /** Serialized JSON witness (what `cairn_getBatchWitness` returns). */
  witnessBytes: number
  accounts: number
  storageProofs: number
  /** Trie nodes on the account and storage proof paths (as carried, duplicates included). */
  proofNodes: number
  /** Distinct proof-path nodes. */
  uniqueProofNodes: number
  /** Bytes (decoded) of the blocks' RLP, of the proof-path nodes as carried, and of the distinct ones. */
  blockBytes: number
  proofBytes: number
  uniqueProofBytes: number
  /** Extra pre-state nodes off the proof paths (`nodes`). */
  extraNodes: number
  codes: number
  buildMs: number
  parseMs: number
  /** parseWitness + executeWitness. */
  statelessMs: number
  /** BlockExecutor.import of the batch on a node holding the parent state. */
  statefulMs: number
  /** The follower's level writes of the batch (appendBlock), not part of statefulMs. */
  persistMs: number
}

const hexBytes = (items: Iterable<string>) => {
  let n = 0
  for (const item of items) n += (item.length - 2) / 2
  return n
}

const FEE = { maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n }
const ANCHOR: L1Anchor = {
  number: 7n,
  hash: setLengthLeft(Uint8Array.of(7, 0xaa), 32),
  stateRoot: setLengthLeft(Uint8Array.of(7, 0xbb), 32),
}

interface BenchNode {
  common: Common
  chain: ChainStore
  state: StateDB
  executor: BlockExecutor
  close(): Promise<void>
}

async function openNode(genesisFile: GethGenesisFile): Promise<BenchNode> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-witness-bench-'))
  const { common, database, chain, state, executor } = await openGenesisChain(dir, genesisFile)
  return {
    common,
    chain,
    state,
    executor,
    close: async () => {
      await database.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export async function benchWitness(
  kind: 'eth' | 'erc20',
  options: { txPerBlock?: number; blocks?: number } = {},
): Promise<WitnessBenchResult> {
  const txPerBlock = options.txPerBlock ?? 200
  const blockCount = options.blocks ?? 5
  const senders = benchSenderKeys(txPerBlock)
  const genesisFile = devGenesis({ extraAlloc: { ...anchorGenesisAlloc(), ...benchAlloc(senders) } })
  const node = await openNode(genesisFile)
  const follower = await openNode(genesisFile)
  try {
    const { common, chain, state, executor } = node
    const built: Block[] = []
    const seal = async (txs: TypedTransaction[]) => {
      const parent = chain.head()
      const { executed, rejected } = await executor.build(
        parent,
        { timestamp: parent.header.timestamp + 2n, anchor: ANCHOR },
        arraySource(txs),
      )
      if (rejected.length > 0) throw new Error(`bench transactions rejected: ${rejected[0]!.reason}`)
      if (executed.block.transactions.length !== txs.length)
        throw new Error(`only ${executed.block.transactions.length} of ${txs.length} transactions fit a block`)
      await chain.appendBlock(
        { block: executed.block, receipts: executed.receipts, senders: executed.senders },
        state.pendingBatch(),
      )
      built.push(executed.block)
    }

    let token: `0x${string}` | undefined
    let transferData: ((to: string, amount: bigint) => Uint8Array) | undefined
    if (kind === 'erc20') {
      // Setup blocks before the batch: deploy the token and hand every sender a balance.
      const { bytecode, abiTransfer } = compileBenchToken()
      transferData = abiTransfer
      const deployer = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)
      await seal([
        createFeeMarket1559Tx({ nonce: 0n, gasLimit: 3_000_000n, data: bytecode, ...FEE }, { common }).sign(deployer),
      ])
      token = bytesToHex(generateAddress(privateToAddress(deployer), new Uint8Array(0)))
      await seal(
        senders.map((key, i) =>
          createFeeMarket1559Tx(
            {
              nonce: BigInt(i + 1),
              to: token,
              gasLimit: 100_000n,
              data: abiTransfer(bytesToHex(privateToAddress(key)), 10n ** 24n),
              ...FEE,
            },
            { common },
          ).sign(deployer),
        ),
      )
    }
    const firstBlock = BigInt(built.length + 1)

    // The batch: every sender sends one transfer per block to a fresh recipient.
    for (let b = 0; b < blockCount; b++) {
      await seal(
        senders.map((key, i) => {
          const recipient: `0x${string}` = `0x${(0x10000 + b * txPerBlock + i).toString(16).padStart(40, '0')}`
          return kind === 'eth'
            ? createFeeMarket1559Tx(
                { nonce: BigInt(b), to: recipient, value: 1n, gasLimit: 21_000n, ...FEE },
                { common },
              ).sign(key)
            : createFeeMarket1559Tx(
                { nonce: BigInt(b), to: token, gasLimit: 100_000n, data: transferData!(recipient, 1n), ...FEE },
                { common },
              ).sign(key)
        }),
      )
    }
    const batch = built.slice(Number(firstBlock) - 1)
    const last = batch[batch.length - 1]!

    // Stateful: the follower imports the setup blocks (not measured), then the batch.
    const importOn = async (block: Block, parent: Block) => {
      const started = performance.now()
      const executed = await follower.executor.import(parent, block)
      const imported = performance.now()
      await follower.chain.appendBlock(
        { block: executed.block, receipts: executed.receipts, senders: executed.senders },
        follower.state.pendingBatch(),
      )
      return { importMs: imported - started, persistMs: performance.now() - imported }
    }
    // It gets the blocks as bytes, like from gossip: decoded afresh, no sender cached from signing.
    const received = built.map((block) => createBlockFromRLP(block.serialize(), { common: follower.common }))
    let parent = follower.chain.head()
    for (const block of received.slice(0, Number(firstBlock) - 1)) {
      await importOn(block, parent)
      parent = block
    }
    let statefulMs = 0
    let persistMs = 0
    for (const block of received.slice(Number(firstBlock) - 1)) {
      const t = await importOn(block, parent)
      statefulMs += t.importMs
      persistMs += t.persistMs
      parent = block
    }
    if (
      !follower.chain
        .head()
        .hash()
        .every((byte, i) => byte === last.hash()[i])
    )
      throw new Error('the follower did not reach the batch head')

    // Witness (node side).
    let started = performance.now()
    const witness = await buildBatchWitness({ common, chain, state, firstBlock, lastBlock: last.header.number })
    const buildMs = performance.now() - started
    const json = serializeWitness(witness)

    // Stateless re-execution from the JSON alone.
    started = performance.now()
    const parsed = parseWitness(json)
    const parseMs = performance.now() - started
    const result = await executeWitness(parsed, { common })
    const statelessMs = performance.now() - started
    if (
      result.transition.blockHash !== bytesToHex(last.hash()) ||
      result.transition.stateRoot !== bytesToHex(last.header.stateRoot)
    )
      throw new Error(
        `stateless re-execution reached ${result.transition.blockHash} / ${result.transition.stateRoot}, the node ${bytesToHex(last.hash())} / ${bytesToHex(last.header.stateRoot)}`,
      )

    const proofPaths = witness.accounts.flatMap((a) => [...a.accountProof, ...a.storageProof.flatMap((s) => s.proof)])
    return {
      kind,
      blocks: batch.length,
      txs: result.transactions,
      gasUsed: result.gasUsed,
      witnessBytes: Buffer.byteLength(json),
      accounts: witness.accounts.length,
      storageProofs: witness.accounts.reduce((n, a) => n + a.storageProof.length, 0),
      proofNodes: proofPaths.length,
      uniqueProofNodes: new Set(proofPaths).size,
      blockBytes: hexBytes(witness.blocks),
      proofBytes: hexBytes(proofPaths),
      uniqueProofBytes: hexBytes(new Set(proofPaths)),
      extraNodes: witness.nodes.length,
      codes: witness.codes.length,
      buildMs,
      parseMs,
      statelessMs,
      statefulMs,
      persistMs,
    }
  } finally {
    await node.close()
    await follower.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const txPerBlock = Number(process.argv[2] ?? 200)
  const blocks = Number(process.argv[3] ?? 5)
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`
  for (const kind of ['eth', 'erc20'] as const) {
    const r = await benchWitness(kind, { txPerBlock, blocks })
    console.log(
      `witness ${kind === 'eth' ? 'ETH' : 'ERC-20'} transfers, ${r.blocks} blocks x ${txPerBlock} txs (${(Number(r.gasUsed) / 1e6).toFixed(1)} Mgas):`,
    )
    const row: [string, string][] = [
      ['txs', String(r.txs)],
      ['witness bytes', `${r.witnessBytes} (${kib(r.witnessBytes)})`],
      ['bytes/tx', String(Math.round(r.witnessBytes / r.txs))],
      ['build ms', String(Math.round(r.buildMs))],
      ['stateless ms', String(Math.round(r.statelessMs))],
      ['stateful ms', String(Math.round(r.statefulMs))],
      ['stateless/stateful', `${(r.statelessMs / r.statefulMs).toFixed(2)}x`],
    ]
    const widths = row.map(([head, value]) => Math.max(head.length, value.length))
    console.log(`  | ${row.map(([head], i) => head.padStart(widths[i]!)).join(' | ')} |`)
    console.log(`  | ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`)
    console.log(`  | ${row.map(([, value], i) => value.padStart(widths[i]!)).join(' | ')} |`)
    console.log(
      `  ${r.accounts} account proofs, ${r.storageProofs} storage proofs, ${r.proofNodes} proof nodes (${r.uniqueProofNodes} distinct), ${r.extraNodes} extra nodes, ${r.codes} codes\n  binary: blocks ${kib(r.blockBytes)}, proof nodes ${kib(r.proofBytes)} (${kib(r.uniqueProofBytes)} distinct); parse ${Math.round(r.parseMs)} ms of stateless; follower persist ${Math.round(r.persistMs)} ms (not in stateful)`,
    )
  }
}
