import { RLP } from '@ethereumjs/rlp'
import { bigIntToUnpaddedBytes, bytesToBigInt } from '@ethereumjs/util'
import { encodeRlp } from '@cairn/primitives'

/** A log as the EVM produced it: [address, topics, data]. */
export type RawLog = [address: Uint8Array, topics: Uint8Array[], data: Uint8Array]

/** What the store keeps per receipt; positions, hashes and senders are derived from the block. */
export interface StoredReceipt {
  status: 0 | 1
  cumulativeGasUsed: bigint
  gasUsed: bigint
  effectiveGasPrice: bigint
  contractAddress: Uint8Array | undefined
  logs: RawLog[]
}

const EMPTY = new Uint8Array(0)

export function encodeReceipts(receipts: StoredReceipt[]): Uint8Array {
  return encodeRlp(
    receipts.map((r) => [
      r.status === 1 ? Uint8Array.of(1) : EMPTY,
      bigIntToUnpaddedBytes(r.cumulativeGasUsed),
      bigIntToUnpaddedBytes(r.gasUsed),
      bigIntToUnpaddedBytes(r.effectiveGasPrice),
      r.contractAddress ?? EMPTY,
      r.logs,
    ]),
  )
}

export function decodeReceipts(bytes: Uint8Array): StoredReceipt[] {
  const items = RLP.decode(bytes) as unknown as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, RawLog[]][]
  return items.map(([status, cumulative, gasUsed, price, contract, logs]) => ({
    status: status.length > 0 ? 1 : 0,
    cumulativeGasUsed: bytesToBigInt(cumulative),
    gasUsed: bytesToBigInt(gasUsed),
    effectiveGasPrice: bytesToBigInt(price),
    contractAddress: contract.length > 0 ? contract : undefined,
    logs,
  }))
}
