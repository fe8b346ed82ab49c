/**
 * The benchmarks' transactions: transfers from many senders to fresh recipients, pre-signed and
 * serialized as a client sends them, with the genesis accounts that fund them. The raw executor
 * bench and the end-to-end bench share one workload, so both do exactly the same work.
 */
import { type TypedTransaction, createFeeMarket1559Tx } from '@ethereumjs/tx'
import { bytesToHex, hexToBytes, privateToAddress } from '@ethereumjs/util'
import { type GenesisAccount, createChainCommon, devGenesis } from '@cairn/primitives'
import { nativeCustomCrypto } from '../src/index.ts'
import { BENCH_TOKEN, benchTokenAlloc, compileBenchToken } from './erc20.ts'

export interface BenchWorkload {
  kind: 'eth' | 'erc20'
  /** Genesis accounts: the senders' balances and, for ERC-20, the token holding their token balances. */
  alloc: Record<string, GenesisAccount>
  /** Signed transactions, serialized, in an order in which each is executable after the ones before it. */
  raws: `0x${string}`[]
}

/** Deterministic bench sender keys: 0x…01, 0x…02, … */
export function benchSenderKeys(count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => hexToBytes(`0x${(i + 1).toString(16).padStart(64, '0')}`))
}

/** Geth genesis alloc funding the bench senders. */
export function benchAlloc(keys: Uint8Array[]): Record<string, GenesisAccount> {
  const alloc: Record<string, GenesisAccount> = {}
  for (const key of keys) alloc[bytesToHex(privateToAddress(key))] = { balance: '0xffffffffffffffffffff' }
  return alloc
}

/**
 * `count` transfers from `senders` keys, round by round (each round one transaction per sender, so
 * any run of `senders` consecutive transactions has distinct senders and each nonce is executable
 * when it arrives), each to a fresh recipient.
 */
export function benchWorkload(kind: 'eth' | 'erc20', count: number, senders = 2000): BenchWorkload {
  const keys = benchSenderKeys(senders)
  const alloc = benchAlloc(keys)
  const token = kind === 'erc20' ? compileBenchToken() : undefined
  if (token) alloc[BENCH_TOKEN] = benchTokenAlloc(token.runtime, keys)
  const common = createChainCommon(devGenesis({ extraAlloc: alloc }), nativeCustomCrypto())
  const fee = { maxFeePerGas: 10n ** 11n, maxPriorityFeePerGas: 1n }
  const raws: `0x${string}`[] = []
  for (let i = 0; i < count; i++) {
    const nonce = BigInt(Math.floor(i / senders))
    const recipient: `0x${string}` = `0x${(0x100000 + i).toString(16).padStart(40, '0')}`
    const tx: TypedTransaction =
      token === undefined
        ? createFeeMarket1559Tx({ nonce, to: recipient, value: 1n, gasLimit: 21_000n, ...fee }, { common })
        : createFeeMarket1559Tx(
            { nonce, to: BENCH_TOKEN, gasLimit: 100_000n, data: token.abiTransfer(recipient, 1n), ...fee },
            { common },
          )
    raws.push(bytesToHex(tx.sign(keys[i % senders]!).serialize()))
  }
  return { kind, alloc, raws }
}
