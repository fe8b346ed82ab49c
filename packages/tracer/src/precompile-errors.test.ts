import { EVMError } from '@ethereumjs/evm'
import { type Address, computeVersionedHash, hexToBytes } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { TestChain } from '../test/harness.ts'
import { precompileError } from './precompile-errors.ts'

const precompile = (n: number): Address => TestChain.address(`0x${n.toString(16).padStart(40, '0')}`)
const G1ADD = 0x0b
const G1MSM = 0x0c
const G2ADD = 0x0d
const G2MSM = 0x0e
const PAIRING = 0x0f
const MAP_FP_TO_G1 = 0x10
const MAP_FP2_TO_G2 = 0x11
const KZG = 0x0a

/** The BLS12-381 base field's modulus and the order of its groups. */
const P = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaabn
const R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n

/** EIP-2537 encodings, hex without 0x: a field element in 64 bytes, a scalar in 32. */
const fp = (value: bigint) => value.toString(16).padStart(128, '0')
const scalar = (value: bigint) => value.toString(16).padStart(64, '0')
const G1_X = 0x17f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bbn
const G1_Y = 0x08b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1n
/** The G1 and G2 generators. */
const G1 = fp(G1_X) + fp(G1_Y)
const G2 = [
  0x024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8n,
  0x13e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7en,
  0x0ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801n,
  0x0606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79ben,
]
  .map(fp)
  .join('')
/** On the curves, outside the prime-order subgroups (from EIP-2537's failure vectors). */
const G1_OUTSIDE_SUBGROUP =
  fp(0x0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdefn) +
  fp(0x193fb7cedb32b2c3adc06ec11a96bc0d661869316f5e4a577a9f7c179593987beb4fb2ee424dbb2f5dd891e228b46c4an)
const G2_OUTSIDE_SUBGROUP = [
  2n,
  0n,
  0x013a59858b6809fca4d9a3b6539246a70051a3c88899964a42bc9a69cf9acdd9dd387cfa9086b894185b9a46a402be73n,
  0x02d27e0ec3356299a346a09ad7dc4ef68a483c3aed53f9139d2f929a3eecebf72082e5e58c6da24ee32e03040c406d4fn,
]
  .map(fp)
  .join('')
const G1_OFF_CURVE = fp(G1_X) + fp(G1_Y + 1n)
const G2_OFF_CURVE = G2.slice(0, -1) + (G2.at(-1) === '0' ? '1' : '0')
/** The generator with a nonzero byte among x's 16 leading bytes. */
const G1_TOP_BYTES = `01${G1.slice(2)}`
const G1_X_NOT_BELOW_P = fp(P) + fp(G1_Y)

/** Runs `data` through precompile `n` on ethereumjs (Prague) and asks for geth's error. */
async function gethError(n: number, data: string, gasLimit = 10_000_000n): Promise<string | undefined> {
  const chain = await TestChain.create()
  const to = precompile(n)
  const input = hexToBytes(`0x${data}`)
  const { execResult } = await chain.vm.evm.runCall({ to, data: input, gasLimit })
  expect(execResult.exceptionError, 'ethereumjs refuses it too').toBeDefined()
  return precompileError(to, input, execResult)
}

describe('geth’s error for a refused BLS12-381 precompile input (EIP-2537)', () => {
  it.each<[string, number, string, string]>([
    ['G1ADD, a field element with nonzero top bytes', G1ADD, G1_TOP_BYTES + G1, 'invalid field element top bytes'],
    ['G1ADD, a coordinate not below p', G1ADD, G1_X_NOT_BELOW_P + G1, 'invalid fp.Element encoding'],
    ['G1ADD, a point off the curve', G1ADD, G1 + G1_OFF_CURVE, 'invalid point: not on curve'],
    // geth decodes the first point fully before it reads the second; ethereumjs checks all top bytes first.
    ['G1ADD, the first point’s error first', G1ADD, G1_X_NOT_BELOW_P + G1_TOP_BYTES, 'invalid fp.Element encoding'],
    ['G1MSM, an empty input', G1MSM, '', 'invalid input length'],
    [
      'G1MSM, a point outside the subgroup',
      G1MSM,
      G1 + scalar(2n) + G1_OUTSIDE_SUBGROUP + scalar(3n),
      'g1 point is not on correct subgroup',
    ],
    ['G1MSM, a point off the curve', G1MSM, G1_OFF_CURVE + scalar(1n), 'invalid point: not on curve'],
    [
      'G2ADD, a field element with nonzero top bytes',
      G2ADD,
      G2 + `00${G2.slice(2, 128)}ff${G2.slice(130)}`,
      'invalid field element top bytes',
    ],
    ['G2ADD, a coordinate not below p', G2ADD, G2 + fp(P) + G2.slice(128), 'invalid fp.Element encoding'],
    ['G2ADD, a point off the curve', G2ADD, G2_OFF_CURVE + G2, 'invalid point: not on curve'],
    ['G2MSM, an empty input', G2MSM, '', 'invalid input length'],
    [
      'G2MSM, a point outside the subgroup',
      G2MSM,
      G2_OUTSIDE_SUBGROUP + scalar(1n),
      'g2 point is not on correct subgroup',
    ],
    ['PAIRING, an empty input', PAIRING, '', 'invalid input length'],
    [
      'PAIRING, a G1 point outside the subgroup',
      PAIRING,
      G1 + G2 + G1_OUTSIDE_SUBGROUP + G2,
      'g1 point is not on correct subgroup',
    ],
    [
      'PAIRING, a G2 point outside the subgroup',
      PAIRING,
      G1 + G2_OUTSIDE_SUBGROUP,
      'g2 point is not on correct subgroup',
    ],
    // Both points of a pair are decoded before either's subgroup is checked.
    [
      'PAIRING, a pair’s G2 off the curve before its G1’s subgroup',
      PAIRING,
      G1_OUTSIDE_SUBGROUP + G2_OFF_CURVE,
      'invalid point: not on curve',
    ],
    ['PAIRING, a coordinate not below p', PAIRING, G1 + fp(P) + G2.slice(128), 'invalid fp.Element encoding'],
    ['MAP_FP_TO_G1, nonzero top bytes', MAP_FP_TO_G1, `ff${fp(1n).slice(2)}`, 'invalid field element top bytes'],
    ['MAP_FP_TO_G1, not below p', MAP_FP_TO_G1, fp(P), 'invalid fp.Element encoding'],
    [
      'MAP_FP2_TO_G2, the second element’s top bytes',
      MAP_FP2_TO_G2,
      fp(1n) + `01${fp(1n).slice(2)}`,
      'invalid field element top bytes',
    ],
    ['MAP_FP2_TO_G2, not below p', MAP_FP2_TO_G2, fp(P + 1n) + fp(1n), 'invalid fp.Element encoding'],
  ])('%s: %s', async (_name, n, data, message) => {
    expect(await gethError(n, data)).toBe(message)
  })

  it('says out of gas for a pairing input of a wrong length given less than its gas, as geth charges first', async () => {
    const input = `${G1}${G2}00` // one pair and a byte: 37,700 + 32,600 gas
    expect(await gethError(PAIRING, input, 70_299n)).toBe('out of gas')
    expect(await gethError(PAIRING, input, 70_300n)).toBe('invalid input length')
  })

  it('leaves a lack of gas and what ethereumjs words as geth alone', async () => {
    expect(await gethError(G1ADD, G1 + G1, 100n)).toBeUndefined()
    expect(await gethError(G1ADD, G1)).toBe('invalid input length')
  })
})

describe('geth’s error for a refused KZG point evaluation (EIP-4844)', () => {
  /** What ethereumjs (on c-kzg) reports is not read: the input alone names geth's error. */
  const refused = { exceptionError: new EVMError(EVMError.errorMessages.INVALID_INPUTS), executionGasUsed: 50_000n }
  const INFINITY = `c0${'00'.repeat(47)}`
  const point = (x: bigint, flags = 0x80) => (x | (BigInt(flags) << 376n)).toString(16).padStart(96, '0')
  const evaluation = (fields: { commitment?: string; proof?: string; z?: bigint; y?: bigint; hash?: string }) => {
    const commitment = fields.commitment ?? INFINITY
    const hash = fields.hash ?? computeVersionedHash(`0x${commitment}`, 1).slice(2)
    return hexToBytes(
      `0x${hash}${scalar(fields.z ?? 5n)}${scalar(fields.y ?? 0n)}${commitment}${fields.proof ?? INFINITY}`,
    )
  }
  const kzgError = (input: Uint8Array) => precompileError(precompile(KZG), input, refused)
  const verifying = (reason: string) => `error verifying kzg proof: ${reason}`

  it.each<[string, Uint8Array, string]>([
    ['an input not 192 bytes', new Uint8Array(191), 'invalid input length'],
    [
      'a versioned hash not the commitment’s',
      evaluation({ hash: `01${'00'.repeat(31)}` }),
      'mismatched versioned hash',
    ],
    [
      'y not below r',
      evaluation({ y: R }),
      verifying('scalar is not canonical when interpreted as a big integer in big-endian'),
    ],
    [
      'z not below r',
      evaluation({ z: R }),
      verifying('scalar is not canonical when interpreted as a big integer in big-endian'),
    ],
    ['a commitment with flags 111', evaluation({ commitment: point(1n, 0xe0) }), verifying('invalid point encoding')],
    ['an uncompressed commitment', evaluation({ commitment: point(1n, 0) }), verifying('short buffer')],
    [
      'a proof at infinity with other bits set',
      evaluation({ proof: point(1n, 0xc0) }),
      verifying('invalid infinity point encoding'),
    ],
    ['a commitment x not below p', evaluation({ commitment: point(P) }), verifying('invalid fp.Element encoding')],
    [
      'a commitment x off the curve',
      evaluation({ commitment: point(1n) }),
      verifying("invalid compressed coordinate: square root doesn't exist"),
    ],
    [
      'a proof outside the subgroup',
      evaluation({ proof: point(0n) }),
      verifying('invalid point: subgroup check failed'),
    ],
    ['a proof that does not verify', evaluation({ y: 1n }), verifying("can't verify opening proof")],
    ['a commitment that is a point', evaluation({ commitment: point(G1_X) }), verifying("can't verify opening proof")],
  ])('%s', (_name, input, message) => {
    expect(kzgError(input)).toBe(message)
  })

  it('leaves a lack of gas alone', () => {
    const outOfGas = { exceptionError: new EVMError(EVMError.errorMessages.OUT_OF_GAS), executionGasUsed: 100n }
    expect(precompileError(precompile(KZG), evaluation({}), outOfGas)).toBeUndefined()
  })
})
