import type { Block } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import type { TransactionType, TypedTransaction } from '@ethereumjs/tx'
import type { PostByzantiumTxReceipt } from '@ethereumjs/vm'
import { Address, bytesToBigInt, bytesToHex, setLengthLeft, toChecksumAddress } from '@ethereumjs/util'
import { encodeReceiptRlp, wasmKeccak256 as keccak256 } from '@cairn/executor'
import { z } from 'zod'
import type { BlockRecord, ChainStore } from '@cairn/chain'
import { type Hex, type ReceiptRecord, toQuantity } from '@cairn/primitives'
import {
  type AccountOverride,
  type BlockNumberOrTag,
  type BlockOverrides,
  type BlockSelector,
  type CallRequest,
  type RpcMethods,
  addressSchema,
  blockNumberOrTagSchema,
  blockOverridesSchema,
  blockSelectorSchema,
  callRequestSchema,
  dataSchema,
  formatBlock,
  formatHeader,
  formatReceipt,
  formatTransaction,
  formatLog,
  hashSchema,
  headerNotFound,
  hexOrDecimal64Schema,
  invalidParams,
  limitExceeded,
  logCriteriaSchema,
  parseParams,
  serverError,
  stateOverridesSchema,
  txSyncNotReady,
  txSyncTimeout,
  uint64Schema,
} from '@cairn/rpc'
import type { StateDB } from '@cairn/state'
import { type CallEnvironment, type CallRunner, checkCallRequest } from './call-runner.ts'
import { rewardPercentiles, suggestTip } from './fees.ts'
import { InclusionWatcher } from './inclusion-watcher.ts'
import { Simulator, simulatePayloadSchema } from './simulate.ts'
import { createLogReader } from './logs.ts'
import { parityTraceMethods } from './parity-traces.ts'

/** A stored receipt's consensus encoding, as the block's receiptsRoot commits to it. */
function consensusReceipt(receipt: ReceiptRecord): Uint8Array {
  const fields: PostByzantiumTxReceipt = {
    status: receipt.status,
    cumulativeBlockGasUsed: receipt.cumulativeGasUsed,
    bitvector: receipt.logsBloom,
    logs: receipt.logs.map((log) => [log.address, log.topics, log.data]),
  }
  return encodeReceiptRlp(fields, receipt.type as TransactionType)
}

/** What the RPC needs from the mempool. */
export interface RpcMempool {
  addRaw(raw: Uint8Array, options?: { maxTxFee?: bigint }): Promise<Uint8Array>
  get(hash: Uint8Array): TypedTransaction | undefined
  pendingNonce(address: Address): Promise<bigint>
  status(): { pending: number; queued: number }
  content(): { pending: Map<string, Map<bigint, TypedTransaction>>; queued: Map<string, Map<bigint, TypedTransaction>> }
}

/**
 * The tracing behind debug_trace* and trace_* (the tracer package, on replayed blocks). `options` are
 * geth's trace options (the tracer's name and config, or the struct logger's settings), or a function
 * that makes the tracer.
 */
export interface TraceService {
  traceTransaction(txHash: Uint8Array, options: unknown): Promise<unknown>
  /** Every transaction of a stored block, in order, as geth's debug_traceBlock* returns them. */
  traceBlock(record: BlockRecord, options: unknown): Promise<{ txHash: Hex; result: unknown }[]>
  traceCall(request: z.output<typeof callRequestSchema>, block: Block, options: unknown): Promise<unknown>
}

export interface EthApiLimits {
  /** Widest eth_getLogs range in blocks. */
  maxLogBlockRange: number
  /** Most logs one eth_getLogs may return. */
  maxLogResults: number
  /** Most blocks eth_feeHistory covers. */
  maxFeeHistoryBlocks: number
  /** Most blocks and transactions one trace_filter replays (defaults: 100 and 10,000). */
  maxTraceFilter?: { blocks: number; transactions: number }
}

export interface EthApiOptions {
  common: Common
  chain: ChainStore
  state: StateDB
  mempool: RpcMempool
  calls: CallRunner
  clientVersion: string
  limits: EthApiLimits
  traces?: TraceService
  /** Number of connected peers, for net_peerCount. */
  peerCount?: () => number
  /** Largest fee (gas limit × fee cap, wei) eth_sendRawTransaction accepts; 0 or none: no cap. */
  txFeeCap?: bigint
  /**
   * How long eth_sendRawTransactionSync waits for the receipt, in milliseconds: when the call names
   * no timeout, and the most a call may name. geth's defaults: 20 s and 60 s.
   */
  txSyncTimeoutMs?: { default: number; max: number }
}

/**
 * The eth_, net_, web3_ and txpool_ methods: parse params, read the stores, format like geth.
 * Logic that is not about JSON lives in the stores, the executor and the call runner.
 */
export function ethMethods(options: EthApiOptions): RpcMethods {
  const { chain, state, mempool, calls, common, limits } = options
  const chainId = common.chainId()

  const latestNumber = () => chain.head('latest').header.number

  const getLogs = createLogReader(chain, limits)
  const inclusions = new InclusionWatcher(chain)
  const simulator = new Simulator(common, calls)
  const txSyncMaxMs = options.txSyncTimeoutMs?.max ?? 60_000
  const txSyncDefaultMs = Math.min(options.txSyncTimeoutMs?.default ?? 20_000, txSyncMaxMs)

  /** A block by number or tag; undefined when not (yet) there. */
  async function recordAt(selector: BlockNumberOrTag): Promise<BlockRecord | undefined> {
    if (typeof selector === 'bigint') return chain.getBlockByNumber(selector)
    return chain.getBlockRecord(
      selector === 'earliest'
        ? ((await chain.getCanonicalHash(0n)) ?? new Uint8Array(32))
        : chain.head(selector === 'pending' ? 'latest' : selector).hash(),
    )
  }

  async function recordFor(selector: BlockSelector): Promise<BlockRecord | undefined> {
    if (typeof selector === 'object') {
      const record = await chain.getBlockRecord(selector.blockHash)
      if (record === undefined) return undefined
      if (selector.requireCanonical) {
        const canonical = await chain.getCanonicalHash(record.block.header.number)
        if (canonical === undefined || bytesToHex(canonical) !== bytesToHex(selector.blockHash)) {
          throw serverError(`hash ${bytesToHex(selector.blockHash)} is not currently canonical`)
        }
      }
      return record
    }
    return recordAt(selector)
  }

  /** The block a state query reads; geth answers `header not found` when there is none. */
  async function stateBlock(selector: BlockSelector | undefined): Promise<Block> {
    const record = await recordFor(selector ?? 'latest')
    if (record === undefined) throw headerNotFound()
    return record.block
  }

  /**
   * Where eth_call and its kin run: on the selected block's state in its own context, like geth;
   * `pending` (Cairn serves the latest state for it) in the context of the next block.
   */
  async function callEnvironment(
    selector: BlockSelector | undefined,
    overrides?: AccountOverride[],
    blockOverrides?: BlockOverrides,
  ): Promise<CallEnvironment> {
    const block = await stateBlock(selector)
    return { block, pending: selector === 'pending', overrides, blockOverrides }
  }

  /**
   * The shared read-only view of a block's state (state reads only: nothing executes on it). One
   * view per root serves every reader, its caches warm; a fresh one per call cost more than the read.
   */
  const viewAt = async (selector: BlockSelector | undefined) =>
    state.view((await stateBlock(selector)).header.stateRoot)

  function blockJson(record: BlockRecord | undefined, full: boolean) {
    if (record === undefined) return null
    return formatBlock(record.block, { fullTransactions: full, senders: record.senders })
  }

  function txJson(record: BlockRecord, index: number) {
    const tx = record.block.transactions[index]
    if (tx === undefined) return null
    return formatTransaction(tx, {
      from: record.senders[index]!,
      blockHash: record.block.hash(),
      blockNumber: record.block.header.number,
      blockTimestamp: record.block.header.timestamp,
      index,
      baseFee: record.block.header.baseFeePerGas ?? 0n,
    })
  }

  async function recentBlocks(count: number): Promise<BlockRecord[]> {
    const records: BlockRecord[] = []
    for (let n = latestNumber(); n >= 0n && records.length < count; n--) {
      const record = await chain.getBlockByNumber(n)
      if (record !== undefined) records.push(record)
    }
    return records
  }

  const txpoolGroup = (
    groups: Map<string, Map<bigint, TypedTransaction>>,
    render: (tx: TypedTransaction) => unknown,
  ) => {
    const out: Record<string, Record<string, unknown>> = {}
    for (const [address, byNonce] of groups) {
      const entry: Record<string, unknown> = {}
      for (const [nonce, tx] of byNonce) entry[nonce.toString()] = render(tx)
      // geth keys accounts by their EIP-55 checksummed form.
      out[toChecksumAddress(address)] = entry
    }
    return out
  }
  /** geth's TransactionArgs.setDefaults for a transaction to sign (eth_fillTransaction). */
  async function fillTransaction(request: CallRequest): Promise<TypedTransaction> {
    checkCallRequest(request, chainId)
    const legacy = request.gasPrice !== undefined
    if (request.to == null && (request.data?.length ?? 0) === 0) {
      throw serverError('contract creation without any data provided')
    }
    const filled: CallRequest = { ...request }
    if (!legacy) {
      const tip = request.maxPriorityFeePerGas ?? suggestTip(await recentBlocks(20))
      const feeCap = request.maxFeePerGas ?? tip + 2n * chain.head('latest').header.calcNextBaseFee()
      if (feeCap < tip) throw serverError(`maxFeePerGas (${feeCap}) < maxPriorityFeePerGas (${tip})`)
      filled.maxPriorityFeePerGas = tip
      filled.maxFeePerGas = feeCap
    }
    filled.nonce = request.nonce ?? (await mempool.pendingNonce(new Address(request.from ?? new Uint8Array(20))))
    const gas = request.gas ?? (await calls.estimateGas(await callEnvironment('latest'), filled))
    return calls.buildTransaction(filled, gas)
  }

  /** A mined or pooled transaction's bytes by hash (eth_getRawTransactionByHash, debug_getRawTransaction). */
  async function rawTransaction(params: unknown[]): Promise<Hex | null> {
    const [hash] = parseParams(params, [hashSchema])
    const location = await chain.getTransactionLocation(hash)
    const tx = location?.record.block.transactions[location.index] ?? mempool.get(hash)
    return tx === undefined ? null : bytesToHex(tx.serialize())
  }

  function rawTransactionAt(record: BlockRecord | undefined, index: bigint): Hex {
    const tx = record?.block.transactions[Number(index)]
    return tx === undefined ? '0x' : bytesToHex(tx.serialize())
  }

  const pendingTxJson = (tx: TypedTransaction) => formatTransaction(tx, { from: tx.getSenderAddress().bytes })

  const methods: RpcMethods = {
    web3_clientVersion: () => options.clientVersion,
    web3_sha3: (params) => {
      const [data] = parseParams(params, [dataSchema])
      return bytesToHex(keccak256(data))
    },
    net_version: () => chainId.toString(),
    net_listening: () => true,
    net_peerCount: () => toQuantity(options.peerCount?.() ?? 0),
    eth_chainId: () => toQuantity(chainId),
    eth_blockNumber: () => toQuantity(latestNumber()),
    eth_syncing: () => false,
    eth_accounts: () => [],
    eth_mining: () => false,
    eth_hashrate: () => '0x0',
    eth_protocolVersion: () => '0x44',

    eth_gasPrice: async () => {
      const baseFee = chain.head('latest').header.calcNextBaseFee()
      return toQuantity(baseFee + suggestTip(await recentBlocks(20)))
    },
    eth_maxPriorityFeePerGas: async () => toQuantity(suggestTip(await recentBlocks(20))),
    eth_blobBaseFee: () => '0x1',
    // geth's (2026): the base fee of the next block.
    eth_baseFee: () => toQuantity(chain.head('latest').header.calcNextBaseFee()),
    eth_feeHistory: async (params) => {
      const [count, newest, percentiles] = parseParams(
        params,
        [hexOrDecimal64Schema, blockNumberOrTagSchema, z.array(z.number().min(0).max(100)).optional()],
        2,
      )
      // geth: strictly increasing, and no `reward` at all when none is asked for (it is nil, omitempty).
      const asked = percentiles?.length ? percentiles : undefined
      // geth's maxQueryLimit: each percentile is a pass over every block's sorted tips.
      if (asked !== undefined && asked.length > MAX_REWARD_PERCENTILES)
        throw invalidParams(`invalid reward percentile: over the query limit ${MAX_REWARD_PERCENTILES}`)
      for (let i = 1; asked !== undefined && i < asked.length; i++) {
        const [before, after] = [asked[i - 1]!, asked[i]!]
        if (after <= before)
          throw invalidParams(`invalid reward percentile: #${i - 1}:${before.toFixed(6)} >= #${i}:${after.toFixed(6)}`)
      }
      const newestRecord = await recordAt(newest)
      if (newestRecord === undefined) throw headerNotFound()
      const blocks = Number(count < BigInt(limits.maxFeeHistoryBlocks) ? count : BigInt(limits.maxFeeHistoryBlocks))
      const newestNumber = newestRecord.block.header.number
      const oldest = newestNumber - BigInt(blocks) + 1n < 0n ? 0n : newestNumber - BigInt(blocks) + 1n
      const baseFeePerGas: Hex[] = []
      const gasUsedRatio: number[] = []
      const reward: Hex[][] = []
      let last: Block | undefined
      for (let n = oldest; n <= newestNumber; n++) {
        const record = (await chain.getBlockByNumber(n))!
        baseFeePerGas.push(toQuantity(record.block.header.baseFeePerGas ?? 0n))
        gasUsedRatio.push(Number(record.block.header.gasUsed) / Number(record.block.header.gasLimit))
        if (asked !== undefined) reward.push(rewardPercentiles(record, asked).map(toQuantity))
        last = record.block
      }
      if (blocks === 0 || last === undefined)
        return { oldestBlock: '0x0', baseFeePerGas: [], gasUsedRatio: [], baseFeePerBlobGas: [], blobGasUsedRatio: [] }
      baseFeePerGas.push(toQuantity(last.header.calcNextBaseFee()))
      return {
        oldestBlock: toQuantity(oldest),
        baseFeePerGas,
        gasUsedRatio,
        baseFeePerBlobGas: baseFeePerGas.map(() => '0x1'),
        blobGasUsedRatio: gasUsedRatio.map(() => 0),
        ...(asked !== undefined ? { reward } : {}),
      }
    },

    eth_getBalance: async (params) => {
      const [address, block] = parseParams(params, [addressSchema, blockSelectorSchema], 1)
      const account = await (await viewAt(block)).getAccount(new Address(address))
      return toQuantity(account?.balance ?? 0n)
    },
    eth_getTransactionCount: async (params) => {
      const [address, block] = parseParams(params, [addressSchema, blockSelectorSchema], 1)
      if (block === 'pending') return toQuantity(await mempool.pendingNonce(new Address(address)))
      const account = await (await viewAt(block)).getAccount(new Address(address))
      return toQuantity(account?.nonce ?? 0n)
    },
    eth_getCode: async (params) => {
      const [address, block] = parseParams(params, [addressSchema, blockSelectorSchema], 1)
      return bytesToHex(await (await viewAt(block)).getCode(new Address(address)))
    },
    eth_getStorageAt: async (params) => {
      const [address, key, block] = parseParams(params, [addressSchema, storageKeySchema, blockSelectorSchema], 2)
      const view = await viewAt(block)
      const value = await view.getStorage(new Address(address), decodeStorageKey(key).slot)
      return bytesToHex(setLengthLeft(value, 32))
    },
    // geth's (2026): many slots of many accounts read at one block, in one call.
    eth_getStorageValues: async (params) => {
      const [request, block] = parseParams(params, [storageValuesRequestSchema, blockSelectorSchema], 1)
      let slots = 0
      for (const account of request.values()) slots += account.slots.length
      if (slots > MAX_STORAGE_VALUES) {
        throw limitExceeded(`too many slots (max ${MAX_STORAGE_VALUES}, got ${slots}); split the request`)
      }
      if (slots === 0) throw invalidParams('empty request')
      const view = await viewAt(block)
      const values: Record<Hex, Hex[]> = {}
      for (const [key, { address, slots }] of request) {
        const account = new Address(address)
        const read: Hex[] = []
        for (const slot of slots) read.push(bytesToHex(setLengthLeft(await view.getStorage(account, slot), 32)) as Hex)
        values[key] = read
      }
      return values
    },
    eth_getProof: async (params) => {
      const [address, keys, block] = parseParams(
        params,
        [addressSchema, z.array(storageKeySchema), blockSelectorSchema],
        2,
      )
      if (keys.length > MAX_PROOF_KEYS) {
        throw invalidParams(`too many storage keys requested (max ${MAX_PROOF_KEYS}, got ${keys.length})`)
      }
      const decoded = keys.map(decodeStorageKey)
      const header = await stateBlock(block)
      const proof = await state.getProof(
        header.header.stateRoot,
        new Address(address),
        decoded.map((key) => key.slot),
      )
      return {
        ...proof,
        balance: toQuantity(BigInt(proof.balance)),
        nonce: toQuantity(BigInt(proof.nonce)),
        storageProof: proof.storageProof.map((p, i) => {
          const { slot, length } = decoded[i]!
          // geth echoes a 32-byte key as 32 bytes and a shorter one as a quantity.
          return {
            ...p,
            key: length === 32 ? bytesToHex(slot) : toQuantity(bytesToBigInt(slot)),
            value: toQuantity(BigInt(p.value)),
          }
        }),
      }
    },

    eth_getBlockByNumber: async (params) => {
      const [selector, full] = parseParams(params, [blockNumberOrTagSchema, z.boolean()], 1)
      return blockJson(await recordAt(selector), full ?? false)
    },
    eth_getBlockByHash: async (params) => {
      const [hash, full] = parseParams(params, [hashSchema, z.boolean()], 1)
      return blockJson(await chain.getBlockRecord(hash), full ?? false)
    },
    eth_getHeaderByNumber: async (params) => {
      const [selector] = parseParams(params, [blockNumberOrTagSchema])
      const record = await recordAt(selector)
      return record === undefined ? null : formatHeader(record.block.header)
    },
    eth_getHeaderByHash: async (params) => {
      const [hash] = parseParams(params, [hashSchema])
      const record = await chain.getBlockRecord(hash)
      return record === undefined ? null : formatHeader(record.block.header)
    },
    eth_getBlockTransactionCountByNumber: async (params) => {
      const [selector] = parseParams(params, [blockNumberOrTagSchema])
      const record = await recordAt(selector)
      return record === undefined ? null : toQuantity(record.block.transactions.length)
    },
    eth_getBlockTransactionCountByHash: async (params) => {
      const [hash] = parseParams(params, [hashSchema])
      const record = await chain.getBlockRecord(hash)
      return record === undefined ? null : toQuantity(record.block.transactions.length)
    },
    // A rollup block has no uncles; the arguments are still geth's, and checked as geth checks them.
    eth_getUncleCountByBlockNumber: (params) => {
      parseParams(params, [blockNumberOrTagSchema])
      return '0x0'
    },
    eth_getUncleCountByBlockHash: (params) => {
      parseParams(params, [hashSchema])
      return '0x0'
    },
    eth_getUncleByBlockNumberAndIndex: (params) => {
      parseParams(params, [blockNumberOrTagSchema, uint64Schema])
      return null
    },
    eth_getUncleByBlockHashAndIndex: (params) => {
      parseParams(params, [hashSchema, uint64Schema])
      return null
    },

    eth_getTransactionByHash: async (params) => {
      const [hash] = parseParams(params, [hashSchema])
      const location = await chain.getTransactionLocation(hash)
      if (location !== undefined) return txJson(location.record, location.index)
      const pending = mempool.get(hash)
      return pending === undefined ? null : pendingTxJson(pending)
    },
    eth_getRawTransactionByHash: (params) => rawTransaction(params),
    // geth answers "0x" (empty bytes), not null, for a block or index it does not have.
    eth_getRawTransactionByBlockNumberAndIndex: async (params) => {
      const [selector, index] = parseParams(params, [blockNumberOrTagSchema, uint64Schema])
      return rawTransactionAt(await recordAt(selector), index)
    },
    eth_getRawTransactionByBlockHashAndIndex: async (params) => {
      const [hash, index] = parseParams(params, [hashSchema, uint64Schema])
      return rawTransactionAt(await chain.getBlockRecord(hash), index)
    },
    // geth's: the pool's transactions sent from the node's own accounts; it holds none.
    eth_pendingTransactions: () => [],
    eth_getTransactionByBlockNumberAndIndex: async (params) => {
      const [selector, index] = parseParams(params, [blockNumberOrTagSchema, uint64Schema])
      const record = await recordAt(selector)
      return record === undefined ? null : txJson(record, Number(index))
    },
    eth_getTransactionByBlockHashAndIndex: async (params) => {
      const [hash, index] = parseParams(params, [hashSchema, uint64Schema])
      const record = await chain.getBlockRecord(hash)
      return record === undefined ? null : txJson(record, Number(index))
    },
    eth_getTransactionReceipt: async (params) => {
      const [hash] = parseParams(params, [hashSchema])
      const location = await chain.getTransactionLocation(hash)
      if (location === undefined) return null
      return formatReceipt(chain.receiptsOf(location.record)[location.index]!)
    },
    eth_getBlockReceipts: async (params) => {
      const [selector] = parseParams(params, [blockSelectorSchema])
      const record = await recordFor(selector)
      return record === undefined ? null : chain.receiptsOf(record).map(formatReceipt)
    },

    eth_sendRawTransaction: async (params) => {
      const [raw] = parseParams(params, [dataSchema])
      return bytesToHex(await mempool.addRaw(raw, { maxTxFee: options.txFeeCap }))
    },
    // EIP-7966, as geth: the receipt once a block includes the transaction, or error 4 (data: the
    // hash) when none has within the timeout. A transaction parked behind a nonce gap gets error 5 at
    // once (the EIP's SHOULD; geth waits out the timeout instead): no block can take it meanwhile.
    eth_sendRawTransactionSync: async (params) => {
      const [raw, requested] = parseParams(params, [dataSchema, hexOrDecimal64Schema], 1)
      const timeoutMs =
        requested === undefined || requested === 0n ? txSyncDefaultMs : Math.min(Number(requested), txSyncMaxMs)
      const hashBytes = await mempool.addRaw(raw, { maxTxFee: options.txFeeCap })
      const hash = bytesToHex(hashBytes)
      const wait = inclusions.watch(hash)
      let timer: ReturnType<typeof setTimeout> | undefined
      try {
        const location = await chain.getTransactionLocation(hashBytes)
        if (location !== undefined) return formatReceipt(chain.receiptsOf(location.record)[location.index]!)
        const pooled = mempool.get(hashBytes)
        if (pooled !== undefined) {
          const next = await mempool.pendingNonce(pooled.getSenderAddress())
          if (pooled.nonce >= next) {
            throw txSyncNotReady(
              hash,
              `The transaction was added to the transaction pool but wasn't processed due to a missing nonce: it has nonce ${pooled.nonce}, the sender's next is ${next}`,
            )
          }
        }
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(txSyncTimeout(hash, timeoutMs)), timeoutMs)
          // A wait must not hold a stopping node open.
          timer.unref()
        })
        return formatReceipt(await Promise.race([wait.receipt, timedOut]))
      } finally {
        clearTimeout(timer)
        wait.stop()
      }
    },
    // geth reads the arguments before it looks for the account.
    eth_sendTransaction: (params) => {
      parseParams(params, [callRequestSchema])
      throw serverError('unknown account: this node holds no keys; sign the transaction and use eth_sendRawTransaction')
    },
    eth_sign: (params) => {
      parseParams(params, [addressSchema, dataSchema])
      throw serverError('unknown account: this node holds no keys')
    },
    eth_signTransaction: (params) => {
      parseParams(params, [callRequestSchema])
      throw serverError('unknown account: this node holds no keys; sign the transaction yourself')
    },

    eth_call: async (params) => {
      const [request, block, overrides, blockOverrides] = parseParams(
        params,
        [callRequestSchema, blockSelectorSchema, stateOverridesSchema, blockOverridesSchema],
        1,
      )
      return bytesToHex(await calls.call(await callEnvironment(block, overrides, blockOverrides), request))
    },
    eth_estimateGas: async (params) => {
      const [request, block, overrides, blockOverrides] = parseParams(
        params,
        [callRequestSchema, blockSelectorSchema, stateOverridesSchema, blockOverridesSchema],
        1,
      )
      return toQuantity(await calls.estimateGas(await callEnvironment(block, overrides, blockOverrides), request))
    },
    eth_createAccessList: async (params) => {
      const [request, block, overrides] = parseParams(
        params,
        [callRequestSchema, blockSelectorSchema, stateOverridesSchema],
        1,
      )
      const result = await calls.createAccessList(await callEnvironment(block, overrides), request)
      return {
        accessList: result.accessList,
        gasUsed: toQuantity(result.gasUsed),
        ...(result.error ? { error: result.error } : {}),
      }
    },
    // geth's FillTransaction: the request with geth's defaults filled in (fees, nonce, gas, chain
    // id), as the unsigned transaction's bytes and fields. viem asks it first when preparing a send.
    eth_fillTransaction: async (params) => {
      const [request] = parseParams(params, [callRequestSchema])
      const tx = await fillTransaction(request)
      // geth's transaction JSON: no block position or sender, and no gasPrice for a fee-market one.
      const json = formatTransaction(tx, { from: tx.getSenderAddress().bytes })
      const { blockHash, blockNumber, blockTimestamp, transactionIndex, from, gasPrice, ...fields } = json
      return { raw: bytesToHex(tx.serialize()), tx: tx.type < 2 ? { gasPrice, ...fields } : fields }
    },
    eth_simulateV1: async (params) => {
      const [payload, selector] = parseParams(params, [simulatePayloadSchema, blockSelectorSchema], 1)
      return simulator.simulate(await stateBlock(selector), payload)
    },

    eth_getLogs: async (params) => {
      const [criteria] = parseParams(params, [logCriteriaSchema])
      return (await getLogs(criteria)).map(formatLog)
    },

    debug_getRawBlock: async (params) => {
      const [selector] = parseParams(params, [blockSelectorSchema])
      const record = await recordFor(selector)
      if (record === undefined) throw serverError('block not found')
      return bytesToHex(record.block.serialize())
    },
    // geth's GetRawReceipts: each receipt's consensus encoding (typed envelope), what receiptsRoot commits to.
    debug_getRawReceipts: async (params) => {
      const [selector] = parseParams(params, [blockSelectorSchema])
      const record = await recordFor(selector)
      if (record === undefined) throw serverError('block not found')
      return chain.receiptsOf(record).map((receipt) => bytesToHex(consensusReceipt(receipt)))
    },
    debug_getRawTransaction: (params) => rawTransaction(params),
    debug_getRawHeader: async (params) => {
      const [selector] = parseParams(params, [blockSelectorSchema])
      const record = await recordFor(selector)
      if (record === undefined) throw serverError('block not found')
      return bytesToHex(record.block.header.serialize())
    },

    txpool_status: () => {
      const { pending, queued } = mempool.status()
      return { pending: toQuantity(pending), queued: toQuantity(queued) }
    },
    txpool_content: () => {
      const content = mempool.content()
      return {
        pending: txpoolGroup(content.pending, pendingTxJson),
        queued: txpoolGroup(content.queued, pendingTxJson),
      }
    },
    txpool_contentFrom: (params) => {
      const [address] = parseParams(params, [addressSchema])
      const content = mempool.content()
      const key = (groups: Map<string, Map<bigint, TypedTransaction>>) => {
        for (const [sender, txs] of groups)
          if (sender.toLowerCase().replace(/^0x/, '') === bytesToHex(address).slice(2)) return txs
        return new Map<bigint, TypedTransaction>()
      }
      const render = (txs: Map<bigint, TypedTransaction>) =>
        Object.fromEntries([...txs].map(([nonce, tx]) => [nonce.toString(), pendingTxJson(tx)]))
      return { pending: render(key(content.pending)), queued: render(key(content.queued)) }
    },
    txpool_inspect: () => {
      const content = mempool.content()
      const summary = (tx: TypedTransaction) =>
        `${tx.to === undefined ? 'contract creation' : toChecksumAddress(tx.to.toString())}: ${tx.value} wei + ${tx.gasLimit} gas × ${'maxFeePerGas' in tx ? tx.maxFeePerGas : (tx as { gasPrice: bigint }).gasPrice} wei`
      return { pending: txpoolGroup(content.pending, summary), queued: txpoolGroup(content.queued, summary) }
    },
  }

  if (options.traces !== undefined) {
    const traces = options.traces
    methods.debug_traceTransaction = async (params) => {
      const [hash, traceOptions] = parseParams(params, [hashSchema, z.unknown()], 1)
      return traces.traceTransaction(hash, traceOptions ?? {})
    }
    methods.debug_traceBlockByNumber = async (params) => {
      const [selector, traceOptions] = parseParams(params, [blockNumberOrTagSchema, z.unknown()], 1)
      const record = await recordAt(selector)
      if (record === undefined) throw serverError(`block #${selector} not found`)
      return traces.traceBlock(record, traceOptions ?? {})
    }
    methods.debug_traceBlockByHash = async (params) => {
      const [hash, traceOptions] = parseParams(params, [hashSchema, z.unknown()], 1)
      const record = await chain.getBlockRecord(hash)
      if (record === undefined) throw serverError(`block ${bytesToHex(hash)} not found`)
      return traces.traceBlock(record, traceOptions ?? {})
    }
    methods.debug_traceCall = async (params) => {
      const [request, block, traceOptions] = parseParams(
        params,
        [callRequestSchema, blockSelectorSchema, z.unknown()],
        1,
      )
      // geth has no pending block to trace on and says so rather than tracing on `latest`.
      if (block === 'pending') throw serverError('tracing on top of pending is not supported')
      return traces.traceCall(request, await stateBlock(block), traceOptions ?? {})
    }
    Object.assign(
      methods,
      parityTraceMethods({ chain, traces, recordFor, stateBlock, filterLimits: limits.maxTraceFilter }),
    )
  }

  return methods
}

/** geth's cap on the reward percentiles of one eth_feeHistory. */
const MAX_REWARD_PERCENTILES = 100
/** geth's cap on the storage keys of one eth_getProof. */
const MAX_PROOF_KEYS = 1024
/** geth's cap on the slots of one eth_getStorageValues, all accounts together. */
const MAX_STORAGE_VALUES = 1024

/** eth_getStorageValues' request: account → 32-byte slots, as geth's `map[common.Address][]common.Hash`. */
const storageValuesRequestSchema = z
  .record(z.string(), z.array(hashSchema, { error: 'cannot unmarshal non-array into []common.Hash' }), {
    error: 'cannot unmarshal non-object into map[common.Address][]common.Hash',
  })
  .transform((request, ctx) => {
    const accounts = new Map<Hex, { address: Uint8Array; slots: Uint8Array[] }>()
    for (const [key, slots] of Object.entries(request)) {
      const address = addressSchema.safeParse(key)
      if (!address.success) {
        ctx.addIssue({ code: 'custom', message: `invalid address ${JSON.stringify(key)}` })
        return z.NEVER
      }
      // As geth's map: two spellings of one address are one account, the later one's slots kept.
      accounts.set(bytesToHex(address.data) as Hex, { address: address.data, slots })
    }
    return accounts
  })

/** Storage keys arrive as strings; geth decodes them in the method, so its errors carry no argument index. */
const storageKeySchema = z.string({ error: 'cannot unmarshal non-string into string' })

/**
 * geth's decodeStorageKey: at most 32 bytes of hex, `0x` optional, an odd digit count padded with a
 * leading zero. Returns the slot and how many bytes the caller wrote (eth_getProof echoes by it).
 */
function decodeStorageKey(key: string): { slot: Uint8Array; length: number } {
  const digits = key.startsWith('0x') || key.startsWith('0X') ? key.slice(2) : key
  const even = digits.length % 2 === 1 ? `0${digits}` : digits
  if (even.length > 64) throw invalidParams(`storage key too long (want at most 32 bytes): ${JSON.stringify(key)}`)
  if (!/^[0-9a-fA-F]*$/.test(even)) throw invalidParams(`invalid hex in storage key: ${JSON.stringify(key)}`)
  return { slot: setLengthLeft(Uint8Array.from(Buffer.from(even, 'hex')), 32), length: even.length / 2 }
}
