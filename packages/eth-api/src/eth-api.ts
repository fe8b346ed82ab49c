import type { Block } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import type { TypedTransaction } from '@ethereumjs/tx'
import { Address, bytesToHex, setLengthLeft } from '@ethereumjs/util'
import { wasmKeccak256 as keccak256 } from '@cairn/executor'
import { z } from 'zod'
import type { BlockRecord, ChainStore } from '@cairn/chain'
import { type Hex, toQuantity } from '@cairn/primitives'
import {
  type BlockNumberOrTag,
  type BlockSelector,
  type RpcMethods,
  addressSchema,
  blockNumberOrTagSchema,
  blockSelectorSchema,
  callRequestSchema,
  dataSchema,
  formatBlock,
  formatReceipt,
  formatTransaction,
  formatLog,
  hashSchema,
  headerNotFound,
  invalidParams,
  logCriteriaSchema,
  parseParams,
  resourceNotFound,
  serverError,
  stateOverridesSchema,
  uint64Schema,
} from '@cairn/rpc'
import type { StateDB } from '@cairn/state'
import type { CallRunner } from './call-runner.ts'
import { rewardPercentiles, suggestTip } from './fees.ts'
import { createLogReader } from './logs.ts'

/** What the RPC needs from the mempool. */
export interface RpcMempool {
  addRaw(raw: Uint8Array): Promise<Uint8Array>
  get(hash: Uint8Array): TypedTransaction | undefined
  pendingNonce(address: Address): Promise<bigint>
  status(): { pending: number; queued: number }
  content(): { pending: Map<string, Map<bigint, TypedTransaction>>; queued: Map<string, Map<bigint, TypedTransaction>> }
}

/** Something that turns a trace request into a geth-shaped trace (the tracer package). */
export interface TraceService {
  traceTransaction(txHash: Uint8Array, options: unknown): Promise<unknown>
  traceCall(request: z.output<typeof callRequestSchema>, block: Block, options: unknown): Promise<unknown>
}

export interface EthApiLimits {
  /** Widest eth_getLogs range in blocks. */
  maxLogBlockRange: number
  /** Most logs one eth_getLogs may return. */
  maxLogResults: number
  /** Most blocks eth_feeHistory covers. */
  maxFeeHistoryBlocks: number
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

  const stateAt = async (selector: BlockSelector | undefined) =>
    state.stateAt((await stateBlock(selector)).header.stateRoot)

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
      out[
        Address.prototype.toString.call(new Address(Uint8Array.from(Buffer.from(address.replace(/^0x/, ''), 'hex'))))
      ] = entry
    }
    return out
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
    eth_feeHistory: async (params) => {
      const [count, newest, percentiles] = parseParams(
        params,
        [uint64Schema, blockNumberOrTagSchema, z.array(z.number().min(0).max(100)).optional()],
        2,
      )
      if (percentiles !== undefined) {
        for (let i = 1; i < percentiles.length; i++) {
          if (percentiles[i]! < percentiles[i - 1]!)
            throw invalidParams(`invalid reward percentile: #${i - 1}:${percentiles[i - 1]} > #${i}:${percentiles[i]}`)
        }
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
        if (percentiles !== undefined) reward.push(rewardPercentiles(record, percentiles).map(toQuantity))
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
        ...(percentiles !== undefined ? { reward } : {}),
      }
    },

    eth_getBalance: async (params) => {
      const [address, block] = parseParams(params, [addressSchema, blockSelectorSchema], 1)
      const account = await (await stateAt(block)).getAccount(new Address(address))
      return toQuantity(account?.balance ?? 0n)
    },
    eth_getTransactionCount: async (params) => {
      const [address, block] = parseParams(params, [addressSchema, blockSelectorSchema], 1)
      if (block === 'pending') return toQuantity(await mempool.pendingNonce(new Address(address)))
      const account = await (await stateAt(block)).getAccount(new Address(address))
      return toQuantity(account?.nonce ?? 0n)
    },
    eth_getCode: async (params) => {
      const [address, block] = parseParams(params, [addressSchema, blockSelectorSchema], 1)
      return bytesToHex(await (await stateAt(block)).getCode(new Address(address)))
    },
    eth_getStorageAt: async (params) => {
      const [address, slot, block] = parseParams(params, [addressSchema, storageSlotSchema, blockSelectorSchema], 2)
      const value = await (await stateAt(block)).getStorage(new Address(address), slot)
      return bytesToHex(setLengthLeft(value, 32))
    },
    eth_getProof: async (params) => {
      const [address, slots, block] = parseParams(
        params,
        [addressSchema, z.array(storageSlotSchema).max(1024), blockSelectorSchema],
        2,
      )
      const header = await stateBlock(block)
      const proof = await state.getProof(header.header.stateRoot, new Address(address), slots)
      return {
        ...proof,
        balance: toQuantity(BigInt(proof.balance)),
        nonce: toQuantity(BigInt(proof.nonce)),
        storageProof: proof.storageProof.map((p, i) => ({
          ...p,
          key: bytesToHex(setLengthLeft(slots[i]!, 32)),
          value: toQuantity(BigInt(p.value)),
        })),
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
    eth_getUncleCountByBlockNumber: () => '0x0',
    eth_getUncleCountByBlockHash: () => '0x0',
    eth_getUncleByBlockNumberAndIndex: () => null,
    eth_getUncleByBlockHashAndIndex: () => null,

    eth_getTransactionByHash: async (params) => {
      const [hash] = parseParams(params, [hashSchema])
      const location = await chain.getTransactionLocation(hash)
      if (location !== undefined) return txJson(location.record, location.index)
      const pending = mempool.get(hash)
      return pending === undefined ? null : pendingTxJson(pending)
    },
    eth_getRawTransactionByHash: async (params) => {
      const [hash] = parseParams(params, [hashSchema])
      const location = await chain.getTransactionLocation(hash)
      const tx = location?.record.block.transactions[location.index] ?? mempool.get(hash)
      return tx === undefined ? null : bytesToHex(tx.serialize())
    },
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
      return bytesToHex(await mempool.addRaw(raw))
    },
    eth_sendTransaction: () => {
      throw serverError('unknown account: this node holds no keys; sign the transaction and use eth_sendRawTransaction')
    },
    eth_sign: () => {
      throw serverError('unknown account: this node holds no keys')
    },

    eth_call: async (params) => {
      const [request, block, overrides] = parseParams(
        params,
        [callRequestSchema, blockSelectorSchema, stateOverridesSchema],
        1,
      )
      return bytesToHex(await calls.call({ block: await stateBlock(block), overrides }, request))
    },
    eth_estimateGas: async (params) => {
      const [request, block, overrides] = parseParams(
        params,
        [callRequestSchema, blockSelectorSchema, stateOverridesSchema],
        1,
      )
      return toQuantity(await calls.estimateGas({ block: await stateBlock(block ?? 'latest'), overrides }, request))
    },
    eth_createAccessList: async (params) => {
      const [request, block] = parseParams(params, [callRequestSchema, blockSelectorSchema], 1)
      const result = await calls.createAccessList({ block: await stateBlock(block) }, request)
      return {
        accessList: result.accessList,
        gasUsed: toQuantity(result.gasUsed),
        ...(result.error ? { error: result.error } : {}),
      }
    },

    eth_getLogs: async (params) => {
      const [criteria] = parseParams(params, [logCriteriaSchema])
      return (await getLogs(criteria)).map(formatLog)
    },

    debug_getRawBlock: async (params) => {
      const [selector] = parseParams(params, [blockSelectorSchema])
      const record = await recordFor(selector)
      if (record === undefined) throw resourceNotFound('block not found')
      return bytesToHex(record.block.serialize())
    },
    debug_getRawHeader: async (params) => {
      const [selector] = parseParams(params, [blockSelectorSchema])
      const record = await recordFor(selector)
      if (record === undefined) throw resourceNotFound('block not found')
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
        `${tx.to === undefined ? 'contract creation' : tx.to.toString()}: ${tx.value} wei + ${tx.gasLimit} gas × ${'maxFeePerGas' in tx ? tx.maxFeePerGas : (tx as { gasPrice: bigint }).gasPrice} wei`
      return { pending: txpoolGroup(content.pending, summary), queued: txpoolGroup(content.queued, summary) }
    },
  }

  if (options.traces !== undefined) {
    const traces = options.traces
    methods.debug_traceTransaction = async (params) => {
      const [hash, traceOptions] = parseParams(params, [hashSchema, z.unknown()], 1)
      return traces.traceTransaction(hash, traceOptions ?? {})
    }
    methods.debug_traceCall = async (params) => {
      const [request, block, traceOptions] = parseParams(
        params,
        [callRequestSchema, blockSelectorSchema, z.unknown()],
        1,
      )
      return traces.traceCall(request, await stateBlock(block), traceOptions ?? {})
    }
  }

  return methods
}

/** Storage slots: geth accepts a 32-byte hash or any quantity up to 32 bytes. */
const storageSlotSchema = z.string().transform((value, ctx) => {
  const body = value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : undefined
  if (body === undefined || body.length > 64 || !/^[0-9a-fA-F]*$/.test(body)) {
    ctx.addIssue({ code: 'custom', message: 'invalid storage slot: want a hex string of at most 32 bytes' })
    return z.NEVER
  }
  return setLengthLeft(Uint8Array.from(Buffer.from(body.padStart(64, '0'), 'hex')), 32)
})
