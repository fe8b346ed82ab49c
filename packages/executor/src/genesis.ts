import { type Block, createBlock, genRequestsRoot } from '@ethereumjs/block'
import type { Common } from '@ethereumjs/common'
import { KECCAK256_RLP, createAddressFromString, hexToBytes } from '@ethereumjs/util'
import { sha256 } from '@noble/hashes/sha2.js'
import type { MerkleStateManager } from '@ethereumjs/statemanager'
import type { GethGenesisFile, Hex } from '@cairn/primitives'
import { writeGenesisState } from '@cairn/state'

/** Writes the genesis alloc into `state` (empty) and returns the genesis block sealed over it. */
export async function createGenesisBlock(
  common: Common,
  genesis: GethGenesisFile,
  state: MerkleStateManager,
): Promise<Block> {
  const stateRoot = await writeGenesisState(state, genesis)
  return createBlock(
    {
      header: {
        number: 0n,
        stateRoot,
        gasLimit: BigInt(genesis.gasLimit),
        timestamp: BigInt(genesis.timestamp),
        extraData: hexToBytes((genesis.extraData ?? '0x') as Hex),
        difficulty: BigInt(genesis.difficulty ?? 0),
        mixHash: hexToBytes((genesis.mixHash ?? `0x${'00'.repeat(32)}`) as Hex),
        nonce: hexToBytes(
          `0x${BigInt(genesis.nonce ?? 0)
            .toString(16)
            .padStart(16, '0')}`,
        ),
        coinbase: createAddressFromString(genesis.coinbase ?? `0x${'00'.repeat(20)}`),
        baseFeePerGas: BigInt(genesis.baseFeePerGas ?? 1_000_000_000),
        withdrawalsRoot: KECCAK256_RLP,
        blobGasUsed: 0n,
        excessBlobGas: 0n,
        parentBeaconBlockRoot: new Uint8Array(32),
        requestsHash: genRequestsRoot([], sha256),
      },
    },
    { common },
  )
}
