import type { Block } from '@ethereumjs/block'
import {
  isAccessList2930Tx,
  isBlob4844Tx,
  isEOACode7702Tx,
  isFeeMarket1559Tx,
  isLegacyTx,
  type AccessListBytes,
  type TypedTransaction,
} from '@ethereumjs/tx'
import { bytesToBigInt } from '@ethereumjs/util'
import { bytesToHex, toQuantity, type Hex, type LogRecord, type ReceiptRecord } from '@cairn/primitives'

/*
 * JSON shapes exactly as geth serves them (internal/ethapi): quantities without leading zeros,
 * lowercase hex, null for "not applicable" positions, optional fields absent when the fork lacks them.
 */

export interface LogJson {
  address: Hex
  topics: Hex[]
  data: Hex
  blockNumber: Hex
  transactionHash: Hex
  transactionIndex: Hex
  blockHash: Hex
  blockTimestamp: Hex
  logIndex: Hex
  removed: boolean
}

export function formatLog(log: LogRecord): LogJson {
  return {
    address: bytesToHex(log.address),
    topics: log.topics.map(bytesToHex),
    data: bytesToHex(log.data),
    blockNumber: toQuantity(log.blockNumber),
    transactionHash: bytesToHex(log.transactionHash),
    transactionIndex: toQuantity(log.transactionIndex),
    blockHash: bytesToHex(log.blockHash),
    blockTimestamp: toQuantity(log.blockTimestamp),
    logIndex: toQuantity(log.logIndex),
    removed: log.removed,
  }
}

export interface ReceiptJson {
  blockHash: Hex
  blockNumber: Hex
  contractAddress: Hex | null
  cumulativeGasUsed: Hex
  effectiveGasPrice: Hex
  from: Hex
  gasUsed: Hex
  logs: LogJson[]
  logsBloom: Hex
  status: Hex
  to: Hex | null
  transactionHash: Hex
  transactionIndex: Hex
  type: Hex
}

/** Post-Byzantium receipt: `status` present, `root` absent, `contractAddress` null unless a creation. */
export function formatReceipt(receipt: ReceiptRecord): ReceiptJson {
  return {
    blockHash: bytesToHex(receipt.blockHash),
    blockNumber: toQuantity(receipt.blockNumber),
    contractAddress: receipt.contractAddress === undefined ? null : bytesToHex(receipt.contractAddress),
    cumulativeGasUsed: toQuantity(receipt.cumulativeGasUsed),
    effectiveGasPrice: toQuantity(receipt.effectiveGasPrice),
    from: bytesToHex(receipt.from),
    gasUsed: toQuantity(receipt.gasUsed),
    logs: receipt.logs.map(formatLog),
    logsBloom: bytesToHex(receipt.logsBloom),
    status: toQuantity(receipt.status),
    to: receipt.to === undefined ? null : bytesToHex(receipt.to),
    transactionHash: bytesToHex(receipt.transactionHash),
    transactionIndex: toQuantity(receipt.transactionIndex),
    type: toQuantity(receipt.type),
  }
}

export interface AccessListJson {
  address: Hex
  storageKeys: Hex[]
}

export interface AuthorizationJson {
  chainId: Hex
  address: Hex
  nonce: Hex
  yParity: Hex
  r: Hex
  s: Hex
}

export interface TransactionJson {
  blockHash: Hex | null
  blockNumber: Hex | null
  blockTimestamp: Hex | null
  from: Hex
  gas: Hex
  gasPrice: Hex
  maxFeePerGas?: Hex
  maxPriorityFeePerGas?: Hex
  maxFeePerBlobGas?: Hex
  hash: Hex
  input: Hex
  nonce: Hex
  to: Hex | null
  transactionIndex: Hex | null
  value: Hex
  type: Hex
  accessList?: AccessListJson[]
  chainId?: Hex
  blobVersionedHashes?: Hex[]
  authorizationList?: AuthorizationJson[]
  v: Hex
  r: Hex
  s: Hex
  yParity?: Hex
}

export interface TransactionContext {
  /** The sender, recovered once when the tx was accepted (receipts carry it). */
  from: Uint8Array
  /** Absent for a pending transaction. */
  blockHash?: Uint8Array
  blockNumber?: bigint
  /** The including block's timestamp (geth added it to included transactions' JSON in 2026). */
  blockTimestamp?: bigint
  index?: number
  /** The including block's base fee: makes `gasPrice` the effective price for fee-market txs. */
  baseFee?: bigint
}

function formatAccessList(accessList: AccessListBytes): AccessListJson[] {
  return accessList.map(([address, storageKeys]) => ({
    address: bytesToHex(address),
    storageKeys: storageKeys.map(bytesToHex),
  }))
}

/** Signed authorization tuples are stored as minimal RLP bytes; JSON wants quantities. */
function formatAuthorizationList(list: readonly Uint8Array[][]): AuthorizationJson[] {
  return list.map(([chainId, address, nonce, yParity, r, s]) => ({
    chainId: toQuantity(bytesToBigInt(chainId!)),
    address: bytesToHex(address!),
    nonce: toQuantity(bytesToBigInt(nonce!)),
    yParity: toQuantity(bytesToBigInt(yParity!)),
    r: toQuantity(bytesToBigInt(r!)),
    s: toQuantity(bytesToBigInt(s!)),
  }))
}

/** geth: in a block, min(tip + baseFee, feeCap); pending, the fee cap. */
function effectiveGasPrice(maxFeePerGas: bigint, maxPriorityFeePerGas: bigint, ctx: TransactionContext): bigint {
  if (ctx.blockHash === undefined || ctx.baseFee === undefined) return maxFeePerGas
  const price = ctx.baseFee + maxPriorityFeePerGas
  return price < maxFeePerGas ? price : maxFeePerGas
}

export function formatTransaction(tx: TypedTransaction, ctx: TransactionContext): TransactionJson {
  const included = ctx.blockHash !== undefined
  const json: TransactionJson = {
    blockHash: included ? bytesToHex(ctx.blockHash!) : null,
    blockNumber: included && ctx.blockNumber !== undefined ? toQuantity(ctx.blockNumber) : null,
    blockTimestamp: included && ctx.blockTimestamp !== undefined ? toQuantity(ctx.blockTimestamp) : null,
    from: bytesToHex(ctx.from),
    gas: toQuantity(tx.gasLimit),
    gasPrice: '0x0',
    hash: bytesToHex(tx.hash()),
    input: bytesToHex(tx.data),
    nonce: toQuantity(tx.nonce),
    to: tx.to === undefined ? null : tx.to.toString(),
    transactionIndex: included && ctx.index !== undefined ? toQuantity(ctx.index) : null,
    value: toQuantity(tx.value),
    type: toQuantity(tx.type),
    v: toQuantity(tx.v ?? 0n),
    r: toQuantity(tx.r ?? 0n),
    s: toQuantity(tx.s ?? 0n),
  }
  if (isLegacyTx(tx)) {
    json.gasPrice = toQuantity(tx.gasPrice)
    // Pre-EIP-155 signatures (v 27/28) carry no chain id; geth omits it for them.
    const v = tx.v ?? 0n
    if (v !== 27n && v !== 28n) json.chainId = toQuantity(tx.common.chainId())
    return json
  }
  json.yParity = json.v
  if (isAccessList2930Tx(tx)) {
    json.gasPrice = toQuantity(tx.gasPrice)
    json.accessList = formatAccessList(tx.accessList)
    json.chainId = toQuantity(tx.chainId)
    return json
  }
  if (isFeeMarket1559Tx(tx) || isBlob4844Tx(tx) || isEOACode7702Tx(tx)) {
    json.gasPrice = toQuantity(effectiveGasPrice(tx.maxFeePerGas, tx.maxPriorityFeePerGas, ctx))
    json.maxFeePerGas = toQuantity(tx.maxFeePerGas)
    json.maxPriorityFeePerGas = toQuantity(tx.maxPriorityFeePerGas)
    json.accessList = formatAccessList(tx.accessList)
    json.chainId = toQuantity(tx.chainId)
    if (isBlob4844Tx(tx)) {
      json.maxFeePerBlobGas = toQuantity(tx.maxFeePerBlobGas)
      json.blobVersionedHashes = tx.blobVersionedHashes.map((hash) => hash.toLowerCase() as Hex)
    }
    if (isEOACode7702Tx(tx)) json.authorizationList = formatAuthorizationList(tx.authorizationList)
  }
  return json
}

export interface WithdrawalJson {
  index: Hex
  validatorIndex: Hex
  address: Hex
  amount: Hex
}

export interface BlockJson {
  hash: Hex
  parentHash: Hex
  sha3Uncles: Hex
  miner: Hex
  stateRoot: Hex
  transactionsRoot: Hex
  receiptsRoot: Hex
  logsBloom: Hex
  difficulty: Hex
  number: Hex
  gasLimit: Hex
  gasUsed: Hex
  timestamp: Hex
  extraData: Hex
  mixHash: Hex
  nonce: Hex
  baseFeePerGas?: Hex
  withdrawalsRoot?: Hex
  blobGasUsed?: Hex
  excessBlobGas?: Hex
  parentBeaconBlockRoot?: Hex
  requestsHash?: Hex
  totalDifficulty: Hex
  size: Hex
  uncles: Hex[]
  transactions: Hex[] | TransactionJson[]
  withdrawals?: WithdrawalJson[]
}

export interface FormatBlockOptions {
  fullTransactions: boolean
  /** Sender of each transaction, in block order (from the receipts; never re-recovered here). */
  senders: Uint8Array[]
  /** Encoded block size in bytes when the caller knows it; otherwise the block is serialized. */
  size?: number
}

/** The header part of a block (what eth_subscribe newHeads sends). */
export type HeaderJson = Omit<BlockJson, 'size' | 'uncles' | 'transactions' | 'withdrawals'>

export function formatHeader(header: Block['header']): HeaderJson {
  const json: HeaderJson = {
    hash: bytesToHex(header.hash()),
    parentHash: bytesToHex(header.parentHash),
    sha3Uncles: bytesToHex(header.uncleHash),
    miner: header.coinbase.toString(),
    stateRoot: bytesToHex(header.stateRoot),
    transactionsRoot: bytesToHex(header.transactionsTrie),
    receiptsRoot: bytesToHex(header.receiptTrie),
    logsBloom: bytesToHex(header.logsBloom),
    difficulty: toQuantity(header.difficulty),
    number: toQuantity(header.number),
    gasLimit: toQuantity(header.gasLimit),
    gasUsed: toQuantity(header.gasUsed),
    timestamp: toQuantity(header.timestamp),
    extraData: bytesToHex(header.extraData),
    mixHash: bytesToHex(header.mixHash),
    nonce: bytesToHex(header.nonce),
    // geth dropped totalDifficulty after the merge; tools that still read it get a post-merge zero.
    totalDifficulty: '0x0',
  }
  if (header.baseFeePerGas !== undefined) json.baseFeePerGas = toQuantity(header.baseFeePerGas)
  if (header.withdrawalsRoot !== undefined) json.withdrawalsRoot = bytesToHex(header.withdrawalsRoot)
  if (header.blobGasUsed !== undefined) json.blobGasUsed = toQuantity(header.blobGasUsed)
  if (header.excessBlobGas !== undefined) json.excessBlobGas = toQuantity(header.excessBlobGas)
  if (header.parentBeaconBlockRoot !== undefined) {
    json.parentBeaconBlockRoot = bytesToHex(header.parentBeaconBlockRoot)
  }
  if (header.requestsHash !== undefined) json.requestsHash = bytesToHex(header.requestsHash)
  return json
}

export function formatBlock(block: Block, opts: FormatBlockOptions): BlockJson {
  const { header } = block
  const blockHash = block.hash()
  const transactions = opts.fullTransactions
    ? block.transactions.map((tx, index) => {
        const from = opts.senders[index]
        if (from === undefined) throw new RangeError(`formatBlock: no sender for transaction ${index}`)
        const ctx: TransactionContext = {
          from,
          blockHash,
          blockNumber: header.number,
          blockTimestamp: header.timestamp,
          index,
        }
        if (header.baseFeePerGas !== undefined) ctx.baseFee = header.baseFeePerGas
        return formatTransaction(tx, ctx)
      })
    : block.transactions.map((tx) => bytesToHex(tx.hash()))
  const json: BlockJson = {
    ...formatHeader(header),
    size: toQuantity(opts.size ?? block.serialize().length),
    uncles: block.uncleHeaders.map((uncle) => bytesToHex(uncle.hash())),
    transactions,
  }
  if (block.withdrawals !== undefined) {
    json.withdrawals = block.withdrawals.map((withdrawal) => ({
      index: toQuantity(withdrawal.index),
      validatorIndex: toQuantity(withdrawal.validatorIndex),
      address: withdrawal.address.toString(),
      amount: toQuantity(withdrawal.amount),
    }))
  }
  return json
}
