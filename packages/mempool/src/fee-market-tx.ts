import type { Common } from '@ethereumjs/common'
import { FeeMarket1559Tx } from '@ethereumjs/tx'
import { Address, MAX_INTEGER, SECP256K1_ORDER_DIV_2, bytesToBigInt } from '@ethereumjs/util'

const MAX_UINT64 = 2n ** 64n - 1n
/** The capabilities ethereumjs' constructor gives every EIP-1559 transaction. */
const CAPABILITIES = [1559, 2718, 2930] as const

/**
 * An EIP-1559 transaction built from its decoded fields as ethereumjs' `FeeMarket1559Tx`
 * constructor builds it (same class, same properties in the same order, frozen), without that
 * constructor's generic work: it spreads the field object twice, walks it for arrays, converts
 * every field through `toBytes` and checks values through temporary objects. That was ~20 µs of
 * the main thread per admitted transfer, the largest single piece of admission.
 *
 * Only the plain case is taken: an empty access list, a 0- or 20-byte `to`, canonical integers
 * within their bounds, y-parity 0 or 1, low s, a fee cap at or above the tip, `gasLimit ×
 * maxFeePerGas` within 2^256, and a Common without EIP-7825's gas cap. Anything else returns
 * `undefined`, and the caller builds through ethereumjs, which accepts it or throws its own error.
 * The chain id field is not read: ethereumjs takes the Common's, and the caller has already
 * refused a transaction for another chain.
 */
export function buildPlainFeeMarketTx(
  fields: readonly (Uint8Array | unknown[])[],
  options: { common: Common; allowUnlimitedInitCodeSize: boolean },
): FeeMarket1559Tx | undefined {
  const [, nonceB, tipB, feeB, gasB, toB, valueB, data, accessList, vB, rB, sB] = fields as Uint8Array[]
  const { common } = options
  if (!Array.isArray(accessList) || accessList.length > 0) return undefined
  if (toB!.length !== 0 && toB!.length !== 20) return undefined
  if (!canonical(nonceB!, 8) || !canonical(gasB!, 8) || !canonical(valueB!, 32)) return undefined
  if (!canonical(tipB!, 32) || !canonical(feeB!, 32) || !canonical(vB!, 1) || !canonical(rB!, 32)) return undefined
  if (!canonical(sB!, 32) || !usesPlainRules(common)) return undefined
  const nonce = bytesToBigInt(nonceB!)
  const gasLimit = bytesToBigInt(gasB!)
  const maxFeePerGas = bytesToBigInt(feeB!)
  const maxPriorityFeePerGas = bytesToBigInt(tipB!)
  // As ethereumjs reads them: an empty y-parity is 0, an empty r or s is "not signed".
  const v = bytesToBigInt(vB!)
  const r = rB!.length > 0 ? bytesToBigInt(rB!) : undefined
  const s = sB!.length > 0 ? bytesToBigInt(sB!) : undefined
  if (nonce === MAX_UINT64 || v > 1n || (s !== undefined && s > SECP256K1_ORDER_DIV_2)) return undefined
  if (maxFeePerGas < maxPriorityFeePerGas || gasLimit * maxFeePerGas > MAX_INTEGER) return undefined

  // The constructor's assignments, in its order, so the object has the same shape.
  const tx = Object.create(FeeMarket1559Tx.prototype) as Record<string, unknown>
  tx.type = 2
  tx.cache = {}
  // ethereumjs assigns this twice (empty, then the list); the first assignment fixes its place.
  tx.activeCapabilities = [...CAPABILITIES]
  tx.common = common
  tx.txOptions = options
  tx.to = toB!.length > 0 ? new Address(toB!) : undefined
  tx.nonce = nonce
  tx.gasLimit = gasLimit
  tx.value = bytesToBigInt(valueB!)
  tx.data = data
  tx.v = v
  tx.r = r
  tx.s = s
  tx.chainId = common.chainId()
  tx.accessList = accessList
  tx.maxFeePerGas = maxFeePerGas
  tx.maxPriorityFeePerGas = maxPriorityFeePerGas
  return Object.freeze(tx) as unknown as FeeMarket1559Tx
}

/** An RLP integer ethereumjs accepts as is: no leading zero byte, at most `maxBytes` long. */
function canonical(bytes: Uint8Array, maxBytes: number): boolean {
  return bytes.length <= maxBytes && (bytes.length === 0 || bytes[0] !== 0)
}

const plainRules = new WeakMap<Common, boolean>()

/** EIP-1559 on, and no EIP-7825 transaction gas cap to check (Cairn's chain is Prague). */
function usesPlainRules(common: Common): boolean {
  let plain = plainRules.get(common)
  if (plain === undefined) {
    plain = common.isActivatedEIP(1559) && !common.isActivatedEIP(7825)
    plainRules.set(common, plain)
  }
  return plain
}
