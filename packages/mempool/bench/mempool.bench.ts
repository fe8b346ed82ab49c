/**
 * Mempool throughput: admission (decode, signature recovery, validation, insertion) of 10,000
 * pre-signed EIP-1559 transfers from 100 senders, block selection over them, and the head update
 * that removes them. Run: npx tsx packages/mempool/bench/mempool.bench.ts
 */
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bigIntToBytes } from '@ethereumjs/util'
import secp256k1 from 'secp256k1'
import { Mempool, decodeTransaction } from '../src/index.ts'
import { ETH, GWEI, InMemoryState, extraAccount, nativeEcrecover, testCommon } from '../test/fixtures.ts'

const SENDERS = 100
const NONCES_PER_SENDER = 100
const TOTAL = SENDERS * NONCES_PER_SENDER
const ROUNDS = 5

const common = testCommon()
const accounts = Array.from({ length: SENDERS }, (_, i) => extraAccount(i))

// Sign with libsecp256k1: signing 10k transactions with the pure-JS signer takes longer than the benchmark.
const raws: Uint8Array[] = []
for (let nonce = 0; nonce < NONCES_PER_SENDER; nonce++) {
  for (const account of accounts) {
    const unsigned = createFeeMarket1559Tx(
      {
        nonce: BigInt(nonce),
        maxPriorityFeePerGas: GWEI + BigInt((nonce * 7 + raws.length) % 50) * GWEI,
        maxFeePerGas: 100n * GWEI,
        gasLimit: 21_000n,
        to: '0x000000000000000000000000000000000000beef',
        value: 1n,
      },
      { common },
    )
    const { signature, recid } = secp256k1.ecdsaSign(unsigned.getHashedMessageToSign(), account.privateKey)
    raws.push(unsigned.addSignature(BigInt(recid), signature.slice(0, 32), signature.slice(32, 64)).serialize())
  }
}

function freshPool(): { pool: Mempool; state: InMemoryState } {
  const state = new InMemoryState(accounts, 1000n * ETH)
  const pool = new Mempool({
    common,
    state,
    config: { globalSlots: TOTAL, accountSlots: NONCES_PER_SENDER },
    baseFee: GWEI,
  })
  return { pool, state }
}

function perSecond(count: number, ms: number): string {
  return Math.round((count / ms) * 1000).toLocaleString('en-US')
}

const figures: Record<string, number[]> = {
  recover: [],
  decode: [],
  sequential: [],
  concurrent: [],
  select: [],
  head: [],
}
const rules = { chainId: common.chainId(), blockGasLimit: 60_000_000n, minTip: 0n, maxTxBytes: 128 * 1024 }
const signed = raws.map((raw) => decodeTransaction(raw, common, rules).tx)
const recoveryInputs = signed.map((tx) => ({
  hash: tx.getMessageToVerifySignature(),
  v: tx.v as bigint,
  r: bigIntToBytes(tx.r as bigint),
  s: bigIntToBytes(tx.s as bigint),
}))

for (let round = 0; round < ROUNDS; round++) {
  // The floor: libsecp256k1 recovery alone, message hash given.
  {
    const start = performance.now()
    for (const { hash, v, r, s } of recoveryInputs) nativeEcrecover(hash, v, r, s)
    figures.recover!.push(performance.now() - start)
  }
  // Decoding and stateless validation (includes the message hash and recovery), no pool.
  {
    const start = performance.now()
    for (const raw of raws) decodeTransaction(raw, common, rules)
    figures.decode!.push(performance.now() - start)
  }
  // Sequential: one add at a time, as a single RPC connection would.
  {
    const { pool } = freshPool()
    const start = performance.now()
    for (const raw of raws) await pool.addRaw(raw)
    figures.sequential!.push(performance.now() - start)
    if (pool.status().pending !== TOTAL) throw new Error(`expected ${TOTAL} pending, got ${pool.status().pending}`)
  }
  // Concurrent: 100 adds in flight, as many RPC clients would.
  const { pool, state } = freshPool()
  {
    const start = performance.now()
    for (let i = 0; i < raws.length; i += 100) await Promise.all(raws.slice(i, i + 100).map((raw) => pool.addRaw(raw)))
    figures.concurrent!.push(performance.now() - start)
  }
  // Selection: walk the whole pool in block order.
  const included: Uint8Array[] = []
  {
    const start = performance.now()
    const selection = pool.selectForBlock(GWEI)
    for (let tx = selection.peek(); tx !== undefined; tx = selection.peek()) {
      included.push(tx.hash())
      selection.shift()
    }
    figures.select!.push(performance.now() - start)
    if (included.length !== TOTAL) throw new Error(`selection offered ${included.length}, expected ${TOTAL}`)
  }
  // Head update removing all of them.
  {
    for (const account of accounts) state.set(account.address, { nonce: BigInt(NONCES_PER_SENDER) })
    const start = performance.now()
    await pool.onNewHead({ baseFee: GWEI, includedTxHashes: included })
    figures.head!.push(performance.now() - start)
    if (pool.size !== 0) throw new Error(`pool should be empty, holds ${pool.size}`)
  }
}

const best = (key: string) => Math.min(...(figures[key] as number[]))
const micros = (key: string) => ((best(key) * 1000) / TOTAL).toFixed(1)
console.log(`mempool bench: ${TOTAL} pre-signed EIP-1559 transfers from ${SENDERS} senders, best of ${ROUNDS}`)
console.log(`  ecrecover alone:      ${micros('recover')} µs/tx`)
console.log(`  decode + validate:    ${micros('decode')} µs/tx (stateless checks incl. hashing and recovery)`)
// Each round times decoding and adding back to back, so their difference shares the machine's load.
const differences = (figures.sequential as number[])
  .map((ms, i) => ((ms - (figures.decode as number[])[i]!) * 1000) / TOTAL)
  .sort((a, b) => a - b)
const medianDifference = differences[Math.floor(differences.length / 2)] as number
console.log(
  `  pool work per add:    ${medianDifference.toFixed(1)} µs/tx (median over rounds of sequential add minus decode)`,
)
console.log(
  `  add, sequential:      ${perSecond(TOTAL, best('sequential'))} tx/s (${((best('sequential') * 1000) / TOTAL).toFixed(1)} µs/tx)`,
)
console.log(
  `  add, 100 concurrent:  ${perSecond(TOTAL, best('concurrent'))} tx/s (${((best('concurrent') * 1000) / TOTAL).toFixed(1)} µs/tx)`,
)
console.log(
  `  select (peek+shift):  ${perSecond(TOTAL, best('select'))} tx/s (${((best('select') * 1000) / TOTAL).toFixed(2)} µs/tx, incl. tx.hash())`,
)
console.log(`  onNewHead removing ${TOTAL}: ${best('head').toFixed(1)} ms`)
