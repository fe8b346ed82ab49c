import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Block } from '@ethereumjs/block'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { createAddressFromString, hexToBytes } from '@ethereumjs/util'
import { afterEach, describe, expect, it } from 'vitest'
import { arraySource, nativeCustomCrypto } from '@cairn/executor'
import { openGenesisChain } from '@cairn/executor/testing'
import { Mempool } from '@cairn/mempool'
import type { SignedBlock } from '@cairn/p2p'
import { DEV_ACCOUNTS, SerialLock, createChainCommon, devGenesis } from '@cairn/primitives'
import { createLogger, createMetricsRegistry } from '@cairn/telemetry'
import { HeadStateReader } from './head-state-reader.ts'
import { PreconfImporter } from './preconf-import.ts'

const common = createChainCommon(devGenesis(), nativeCustomCrypto())
const dirs: string[] = []
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A node's chain, state and executor on a fresh level database holding the dev genesis. */
async function openChain() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-preconf-'))
  dirs.push(dir)
  const { database, chain, state, executor } = await openGenesisChain(dir, devGenesis(), common)
  closers.push(() => database.close())
  /** Builds a block with `transfers` ETH transfers on the latest head and appends it. */
  const extend = async (transfers: number, timestampStep: bigint): Promise<Block> => {
    const parent = chain.head()
    const account = await executor.state.getAccount(createAddressFromString(DEV_ACCOUNTS[0]!.address))
    const txs = Array.from({ length: transfers }, (_, i) =>
      createFeeMarket1559Tx(
        {
          nonce: (account?.nonce ?? 0n) + BigInt(i),
          to: DEV_ACCOUNTS[1]!.address,
          value: 1n,
          gasLimit: 21_000n,
          maxFeePerGas: parent.header.calcNextBaseFee() * 2n,
          maxPriorityFeePerGas: 1n,
          chainId: common.chainId(),
        },
        { common },
      ).sign(hexToBytes(DEV_ACCOUNTS[0]!.privateKey)),
    )
    const { executed } = await executor.build(
      parent,
      { timestamp: parent.header.timestamp + timestampStep },
      arraySource(txs),
    )
    await chain.appendBlock(executed, state.pendingBatch())
    return executed.block
  }
  return { chain, state, executor, extend }
}

/** A follower: a chain with a preconfirmation importer whose peers have nothing to offer. */
async function openFollower(checkedBlocks?: WeakMap<SignedBlock, Block>) {
  const node = await openChain()
  const metrics = createMetricsRegistry()
  const lock = new SerialLock()
  const importer = new PreconfImporter({
    common,
    chain: node.chain,
    state: node.state,
    executor: node.executor,
    mempool: new Mempool({ common, state: new HeadStateReader(node.chain, node.state) }),
    lock,
    p2p: {
      peers: () => [],
      requestBlocksByRange: async () => [],
      requestHead: async () => undefined,
      penalizePeer: () => {},
    },
    verify: async () => 'accept',
    checkedBlocks,
    logger: createLogger({ level: 'silent' }),
    metrics,
  })
  /** Hands `block` to the importer as gossip and waits until it has been handled. */
  const gossip = async (block: Block) => {
    importer.enqueue({ block: block.serialize(), signature: new Uint8Array(65) }, 'peer-a')
    await importer.stop()
  }
  const imports = async (result: string) =>
    (await metrics.getSingleMetric('cairn_p2p_block_imports_total')!.get()).values.find(
      (v) => v.labels.source === 'gossip' && v.labels.result === result,
    )?.value ?? 0
  return { ...node, importer, lock, gossip, imports }
}

describe('PreconfImporter', () => {
  it('refuses a preconfirmed block whose branch leaves the chain below the safe head, and keeps safe', async () => {
    // The preconfer's chain P1..P3, and the chain L1 decided on instead: D1 (P1's batch was replaced), D2.
    const preconfer = await openChain()
    const p1 = await preconfer.extend(3, 2n)
    const p2 = await preconfer.extend(2, 2n)
    const p3 = await preconfer.extend(1, 2n)
    const l1Chain = await openChain()
    const d1 = await l1Chain.extend(0, 5n)
    const d2 = await l1Chain.extend(1, 2n)

    const follower = await openFollower()
    await follower.gossip(p1)
    await follower.gossip(p2)
    expect(follower.chain.head('latest').hash()).toEqual(p2.hash())

    // Derivation, as its pipeline does: D1 replaces the unsafe P1, P2 (still stored) and becomes safe.
    const genesis = (await follower.chain.getBlockByNumber(0n))!.block
    const executed = await follower.executor.import(genesis, d1)
    await follower.chain.putBlock(executed, follower.state.pendingBatch())
    await follower.chain.setLatest(d1.hash())
    await follower.chain.setHead('safe', d1.hash())

    // P3 arrives late: its parent P2 is stored and its number is above safe, but its branch forks
    // below safe. Importing it would make it latest and take safe back to genesis.
    await follower.gossip(p3)
    expect(await follower.imports('off-safe-branch')).toBe(1)
    expect(follower.chain.head('latest').hash()).toEqual(d1.hash())
    expect(follower.chain.head('safe').hash()).toEqual(d1.hash())
    expect(await follower.chain.getBlockRecord(p3.hash())).toBeUndefined()

    // A block on the safe branch still imports on top.
    await follower.gossip(d2)
    expect(await follower.imports('imported')).toBe(3)
    expect(follower.chain.head('latest').hash()).toEqual(d2.hash())
    expect(follower.chain.head('safe').hash()).toEqual(d1.hash())
  })

  it('counts the blocks it holds and has not imported yet as its backlog', async () => {
    const preconfer = await openChain()
    const p1 = await preconfer.extend(1, 2n)
    const p2 = await preconfer.extend(1, 2n)
    const follower = await openFollower()
    expect(follower.importer.backlog).toBe(0)
    // The head lock is held (as while the node builds or derives): both blocks wait for it.
    let release: (() => void) | undefined
    const held = follower.lock.run(() => new Promise<void>((resolve) => (release = resolve)))
    await new Promise((resolve) => setImmediate(resolve))
    for (const block of [p1, p2]) {
      follower.importer.enqueue({ block: block.serialize(), signature: new Uint8Array(65) }, 'peer-a')
    }
    expect(follower.importer.backlog).toBe(2)
    release!()
    await held
    await follower.importer.stop()
    expect(follower.importer.backlog).toBe(0)
    expect(follower.chain.head('latest').hash()).toEqual(p2.hash())
  })

  it('imports a block the gossip check decoded from that decoding', async () => {
    const preconfer = await openChain()
    const p1 = await preconfer.extend(2, 2n)
    const checkedBlocks = new WeakMap<SignedBlock, Block>()
    const follower = await openFollower(checkedBlocks)
    // The bytes are not decoded again: here they are not even a block, and the import still succeeds.
    const signed = { block: new Uint8Array([0xc0]), signature: new Uint8Array(65) }
    checkedBlocks.set(signed, p1)
    follower.importer.enqueue(signed, 'peer-a')
    await follower.importer.stop()
    expect(follower.chain.head('latest').hash()).toEqual(p1.hash())
    expect(await follower.imports('imported')).toBe(1)
  })
})
