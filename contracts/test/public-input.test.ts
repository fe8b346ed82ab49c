import { readFileSync } from 'node:fs'
import type { Address, Hex } from 'viem'
import { describe, expect, it } from 'vitest'
import { aggregatePublicInputs, PUBLIC_INPUT_DOMAIN, publicInputHash } from '../src-ts/index.ts'

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
const file = JSON.parse(readFileSync(new URL('./vectors/public-input.json', import.meta.url), 'utf8')) as {
  domain: Hex
  vectors: Vector[]
}

describe('publicInputHash', () => {
  it('uses the domain the Solidity library uses', () => {
    expect(PUBLIC_INPUT_DOMAIN).toBe(file.domain)
  })

  it.each(file.vectors)('matches the shared vector $name', (vector) => {
    expect(publicInputHash({ ...vector, chainId: BigInt(vector.chainId) })).toBe(vector.expected)
  })

  it('changes when any field changes', () => {
    const base = file.vectors[0]!
    const input = { ...base, chainId: BigInt(base.chainId) }
    expect(publicInputHash({ ...input, chainId: input.chainId + 1n })).not.toBe(base.expected)
    expect(publicInputHash({ ...input, prover: '0x0000000000000000000000000000000000000002' })).not.toBe(base.expected)
  })

  it('aggregates one input to itself and several to keccak of the packed hashes', () => {
    const [a, b] = file.vectors.map((v) => v.expected) as [Hex, Hex]
    expect(aggregatePublicInputs([a])).toBe(a)
    expect(aggregatePublicInputs([a, b])).not.toBe(a)
    expect(aggregatePublicInputs([a, b])).toHaveLength(66)
  })
})
