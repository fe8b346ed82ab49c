import { readFileSync } from 'node:fs'
import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { batchPublicInput } from './index.ts'

type Vector = {
  name: string
  chainId: string
  batchMetaHash: Hex
  parentHash: Hex
  blockHash: Hex
  stateRoot: Hex
  prover: Address
  expected: Hex
}
// The vectors the Solidity library and the contracts package are tested against (generated with ethers).
const { vectors } = JSON.parse(
  readFileSync(new URL('../../../contracts/test/vectors/public-input.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] }

describe('batchPublicInput', () => {
  it.each(vectors)('builds the public input the L1 builds for vector $name', (vector) => {
    const { hash, fields } = batchPublicInput({
      chainId: BigInt(vector.chainId),
      meta: vector.batchMetaHash,
      transition: { parentHash: vector.parentHash, blockHash: vector.blockHash, stateRoot: vector.stateRoot },
      prover: vector.prover,
    })
    expect(hash).toBe(vector.expected)
    expect(fields.batchMetaHash).toBe(vector.batchMetaHash)
  })
})
