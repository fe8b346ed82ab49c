import { KECCAK256_RLP } from '@ethereumjs/util'
import { ChainStore, NodeDatabase } from '@cairn/chain'
import { type GethGenesisFile, createChainCommon } from '@cairn/primitives'
import { StateDB } from '@cairn/state'
import { BlockExecutor } from '../block-executor.ts'
import { createGenesisBlock } from '../genesis.ts'
import { nativeCustomCrypto } from '../native-crypto.ts'

/**
 * A chain at its genesis on a real level store in `dir`, composed as the node composes one: the
 * database, the chain store, the state and a block executor on the genesis head. For tests and
 * benchmarks; the caller closes `database`. Chains meant to exchange blocks can share one `common`.
 */
export async function openGenesisChain(
  dir: string,
  genesisFile: GethGenesisFile,
  common = createChainCommon(genesisFile, nativeCustomCrypto()),
) {
  const database = await NodeDatabase.open(dir)
  const chain = new ChainStore(database, common)
  const state = new StateDB(database.sublevel('state'), common)
  await chain.initGenesis(
    await createGenesisBlock(common, genesisFile, state.headState(KECCAK256_RLP)),
    state.pendingBatch(),
  )
  const executor = await BlockExecutor.create({
    common,
    state: state.headState(chain.head().header.stateRoot),
    blockHashes: chain,
  })
  return { common, database, chain, state, executor }
}
