import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bytesToHex, hexToBytes, setLengthLeft } from '@ethereumjs/util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BatchMeta, anchorGenesisAlloc } from '@cairn/contracts'
import type { ChainStore, NodeDatabase } from '@cairn/chain'
import { arraySource } from '@cairn/executor'
import { openGenesisChain } from '@cairn/executor/testing'
import { DEV_ACCOUNTS, type L1Anchor, type createChainCommon, devGenesis } from '@cairn/primitives'
import type { StateDB } from '@cairn/state'
import { recoverAddress } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import {
  type BatchWitness,
  HttpProofBackend,
  TeeBackend,
  WitnessError,
  batchPublicInput,
  buildBatchWitness,
  executeWitness,
  parseWitness,
  serializeWitness,
} from './index.ts'

/**
 * Runtime of the test contract, on every call:
 *   slot0 += 1; slot1 = blockhash(number - 2); slot2 = 0
 * so a batch reads and writes storage, deletes a slot (the trie folds a branch) and reads an
 * ancestor header through BLOCKHASH.
 */
const COUNTER = '0x0000000000000000000000000000000000c0ffee' as const
const COUNTER_CODE = '0x600054600101600055600243034060015560006002550000'
const RECIPIENT = '0x00000000000000000000000000000000000b0b0b' as const
/** Clears slot 5 of its two slots {5, 6}: the storage trie's root branch folds into slot 6's leaf. */
const DELETER = '0x000000000000000000000000000000000000de1e' as const
const DELETER_CODE = '0x600060055500'
const ANCHOR: L1Anchor = {
  number: 7n,
  hash: setLengthLeft(Uint8Array.of(7, 0xaa), 32),
  stateRoot: setLengthLeft(Uint8Array.of(7, 0xbb), 32),
}

let dir: string
let database: NodeDatabase
let chain: ChainStore
let state: StateDB
let common: ReturnType<typeof createChainCommon>
let witness: BatchWitness

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-proof-'))
  const genesisFile = devGenesis({
    extraAlloc: {
      ...anchorGenesisAlloc(),
      [COUNTER]: {
        balance: '0x0',
        code: COUNTER_CODE,
        storage: {
          '0x0000000000000000000000000000000000000000000000000000000000000000': '0x05',
          '0x0000000000000000000000000000000000000000000000000000000000000002': '0x07',
          '0x0000000000000000000000000000000000000000000000000000000000000003': '0x09',
        },
      },
      [DELETER]: {
        balance: '0x0',
        code: DELETER_CODE,
        storage: {
          '0x0000000000000000000000000000000000000000000000000000000000000005': '0x01',
          '0x0000000000000000000000000000000000000000000000000000000000000006': '0x01',
        },
      },
    },
  })
  const opened = await openGenesisChain(dir, genesisFile)
  ;({ common, database, chain, state } = opened)
  const { executor } = opened
  const key = hexToBytes(DEV_ACCOUNTS[0]!.privateKey)
  let nonce = 0
  const tx = (to: `0x${string}`, value: bigint, baseFee: bigint) =>
    createFeeMarket1559Tx(
      {
        nonce: nonce++,
        to,
        value,
        gasLimit: 100_000n,
        maxFeePerGas: baseFee * 2n,
        maxPriorityFeePerGas: 1n,
        chainId: common.chainId(),
      },
      { common },
    ).sign(key)
  // Block 1: the parent of the batch. Blocks 2 and 3: the batch.
  for (let i = 0; i < 3; i++) {
    const parent = chain.head()
    const baseFee = parent.header.calcNextBaseFee()
    const txs =
      i === 0
        ? [tx(RECIPIENT, 1n, baseFee)]
        : [tx(COUNTER, 0n, baseFee), tx(RECIPIENT, 5n, baseFee), ...(i === 1 ? [tx(DELETER, 0n, baseFee)] : [])]
    const { executed, rejected } = await executor.build(
      parent,
      { timestamp: parent.header.timestamp + 2n, anchor: ANCHOR },
      arraySource(txs),
    )
    expect(rejected).toEqual([])
    await chain.appendBlock(
      { block: executed.block, receipts: executed.receipts, senders: executed.senders },
      state.pendingBatch(),
    )
  }
  witness = await buildBatchWitness({ common, chain, state, firstBlock: 2n, lastBlock: 3n })
})

afterAll(async () => {
  await database.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A deep copy to tamper with. */
const copy = (): BatchWitness => parseWitness(serializeWitness(witness))

async function rejection(
  w: BatchWitness,
  batch?: Parameters<typeof executeWitness>[1]['batch'],
): Promise<WitnessError> {
  const error = await executeWitness(w, { common, batch }).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(WitnessError)
  return error as WitnessError
}

function accountOf(w: BatchWitness, address: string) {
  const account = w.accounts.find((a) => a.address.toLowerCase() === address.toLowerCase())
  if (account === undefined) throw new Error(`no ${address} in the witness`)
  return account
}

describe('the batch witness', () => {
  it('carries proofs of the touched accounts and slots, the code, and the ancestors BLOCKHASH reads', () => {
    const counter = accountOf(witness, COUNTER)
    expect(counter.storageProof.map((s) => BigInt(s.key))).toEqual([0n, 1n, 2n])
    expect(witness.codes).toContain(COUNTER_CODE)
    expect(accountOf(witness, RECIPIENT).balance).toBe('0x1')
    // Block 2 reads blockhash(0): the genesis header is carried below the parent (block 1).
    expect(witness.ancestors).toHaveLength(1)
    expect(witness.blocks).toHaveLength(2)
  })

  it('re-executes statelessly to the same block hash and state root as the node', async () => {
    const result = await executeWitness(witness, { common })
    const head = chain.head()
    expect(result.transition).toEqual({
      parentHash: bytesToHex((await chain.getBlockByNumber(1n))!.block.hash()),
      blockHash: bytesToHex(head.hash()),
      stateRoot: bytesToHex(head.header.stateRoot),
    })
    expect(result.transactions).toBe(5)
  })

  it('survives a JSON round trip unchanged', async () => {
    const again = parseWitness(JSON.parse(serializeWitness(witness)))
    expect(again).toEqual(witness)
    expect((await executeWitness(again, { common })).transition.blockHash).toBe(bytesToHex(chain.head().hash()))
  })

  it('rejects a witness that claims a wrong balance', async () => {
    const w = copy()
    const sender = accountOf(w, DEV_ACCOUNTS[0]!.address)
    sender.balance = `0x${(BigInt(sender.balance) + 1n).toString(16)}`
    const error = await rejection(w)
    expect(error.code).toBe('WITNESS_ACCOUNT_MISMATCH')
    expect(error.message).toMatch(/balance/)
  })

  it('rejects a witness whose proof was edited to carry a wrong balance', async () => {
    const w = copy()
    const sender = accountOf(w, DEV_ACCOUNTS[0]!.address)
    // Rewrite the balance inside the leaf: the leaf no longer hashes to what its parent references.
    const leaf = sender.accountProof.at(-1)!
    const balanceHex = BigInt(sender.balance).toString(16)
    const bumped = (BigInt(sender.balance) + 1n).toString(16).padStart(balanceHex.length, '0')
    expect(leaf.includes(balanceHex)).toBe(true)
    sender.accountProof[sender.accountProof.length - 1] = leaf.replace(balanceHex, bumped) as `0x${string}`
    sender.balance = `0x${bumped}`
    expect((await rejection(w)).code).toBe('WITNESS_PROOF_INVALID')
  })

  it('rejects a witness with a wrong storage value', async () => {
    const w = copy()
    accountOf(w, COUNTER).storageProof[0]!.value = '0x6'
    expect((await rejection(w)).code).toBe('WITNESS_STORAGE_MISMATCH')
  })

  it('rejects a witness with a dropped storage slot instead of reading it as zero', async () => {
    const w = copy()
    const counter = accountOf(w, COUNTER)
    counter.storageProof = counter.storageProof.filter((s) => BigInt(s.key) !== 0n)
    const error = await rejection(w)
    expect(error.code).toBe('WITNESS_INCOMPLETE')
    expect(error.message).toMatch(/storage slot 0x0000000000000000000000000000000000c0ffee:0x0+\b/)
  })

  it('rejects a witness with a dropped account, a dropped code or a dropped ancestor', async () => {
    const noAccount = copy()
    noAccount.accounts = noAccount.accounts.filter((a) => a.address.toLowerCase() !== RECIPIENT)
    expect((await rejection(noAccount)).code).toBe('WITNESS_INCOMPLETE')

    const noCode = copy()
    noCode.codes = []
    const codeError = await rejection(noCode)
    expect(codeError.code).toBe('WITNESS_INCOMPLETE')
    expect(codeError.message).toMatch(/code/)

    const noAncestor = copy()
    noAncestor.ancestors = []
    const ancestorError = await rejection(noAncestor)
    expect(ancestorError.code).toBe('WITNESS_INCOMPLETE')
    expect(ancestorError.message).toMatch(/header of block 0/)
  })

  it('rejects a witness missing a trie node that a deletion needs', async () => {
    const w = copy()
    expect(w.nodes.length).toBeGreaterThan(0)
    w.nodes = []
    expect((await rejection(w)).code).toBe('WITNESS_INCOMPLETE')
  })

  it('rejects blocks that do not execute to their headers, or do not link to the parent', async () => {
    const forged = copy()
    // Drop block 2: block 3 no longer builds on the parent.
    forged.blocks = forged.blocks.slice(1)
    expect((await rejection(forged)).code).toBe('WITNESS_CHAIN_BROKEN')

    // A header edited to claim another state root fails at execution (its own hash changes with it).
    const { createBlockFromRLP } = await import('@ethereumjs/block')
    const last = createBlockFromRLP(hexToBytes(witness.blocks[1]!), { common })
    const { createBlock } = await import('@ethereumjs/block')
    const edited = createBlock(
      {
        header: { ...last.header.toJSON(), stateRoot: bytesToHex(new Uint8Array(32).fill(1)) },
        transactions: last.transactions.map((t) => t.toJSON()),
      },
      { common },
    )
    const lying = copy()
    lying.blocks[1] = bytesToHex(edited.serialize())
    expect((await rejection(lying)).code).toBe('WITNESS_EXECUTION_MISMATCH')
  })

  it('checks the blocks against the batch parameters L1 recorded', async () => {
    const blocks = await Promise.all([2n, 3n].map(async (n) => (await chain.getBlockByNumber(n))!.block))
    const batch = {
      firstBlockId: 2n,
      anchorBlockId: ANCHOR.number,
      anchorBlockHash: bytesToHex(ANCHOR.hash),
      blocks: blocks.map((b) => ({
        timestamp: b.header.timestamp,
        gasLimit: Number(b.header.gasLimit),
        coinbase: b.header.coinbase.toString() as `0x${string}`,
      })),
    }
    await expect(executeWitness(witness, { common, batch })).resolves.toBeDefined()
    const late = { ...batch, blocks: batch.blocks.map((b, i) => (i === 1 ? { ...b, timestamp: b.timestamp + 1n } : b)) }
    expect((await rejection(witness, late)).code).toBe('WITNESS_BATCH_MISMATCH')
    expect((await rejection(witness, { ...batch, firstBlockId: 3n })).code).toBe('WITNESS_BATCH_MISMATCH')
    expect((await rejection(witness, { ...batch, anchorBlockId: 8n })).code).toBe('WITNESS_BATCH_MISMATCH')
  })

  it('rejects a malformed witness with the field named', () => {
    expect(() => parseWitness({ ...witness, blocks: 'nope' })).toThrow(/blocks/)
    expect(() => parseWitness('{')).toThrow(WitnessError)
  })
})

describe('TeeBackend', () => {
  it('signs the public input of the transition it re-executed, with the instance key', async () => {
    const instanceKey = generatePrivateKey()
    const backend = new TeeBackend({ common, instanceKey })
    const blocks = await Promise.all([2n, 3n].map(async (n) => (await chain.getBlockByNumber(n))!.block))
    const meta: BatchMeta = {
      batchId: 1n,
      proposer: DEV_ACCOUNTS[0]!.address,
      proposedAt: 100n,
      l1OriginNumber: 9n,
      l1OriginHash: `0x${'11'.repeat(32)}`,
      anchorBlockId: ANCHOR.number,
      anchorBlockHash: bytesToHex(ANCHOR.hash),
      firstBlockId: 2n,
      parentMetaHash: `0x${'00'.repeat(32)}`,
      blobHashes: [],
      blocks: blocks.map((b) => ({
        timestamp: b.header.timestamp,
        gasLimit: Number(b.header.gasLimit),
        coinbase: b.header.coinbase.toString() as `0x${string}`,
      })),
      forcedInclusions: [],
    }
    const prover = DEV_ACCOUNTS[3]!.address
    const result = await backend.prove({ batchId: 1n, chainId: common.chainId(), meta, prover, witness })
    const expected = batchPublicInput({ chainId: common.chainId(), meta, transition: result.transition, prover })
    expect(result.publicInput).toBe(expected.hash)
    expect(result.transition.blockHash).toBe(bytesToHex(chain.head().hash()))
    const { decodeAbiParameters } = await import('viem')
    const [instance, signature] = decodeAbiParameters([{ type: 'address' }, { type: 'bytes' }], result.proof)
    expect(instance).toBe(privateKeyToAddress(instanceKey))
    expect(await recoverAddress({ hash: result.publicInput, signature })).toBe(instance)
  })
})

describe('HttpProofBackend', () => {
  it('checks the transition itself, sends it with the public input, and polls until the remote prover answers', async () => {
    const bodies: { public_input: string; transition: { blockHash: string }; proof_type: string }[] = []
    const answers = [
      { status: 'ok', data: { status: 'work_in_progress' } },
      { status: 'ok', data: { proof: '0xabcd' } },
    ]
    const backend = new HttpProofBackend({
      url: 'http://prover.invalid/',
      verifierId: 2,
      proofType: 'sp1',
      common,
      pollIntervalMs: 1,
      fetch: (async (_url: string, init: { body: string }) => {
        bodies.push(JSON.parse(init.body))
        return new Response(JSON.stringify(answers.shift()))
      }) as unknown as typeof fetch,
    })
    const meta = {
      batchId: 1n,
      proposer: DEV_ACCOUNTS[0]!.address,
      proposedAt: 1n,
      l1OriginNumber: 1n,
      l1OriginHash: `0x${'11'.repeat(32)}`,
      anchorBlockId: ANCHOR.number,
      anchorBlockHash: bytesToHex(ANCHOR.hash),
      firstBlockId: 2n,
      parentMetaHash: `0x${'00'.repeat(32)}`,
      blobHashes: [],
      blocks: await Promise.all(
        [2n, 3n].map(async (n) => {
          const { header } = (await chain.getBlockByNumber(n))!.block
          return {
            timestamp: header.timestamp,
            gasLimit: Number(header.gasLimit),
            coinbase: header.coinbase.toString() as `0x${string}`,
          }
        }),
      ),
      forcedInclusions: [],
    } satisfies BatchMeta
    const result = await backend.prove({
      batchId: 1n,
      chainId: common.chainId(),
      meta,
      prover: DEV_ACCOUNTS[3]!.address,
      witness,
    })
    expect(result.proof).toBe('0xabcd')
    expect(bodies).toHaveLength(2)
    expect(bodies[0]!.proof_type).toBe('sp1')
    expect(bodies[0]!.public_input).toBe(result.publicInput)
    expect(bodies[0]!.transition.blockHash).toBe(bytesToHex(chain.head().hash()))
  })

  it('does not call the remote prover with a witness that lies', async () => {
    let calls = 0
    const backend = new HttpProofBackend({
      url: 'http://prover.invalid',
      verifierId: 2,
      proofType: 'sp1',
      common,
      fetch: (async () => {
        calls++
        return new Response('{}')
      }) as unknown as typeof fetch,
    })
    const w = copy()
    accountOf(w, COUNTER).storageProof[0]!.value = '0x6'
    // No meta: only the witness itself is checked, and it is what fails.
    const request = {
      batchId: 1n,
      chainId: common.chainId(),
      meta: undefined as unknown as BatchMeta,
      prover: DEV_ACCOUNTS[3]!.address,
      witness: w,
    }
    await expect(backend.prove(request)).rejects.toThrow(WitnessError)
    expect(calls).toBe(0)
  })
})
