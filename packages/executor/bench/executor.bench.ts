/**
 * Raw executor throughput on level: blocks of pre-signed ETH transfers (1,000 senders → fresh
 * recipients) with state root, tx and receipt tries, persisted in one batch per block.
 * Run: npx tsx packages/executor/bench/executor.bench.ts [txPerBlock] [blocks]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFeeMarket1559Tx, type TypedTransaction } from '@ethereumjs/tx'
import { KECCAK256_RLP, bytesToHex, hexToBytes, privateToAddress } from '@ethereumjs/util'
import { createChainCommon, devGenesis, type GenesisAccount } from '@cairn/primitives'
import { ChainStore, NodeDatabase } from '@cairn/chain'
import { StateDB } from '@cairn/state'
import { BlockExecutor, arraySource, createGenesisBlock, nativeCustomCrypto } from '../src/index.ts'

export async function benchExecutorTransfers(txPerBlock = 1000, blocks = 5) {
  const senders = Array.from({ length: txPerBlock }, (_, i) =>
    hexToBytes(`0x${(i + 1).toString(16).padStart(64, '0')}`),
  )
  const extraAlloc: Record<string, GenesisAccount> = {}
  for (const key of senders) extraAlloc[bytesToHex(privateToAddress(key))] = { balance: '0xffffffffffffffffffff' }
  const genesisFile = devGenesis({ extraAlloc })
  const common = createChainCommon(genesisFile, nativeCustomCrypto())
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'))
  const database = await NodeDatabase.open(dir)
  const chain = new ChainStore(database, common)
  const stateDB = new StateDB(database.sublevel('state'), common)
  const genesis = await createGenesisBlock(common, genesisFile, stateDB.headState(KECCAK256_RLP))
  await chain.initGenesis(genesis, stateDB.pendingBatch())
  const executor = await BlockExecutor.create({
    common,
    state: stateDB.headState(genesis.header.stateRoot),
    blockHashes: chain,
  })

  let parent = genesis
  let totalTx = 0
  let totalGas = 0n
  let elapsed = 0
  for (let b = 0; b < blocks; b++) {
    const baseFee = parent.header.calcNextBaseFee()
    const txs: TypedTransaction[] = senders.map((key, i) =>
      createFeeMarket1559Tx(
        {
          nonce: b,
          to: bytesToHex(hexToBytes(`0x${(0x10000 + b * txPerBlock + i).toString(16).padStart(40, '0')}`)),
          value: 1n,
          gasLimit: 21000n,
          maxFeePerGas: baseFee * 2n + 10n,
          maxPriorityFeePerGas: 1n,
        },
        { common },
      ).sign(key),
    )
    const start = performance.now()
    const { executed, rejected } = await executor.build(
      parent,
      { timestamp: parent.header.timestamp + 2n },
      arraySource(txs),
    )
    if (rejected.length > 0) throw new Error(`bench transactions rejected: ${rejected.map((r) => r.reason).join('; ')}`)
    await chain.appendBlock(
      { block: executed.block, receipts: executed.receipts, senders: executed.senders },
      stateDB.pendingBatch(),
    )
    elapsed += performance.now() - start
    totalTx += executed.block.transactions.length
    totalGas += executed.block.header.gasUsed
    parent = executed.block
  }
  await database.close()
  rmSync(dir, { recursive: true, force: true })
  const seconds = elapsed / 1000
  return { txPerSecond: totalTx / seconds, mgasPerSecond: Number(totalGas) / 1e6 / seconds, txs: totalTx }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchExecutorTransfers(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 5))
  console.log(
    `executor ETH transfers: ${result.txPerSecond.toFixed(0)} tx/s, ${result.mgasPerSecond.toFixed(1)} Mgas/s (${result.txs} txs)`,
  )
}
