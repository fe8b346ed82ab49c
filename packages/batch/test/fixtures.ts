import { createChainCommon, devGenesis } from '@cairn/primitives'
import { createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bigIntToBytes, setLengthLeft } from '@ethereumjs/util'
import type { BatchBlock } from '../src/index.ts'

/**
 * Realistic batch content: signed EIP-1559 transfers from many senders (keys 0x…01, 0x…02, …), each
 * sender with consecutive nonces, recipients and amounts drawn from a seeded generator so runs repeat.
 */

export type TransferKind = 'eth' | 'erc20'

const common = createChainCommon(devGenesis())

/** xorshift32: deterministic pseudo-random numbers for fixtures. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0 || 1
  return () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 0x1_0000_0000
  }
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256)
  return bytes
}

function keyOf(index: number): Uint8Array {
  return setLengthLeft(bigIntToBytes(BigInt(index + 1)), 32)
}

/** A few token contracts, as most ERC-20 traffic goes to a handful of popular tokens. */
const TOKENS = Array.from({ length: 5 }, (_, i) => setLengthLeft(bigIntToBytes(0xc0ffee00n + BigInt(i)), 20))
const POPULAR = Array.from({ length: 20 }, (_, i) => randomBytes(seededRandom(1000 + i), 20))
const TRANSFER_SELECTOR = Uint8Array.from([0xa9, 0x05, 0x9c, 0xbb])

/**
 * `count` signed transfers, round-robin over `senders` senders. Amounts look like wallet amounts (a few
 * significant digits, many trailing zeros); fees are the same few values most wallets would pick.
 */
export function signedTransfers(kind: TransferKind, count: number, options: { senders?: number; seed?: number } = {}) {
  const senders = options.senders ?? 200
  const random = seededRandom(options.seed ?? 1)
  const nonces = new Array<bigint>(senders).fill(0n)
  const txs: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const sender = i % senders
    // Like mainnet traffic, a good share of transfers go to a few popular addresses (exchanges, routers).
    const recipient = random() < 0.4 ? POPULAR[Math.floor(random() * POPULAR.length)]! : randomBytes(random, 20)
    const amount = BigInt(Math.floor(random() * 10_000) + 1) * 10n ** BigInt(12 + Math.floor(random() * 4))
    const priority = [1_000_000n, 1_500_000_000n, 2_000_000_000n][Math.floor(random() * 3)]!
    const base = {
      nonce: nonces[sender]!,
      maxPriorityFeePerGas: priority,
      maxFeePerGas: 2_000_000_000n + priority,
      chainId: common.chainId(),
    }
    nonces[sender]! += 1n
    const data =
      kind === 'eth'
        ? { ...base, gasLimit: 21_000n, to: recipient, value: amount }
        : {
            ...base,
            gasLimit: 65_000n,
            to: TOKENS[Math.floor(random() * TOKENS.length)]!,
            value: 0n,
            data: concat(TRANSFER_SELECTOR, setLengthLeft(recipient, 32), setLengthLeft(bigIntToBytes(amount), 32)),
          }
    txs.push(createFeeMarket1559Tx(data, { common }).sign(keyOf(sender)).serialize())
  }
  return txs
}

/** Splits transactions into consecutive 2-second blocks of `perBlock` transactions. */
export function blocksOf(txs: Uint8Array[], perBlock: number, start = { timestamp: 1_750_000_000n, anchor: 1_000n }) {
  const blocks: BatchBlock[] = []
  const coinbase = setLengthLeft(Uint8Array.from([0xca, 0x1e]), 20)
  for (let i = 0; i * perBlock < Math.max(txs.length, 1); i++) {
    blocks.push({
      timestamp: start.timestamp + BigInt(2 * i),
      gasLimit: 60_000_000n,
      coinbase,
      anchorBlockNumber: start.anchor + BigInt(Math.floor(i / 6)),
      transactions: txs.slice(i * perBlock, (i + 1) * perBlock),
    })
  }
  return blocks
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}
