import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Block } from '@ethereumjs/block'
import { type TypedTransaction, createFeeMarket1559Tx } from '@ethereumjs/tx'
import { type PrefixedHexString, hexToBytes, setLengthLeft } from '@ethereumjs/util'
import { anchorGenesisAlloc } from '@cairn/contracts'
import type { BlockRecord } from '@cairn/chain'
import { arraySource } from '@cairn/executor'
import { openGenesisChain } from '@cairn/executor/testing'
import { DEV_ACCOUNTS, type GenesisAccount, type L1Anchor, devGenesis } from '@cairn/primitives'
import type { RpcCallContext, RpcMethods } from '@cairn/rpc'
import { CallRunner } from '../call-runner.ts'
import { type EthApiLimits, type EthApiOptions, type RpcMempool, ethMethods } from '../eth-api.ts'
import { createTraceService } from '../trace-service.ts'

/** The L1 block `n` of a test: hash and state root derived from `n`. */
export const l1Block = (n: number): L1Anchor => ({
  number: BigInt(n),
  hash: setLengthLeft(Uint8Array.of(n, 0xaa), 32),
  stateRoot: setLengthLeft(Uint8Array.of(n, 0xbb), 32),
})

export { rejection } from '@cairn/rpc/testing/rejection'

export interface TestChainOptions {
  /** Install the Anchor predeploy (as a rollup genesis does); a plain dev chain has none. */
  anchor?: boolean
  /** More genesis accounts (contracts with code, say). */
  alloc?: Record<string, GenesisAccount>
  /** What the RPC reads of the mempool; an empty pool by default. */
  mempool?: Partial<RpcMempool>
  txSyncTimeoutMs?: EthApiOptions['txSyncTimeoutMs']
  /** trace_filter's limits, when a test needs them small. */
  maxTraceFilter?: EthApiLimits['maxTraceFilter']
  /** `--rpc.evmtimeout` in ms, when a test needs it short. */
  evmTimeoutMs?: number
}

export type TestChain = Awaited<ReturnType<typeof startTestChain>>

/**
 * A dev chain on a real level store in a temp dir, a block executor to build on it, and the RPC
 * methods (traces included) over it, the way the node composes them. Call `close()` when done.
 */
export async function startTestChain(options: TestChainOptions = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-eth-api-'))
  const genesisFile = devGenesis({
    extraAlloc: { ...(options.anchor ? anchorGenesisAlloc() : {}), ...options.alloc },
  })
  const { common, database, chain, state, executor } = await openGenesisChain(dir, genesisFile)
  const calls = new CallRunner(common, state, chain, 50_000_000n, options.evmTimeoutMs)
  const mempool: RpcMempool = {
    addRaw: async () => {
      throw new Error('the test chain has no pool')
    },
    get: () => undefined,
    pendingNonce: async () => 0n,
    status: () => ({ pending: 0, queued: 0 }),
    content: () => ({ pending: new Map(), queued: new Map() }),
    ...options.mempool,
  }
  const methods: RpcMethods = ethMethods({
    common,
    chain,
    state,
    mempool,
    calls,
    clientVersion: 'cairn/test',
    limits: {
      maxLogBlockRange: 1000,
      maxLogResults: 1000,
      maxFeeHistoryBlocks: 1024,
      maxTraceFilter: options.maxTraceFilter,
    },
    traces: createTraceService(chain, calls),
    txSyncTimeoutMs: options.txSyncTimeoutMs,
  })
  const ctx: RpcCallContext = { transport: 'http', connectionId: 'test' }

  /** Builds a block of `txs` on `parent` (the head by default); all must be included. */
  async function build(txs: TypedTransaction[], block: { parent?: Block; anchor?: L1Anchor; timestamp?: bigint } = {}) {
    const parent = block.parent ?? chain.head()
    const { executed, rejected } = await executor.build(
      parent,
      { timestamp: block.timestamp ?? parent.header.timestamp + 2n, anchor: block.anchor },
      arraySource(txs),
    )
    if (rejected.length > 0) throw new Error(`transactions rejected: ${rejected.map((r) => r.reason).join('; ')}`)
    const record: BlockRecord = { block: executed.block, receipts: executed.receipts, senders: executed.senders }
    return record
  }

  return {
    common,
    chain,
    state,
    calls,
    methods,
    /** Calls an RPC method the way the dispatcher does. */
    call: async (method: string, ...params: unknown[]): Promise<unknown> => {
      const handler = methods[method]
      if (handler === undefined) throw new Error(`no method ${method}`)
      return handler(params, ctx)
    },
    /** Builds a block on the head and makes it the new head. */
    async mine(txs: TypedTransaction[] = [], anchor?: L1Anchor): Promise<BlockRecord> {
      const record = await build(txs, { anchor })
      await chain.appendBlock(record, state.pendingBatch())
      return record
    },
    /** Builds a block on `parent` and stores it without making it canonical (a side branch). */
    async putSideBlock(parent: Block, txs: TypedTransaction[], anchor: L1Anchor, timestamp: bigint) {
      const record = await build(txs, { parent, anchor, timestamp })
      await chain.putBlock(record, state.pendingBatch())
      return record
    },
    /** An EIP-1559 transaction signed by dev account `from` (0 by default), priced for the next block; no `to` creates. */
    transaction(fields: {
      nonce: number
      to?: PrefixedHexString
      data?: PrefixedHexString
      value?: bigint
      from?: number
    }) {
      const maxFeePerGas = chain.head().header.calcNextBaseFee() * 2n + 1n
      return createFeeMarket1559Tx(
        {
          nonce: fields.nonce,
          to: fields.to,
          data: fields.data ?? '0x',
          value: fields.value ?? 0n,
          gasLimit: 200_000n,
          maxFeePerGas,
          maxPriorityFeePerGas: 1n,
          chainId: common.chainId(),
        },
        { common },
      ).sign(hexToBytes(DEV_ACCOUNTS[fields.from ?? 0]!.privateKey))
    },
    async close(): Promise<void> {
      await database.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
