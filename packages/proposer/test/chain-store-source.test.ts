// The based node's block source against a real chain store (level on disk): blocks read back as the
// proposer needs them, and `derivedHash` answers only up to the safe head.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Block, createBlock } from '@ethereumjs/block'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bigIntToBytes, bytesToHex, hexToBytes, setLengthLeft } from '@ethereumjs/util'
import { ChainStore, NodeDatabase } from '@cairn/chain'
import { createChainCommon, DEV_ACCOUNTS, devGenesis } from '@cairn/primitives'
import { afterEach, describe, expect, it } from 'vitest'
import { ChainStoreBlockSource } from '../src/chain-store-source.ts'

const common = createChainCommon(devGenesis())
const key = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)
const dirs: string[] = []
const databases: NodeDatabase[] = []

afterEach(async () => {
  for (const database of databases.splice(0)) await database.close()
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

async function openChain() {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-proposer-source-'))
  dirs.push(dir)
  const database = await NodeDatabase.open(dir)
  databases.push(database)
  const chain = new ChainStore(database, common)
  const genesis = createBlock(
    { header: { number: 0n, gasLimit: 30_000_000n, baseFeePerGas: 1_000_000_000n } },
    { common },
  )
  await chain.initGenesis(genesis)
  return chain
}

let nonce = 0n
/** A child carrying the anchor in its header, as the executor seals them; `salt` makes siblings differ. */
function child(parent: Block, anchor: bigint, salt = 0n): Block {
  const tx = createFeeMarket1559Tx(
    { nonce: nonce++, to: key.subarray(0, 20), gasLimit: 21_000n, maxFeePerGas: 10n ** 10n, maxPriorityFeePerGas: 1n },
    { common },
  ).sign(key)
  return createBlock(
    {
      header: {
        parentHash: parent.hash(),
        number: parent.header.number + 1n,
        gasLimit: 30_000_000n,
        timestamp: parent.header.timestamp + 2n + salt,
        baseFeePerGas: 1_000_000_000n,
        coinbase: `0x${'c0'.repeat(20)}`,
        extraData: setLengthLeft(bigIntToBytes(anchor), 8),
        mixHash: hexToBytes(`0x${'ab'.repeat(32)}`),
      },
      transactions: [tx],
    },
    { common },
  )
}

const record = (block: Block) => ({ block, receipts: [], senders: [] })

describe('ChainStoreBlockSource', () => {
  it('reads the canonical blocks with their anchor and raw transactions', async () => {
    const chain = await openChain()
    const b1 = child(chain.head(), 7n)
    await chain.appendBlock(record(b1))
    const source = new ChainStoreBlockSource(chain)
    expect(await source.headNumber()).toBe(1n)
    const block = await source.blockByNumber(1n)
    expect(block).toMatchObject({
      number: 1n,
      hash: bytesToHex(b1.hash()),
      parentHash: bytesToHex(chain.head('safe').hash()),
      timestamp: b1.header.timestamp,
      gasLimit: 30_000_000n,
      coinbase: `0x${'c0'.repeat(20)}`,
      anchorBlockNumber: 7n,
      anchorBlockHash: `0x${'ab'.repeat(32)}`,
    })
    expect(block!.transactions.map((tx) => bytesToHex(tx))).toEqual([bytesToHex(b1.transactions[0]!.serialize())])
    expect(await source.blockByNumber(2n)).toBeUndefined()
  })

  it('gives derived hashes only up to the safe head, and the replacing branch after an L1 reorg', async () => {
    const chain = await openChain()
    const source = new ChainStoreBlockSource(chain)
    const own1 = child(chain.head(), 1n)
    const own2 = child(own1, 1n)
    await chain.appendBlock(record(own1))
    await chain.appendBlock(record(own2))
    expect(await source.derivedHash(0n)).toBe(bytesToHex(chain.head('safe').hash()))
    expect(await source.derivedHash(1n)).toBeUndefined() // preconfirmed only

    // L1 held another proposer's block 1: derivation replaces ours and moves safe onto it.
    const theirs1 = child(chain.head('safe'), 1n, 1n)
    await chain.putBlock(record(theirs1))
    await chain.setLatest(theirs1.hash())
    await chain.setHead('safe', theirs1.hash())
    expect(await source.derivedHash(1n)).toBe(bytesToHex(theirs1.hash()))
    expect(await source.headNumber()).toBe(1n)
    expect((await source.blockByNumber(1n))!.hash).toBe(bytesToHex(theirs1.hash()))
    expect(await source.blockByNumber(2n)).toBeUndefined()
  })
})
