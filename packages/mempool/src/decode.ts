import type { Common } from '@ethereumjs/common'
import {
  type TypedTransaction,
  create1559FeeMarketTxFromBytesArray,
  createAccessList2930TxFromBytesArray,
  createEOACode7702TxFromBytesArray,
  createLegacyTxFromBytesArray,
  getCalldataFloorGas,
  paramsTx,
} from '@ethereumjs/tx'
import { type Address, bytesToBigInt, bytesToHex } from '@ethereumjs/util'
import { RlpError, type RlpValue, decodeRlpInPlace } from '@cairn/primitives'
import { MempoolError, MempoolErrorCode } from './errors.ts'
import { buildPlainFeeMarketTx } from './fee-market-tx.ts'

/** A transaction that passed every check that needs no state, with the fields the pool keys on. */
export interface DecodedTransaction {
  tx: TypedTransaction
  /** The canonical encoding (what eth_sendRawTransaction received and the journal stores). */
  raw: Uint8Array
  hash: Uint8Array
  hashHex: string
  sender: Address
  /** Lowercase 0x-prefixed sender address. */
  senderKey: string
  nonce: bigint
  /** maxPriorityFeePerGas, or gasPrice for legacy and access-list transactions. */
  tipCap: bigint
  /** maxFeePerGas, or gasPrice. */
  feeCap: bigint
  /** gasLimit × feeCap + value: the most the transaction can take from its sender. */
  cost: bigint
}

/** The settings stateless validation reads. */
export interface StatelessRules {
  chainId: bigint
  blockGasLimit: bigint
  minTip: bigint
  maxTxBytes: number
}

const TX_TYPE_LEGACY = 0
const TX_TYPE_ACCESS_LIST = 1
const TX_TYPE_DYNAMIC_FEE = 2
const TX_TYPE_BLOB = 3
const TX_TYPE_SET_CODE = 4

/** Signed field counts, as geth's decoder demands them. */
const SIGNED_FIELD_COUNT: Record<number, number> = {
  [TX_TYPE_LEGACY]: 9,
  [TX_TYPE_ACCESS_LIST]: 11,
  [TX_TYPE_DYNAMIC_FEE]: 12,
  [TX_TYPE_SET_CODE]: 13,
}

const GETH_TYPE_NAME: Record<number, string> = {
  [TX_TYPE_LEGACY]: 'types.LegacyTx',
  [TX_TYPE_ACCESS_LIST]: 'types.AccessListTx',
  [TX_TYPE_DYNAMIC_FEE]: 'types.DynamicFeeTx',
  [TX_TYPE_SET_CODE]: 'types.SetCodeTx',
}

const ACCESS_LIST_INDEX: Record<number, number> = {
  [TX_TYPE_ACCESS_LIST]: 7,
  [TX_TYPE_DYNAMIC_FEE]: 8,
  [TX_TYPE_SET_CODE]: 8,
}

const INVALID_SIGNATURE_VALUES = 'invalid sender: invalid transaction v, r, s values'

/**
 * Decodes a raw transaction and runs every check that needs no account state, in geth's order
 * (size, type, fee fields, signature and chain id, nonce bound, intrinsic and floor gas, minimum
 * tip). The RLP is decoded once: the field checks read the decoded list and ethereumjs builds the
 * transaction from the same list. Throws {@link MempoolError} with geth's message.
 *
 * It runs in two halves so a caller can recover the sender elsewhere in between (the pool hands
 * signature recovery to worker threads): {@link parseTransaction}, then {@link checkSender}.
 */
export function decodeTransaction(
  raw: Uint8Array,
  chainCommon: Common,
  rules: StatelessRules,
  /** keccak256(raw) and its hex, when the caller already computed them. */
  knownHash?: { hash: Uint8Array; hashHex: string },
): DecodedTransaction {
  return checkSender(parseTransaction(raw, chainCommon, rules), raw, rules, knownHash)
}

/** The checks before the sender is known; returns the transaction, built under the pool's shared Common. */
export function parseTransaction(raw: Uint8Array, chainCommon: Common, rules: StatelessRules): TypedTransaction {
  const common = txCommonFor(chainCommon)
  // Type before size, as geth: a blob transaction with its sidecar is always over the size limit,
  // and its sender should learn that blob transactions are not accepted, not that it is too big.
  const type = envelopeType(raw)
  if (raw.length > rules.maxTxBytes) {
    throw reject(
      MempoolErrorCode.OversizedData,
      `oversized data: transaction size ${raw.length}, limit ${rules.maxTxBytes}`,
    )
  }
  const fields = decodeFields(raw, type)
  checkReplayProtection(fields, type, rules.chainId)
  if (type === TX_TYPE_DYNAMIC_FEE || type === TX_TYPE_SET_CODE) {
    // ethereumjs refuses to build such a transaction; check first so the client gets geth's text.
    if (bytesToBigInt(fields[2] as Uint8Array) > bytesToBigInt(fields[3] as Uint8Array)) {
      throw reject(MempoolErrorCode.TipAboveFeeCap, 'max priority fee per gas higher than max fee per gas')
    }
  }
  if (type === TX_TYPE_SET_CODE) {
    if ((fields[5] as Uint8Array).length === 0) {
      throw reject(MempoolErrorCode.SetCodeTxCreate, 'EIP-7702 transaction cannot be used to create contract')
    }
    const authorizations = fields[9]
    if (Array.isArray(authorizations) && authorizations.length === 0) {
      throw reject(MempoolErrorCode.EmptyAuthorizationList, 'set code tx must have at least one authorization tuple')
    }
  }

  const tx = buildTransaction(type, fields, common)
  // The bytes it was decoded from are its encoding (scalars are canonical, lists are kept as sent):
  // the serialization cache Cairn adds to typed transactions starts with them instead of re-encoding.
  if (type !== TX_TYPE_LEGACY) (tx.cache as { serialized?: Uint8Array }).serialized = raw

  if (tx.to === undefined) {
    const limit = Number(common.param('maxInitCodeSize'))
    if (tx.data.length > limit) {
      throw reject(
        MempoolErrorCode.MaxInitCodeSizeExceeded,
        `max initcode size exceeded: code size ${tx.data.length}, limit ${limit}`,
      )
    }
  }
  if (tx.gasLimit > rules.blockGasLimit) {
    throw reject(MempoolErrorCode.GasLimitExceeded, 'exceeds block gas limit', {
      gasLimit: tx.gasLimit.toString(),
      blockGasLimit: rules.blockGasLimit.toString(),
    })
  }
  return tx
}

/** Sender recovery (a cache hit when it was recovered ahead) and the checks that need the sender. */
export function checkSender(
  tx: TypedTransaction,
  raw: Uint8Array,
  rules: StatelessRules,
  knownHash?: { hash: Uint8Array; hashHex: string },
): DecodedTransaction {
  let sender: Address
  try {
    sender = tx.getSenderAddress()
  } catch (error) {
    throw reject(MempoolErrorCode.InvalidSender, INVALID_SIGNATURE_VALUES, {}, error)
  }
  const intrinsicGas = tx.getIntrinsicGas()
  if (tx.gasLimit < intrinsicGas) {
    throw reject(
      MempoolErrorCode.IntrinsicGasTooLow,
      `intrinsic gas too low: gas ${tx.gasLimit}, minimum needed ${intrinsicGas}`,
    )
  }
  if (tx.data.length > 0) {
    const floorGas = getCalldataFloorGas(tx, sender)
    if (tx.gasLimit < floorGas) {
      throw reject(
        MempoolErrorCode.FloorDataGasTooLow,
        `insufficient gas for floor data gas cost: gas ${tx.gasLimit}, minimum needed ${floorGas}`,
      )
    }
  }
  const { tipCap, feeCap } = feeCaps(tx)
  if (tipCap < rules.minTip) {
    throw reject(
      MempoolErrorCode.Underpriced,
      `transaction underpriced: gas tip cap ${tipCap}, minimum needed ${rules.minTip}`,
    )
  }
  const hash = knownHash?.hash ?? hashOf(tx, raw)
  if (knownHash !== undefined) tx.cache.hash = hash
  return {
    tx,
    raw,
    hash,
    hashHex: knownHash?.hashHex ?? bytesToHex(hash),
    sender,
    senderKey: sender.toString(),
    nonce: tx.nonce,
    tipCap,
    feeCap,
    cost: tx.gasLimit * feeCap + tx.value,
  }
}

/** The fee a transaction offers the block producer per gas at a base fee; negative when it cannot pay the base fee. */
export function effectiveTip(tipCap: bigint, feeCap: bigint, baseFee: bigint): bigint {
  const headroom = feeCap - baseFee
  return headroom < tipCap ? headroom : tipCap
}

export function feeCaps(tx: TypedTransaction): { tipCap: bigint; feeCap: bigint } {
  if ('maxPriorityFeePerGas' in tx) return { tipCap: tx.maxPriorityFeePerGas, feeCap: tx.maxFeePerGas }
  return { tipCap: tx.gasPrice, feeCap: tx.gasPrice }
}

const txCommons = new WeakMap<Common, Common>()

/**
 * ethereumjs copies the Common and rebuilds its parameter cache (JSON copies included) for every
 * transaction it builds: ~30 µs, a quarter of admission. All pooled transactions live under the
 * chain's one hardfork, so they share a single copy with the transaction parameters built in.
 */
function txCommonFor(common: Common): Common {
  let shared = txCommons.get(common)
  if (shared === undefined) {
    const copy = common.copy()
    copy.updateParams(paramsTx)
    copy.copy = () => copy
    copy.updateParams = () => {}
    txCommons.set(common, copy)
    shared = copy
  }
  return shared
}

/**
 * The hash is keccak of the encoding. The decoder accepts canonical encodings only (RLP and
 * integer fields checked), so hashing `raw` gives what re-serializing would, minus the re-encoding;
 * priming ethereumjs' cache spares the executor and RPC that work too.
 */
function hashOf(tx: TypedTransaction, raw: Uint8Array): Uint8Array {
  const keccak = tx.common.customCrypto.keccak256
  if (keccak === undefined) return tx.hash()
  const hash = keccak(raw)
  tx.cache.hash = hash
  return hash
}

function envelopeType(raw: Uint8Array): number {
  const first = raw[0]
  if (first === undefined || first <= 0x7f) {
    // geth treats anything not starting like an RLP list as an EIP-2718 envelope.
    if (raw.length <= 1 || first === undefined) {
      throw reject(MempoolErrorCode.InvalidEncoding, 'typed transaction too short')
    }
    if (first === TX_TYPE_BLOB) {
      throw reject(
        MempoolErrorCode.TxTypeNotSupported,
        'transaction type not supported: blob transactions (type 3) are not accepted on this L2; post blob data to L1 instead',
      )
    }
    if (SIGNED_FIELD_COUNT[first] === undefined || first === TX_TYPE_LEGACY) {
      throw reject(MempoolErrorCode.TxTypeNotSupported, 'transaction type not supported', { type: first })
    }
    return first
  }
  if (first < 0xc0) throw reject(MempoolErrorCode.InvalidEncoding, 'rlp: expected input list for types.LegacyTx')
  return TX_TYPE_LEGACY
}

function decodeFields(raw: Uint8Array, type: number): (Uint8Array | unknown[])[] {
  const name = GETH_TYPE_NAME[type] as string
  let decoded: RlpValue
  try {
    // In place: the fields are views of `raw`, which the pool keeps anyway (copying them was most of decoding).
    decoded = decodeRlpInPlace(type === TX_TYPE_LEGACY ? raw : raw.subarray(1))
  } catch (error) {
    const reason = error instanceof RlpError ? error.reason : cleanMessage(error)
    throw reject(MempoolErrorCode.InvalidEncoding, `rlp: ${reason} (decoding ${name})`, {}, error)
  }
  if (!Array.isArray(decoded)) throw reject(MempoolErrorCode.InvalidEncoding, `rlp: expected input list for ${name}`)
  const expected = SIGNED_FIELD_COUNT[type] as number
  if (decoded.length < expected) throw reject(MempoolErrorCode.InvalidEncoding, `rlp: too few elements for ${name}`)
  if (decoded.length > expected) {
    throw reject(MempoolErrorCode.InvalidEncoding, `rlp: input list has too many elements for ${name}`)
  }
  // Every field but the access and authorization lists is a byte string.
  for (let i = 0; i < decoded.length; i++) {
    const listField = i === ACCESS_LIST_INDEX[type] || (type === TX_TYPE_SET_CODE && i === 9)
    if (Array.isArray(decoded[i]) !== listField) {
      throw reject(MempoolErrorCode.InvalidEncoding, `rlp: field ${i} of ${name} has the wrong kind (list or bytes)`)
    }
  }
  return decoded as (Uint8Array | unknown[])[]
}

/** geth's RPC refuses pre-EIP-155 legacy signatures; both paths check the chain id inside the signer. */
function checkReplayProtection(fields: (Uint8Array | unknown[])[], type: number, chainId: bigint): void {
  let txChainId: bigint
  if (type === TX_TYPE_LEGACY) {
    const v = bytesToBigInt(fields[6] as Uint8Array)
    if (v === 27n || v === 28n) {
      throw reject(MempoolErrorCode.UnprotectedTx, 'only replay-protected (EIP-155) transactions allowed over RPC')
    }
    if (v < 35n) throw reject(MempoolErrorCode.InvalidSender, INVALID_SIGNATURE_VALUES)
    txChainId = (v - 35n) / 2n
  } else {
    const encoded = fields[0] as Uint8Array
    // ethereumjs does not check this field; geth's decoder refuses it, and the hash must match a re-encoding.
    if (encoded[0] === 0)
      throw reject(MempoolErrorCode.InvalidEncoding, 'rlp: non-canonical integer (leading zero bytes) for chain id')
    txChainId = bytesToBigInt(encoded)
  }
  if (txChainId !== chainId) {
    throw reject(
      MempoolErrorCode.InvalidChainId,
      `invalid sender: invalid chain id for signer: have ${txChainId} want ${chainId}`,
    )
  }
}

function buildTransaction(type: number, fields: (Uint8Array | unknown[])[], common: Common): TypedTransaction {
  // Init code size is checked afterwards with geth's message; ethereumjs would throw its own.
  const options = { common, allowUnlimitedInitCodeSize: true }
  try {
    switch (type) {
      case TX_TYPE_LEGACY:
        return createLegacyTxFromBytesArray(fields as Uint8Array[], options)
      case TX_TYPE_ACCESS_LIST:
        return createAccessList2930TxFromBytesArray(fields as never, options)
      case TX_TYPE_DYNAMIC_FEE:
        return buildPlainFeeMarketTx(fields, options) ?? create1559FeeMarketTxFromBytesArray(fields as never, options)
      default:
        return createEOACode7702TxFromBytesArray(fields as never, options)
    }
  } catch (error) {
    const message = cleanMessage(error)
    if (/s-values|y-parity|Invalid Signature|v = /i.test(message)) {
      throw reject(MempoolErrorCode.InvalidSender, INVALID_SIGNATURE_VALUES, {}, error)
    }
    if (message.startsWith('nonce cannot')) throw reject(MempoolErrorCode.NonceMax, 'nonce has max value', {}, error)
    throw reject(MempoolErrorCode.InvalidEncoding, `rlp: ${message} (decoding ${GETH_TYPE_NAME[type]})`, {}, error)
  }
}

/** ethereumjs appends a dump of the transaction to its messages; the client needs only the reason. */
function cleanMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const postfix = message.indexOf(' (tx type=')
  return postfix === -1 ? message : message.slice(0, postfix)
}

function reject(
  code: MempoolErrorCode,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): MempoolError {
  return new MempoolError(code, message, { details, cause })
}
