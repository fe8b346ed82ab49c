import { EVMError, type ExecResult, NobleBLS, NobleBN254 } from '@ethereumjs/evm'
import {
  type Address,
  bigIntToBytes,
  bytesToBigInt,
  bytesToHex,
  computeVersionedHash,
  concatBytes,
  setLengthLeft,
  setLengthRight,
} from '@ethereumjs/util'

const messages = EVMError.errorMessages

/** The precompiles whose failures ethereumjs words unlike geth, 0x06 to 0x11. */
const BN254_ADD = 0x06
const BN254_MUL = 0x07
const BN254_PAIRING = 0x08
const BLAKE2F = 0x09
const KZG_POINT_EVALUATION = 0x0a
const BLS12_G1ADD = 0x0b
const BLS12_G1MSM = 0x0c
const BLS12_G2ADD = 0x0d
const BLS12_G2MSM = 0x0e
const BLS12_PAIRING_CHECK = 0x0f
const BLS12_MAP_FP_TO_G1 = 0x10
const BLS12_MAP_FP2_TO_G2 = 0x11

const BLAKE2F_INPUT_LENGTH = 213
/** What BN254 add and mul read of their input (mul ignores the last 32 bytes), zero-padded. */
const BN254_ADD_MUL_INPUT_LENGTH = 128

/** geth's BN254 point errors (gnark's, as geth is built on amd64 and arm64), by the curve library's words. */
const BN254_POINT_ERRORS: readonly [RegExp, string][] = [
  // A coordinate not below the field modulus: noble's words for G1, ethereumjs' own check's for G2.
  [/^invalid affine point$|^fp point not in field$/, 'invalid fp.Element encoding'],
  [/equation left != right/, 'point is not on curve'],
  [/not in prime-order subgroup/, 'point is not in correct subgroup'],
]

/** The BLS12-381 base field's modulus p, and the order r of its groups (the KZG scalar field). */
const BLS_P = 0x1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaabn
const BLS_R = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n
/** EIP-2537 encodings: a field element in 64 bytes (16 zero bytes first), a G1 point in 128, a G2 point in 256. */
const FP_LENGTH = 64
const G1_LENGTH = 128
const G2_LENGTH = 256
const SCALAR_LENGTH = 32
/** EIP-2537's pairing gas: geth charges it before it looks at the input's length, ethereumjs after. */
const BLS12_PAIRING_BASE_GAS = 37_700n
const BLS12_PAIRING_PER_PAIR_GAS = 32_600n

/** EIP-4844's point evaluation input: versioned hash, z, y, commitment, proof. */
const KZG_INPUT_LENGTH = 192
const KZG_COMMITMENT_VERSION = 1
/** A compressed G1 point (KZG commitments and proofs): the top three bits of its first byte are flags. */
const G1_COMPRESSED_LENGTH = 48

/**
 * geth's error for a call to precompile `to` (0x06–0x11) that failed with `result` on `input`;
 * undefined when ethereumjs' error reads as geth's already (out of gas, mostly), or for any other
 * address. geth answers the precompile's own error, never a revert, but ethereumjs reports a point
 * its curve library refused as a revert and words most refusals its own way, and it checks in
 * another order: here each precompile's input is read again in geth's order (core/vm/contracts.go)
 * and the first check geth fails names the error. `result.executionGasUsed` is the gas the
 * precompile was given (a failed precompile uses all of it).
 */
export function precompileError(
  to: Address | undefined,
  input: Uint8Array,
  result: Pick<ExecResult, 'exceptionError' | 'executionGasUsed'>,
): string | undefined {
  const error = result.exceptionError
  const address = precompileNumber(to)
  if (error === undefined || address === undefined) return undefined
  if (address <= BLAKE2F) return bn254OrBlake2fError(address, input, error)
  if (error.error === messages.OUT_OF_GAS) return undefined
  if (address === KZG_POINT_EVALUATION) return kzgRefusal(input)
  return blsRefusal(address, input, result.executionGasUsed)
}

/** The precompile `to` names, if it is one of 0x06–0x11. */
function precompileNumber(to: Address | undefined): number | undefined {
  if (to === undefined) return undefined
  const bytes = to.bytes
  for (let i = 0; i < 19; i++) if (bytes[i] !== 0) return undefined
  const last = bytes[19]!
  return last >= BN254_ADD && last <= BLS12_MAP_FP2_TO_G2 ? last : undefined
}

/**
 * ethereumjs says `invalid input length` where geth's BN254 pairing says `bad elliptic curve pairing
 * size`, `value out of range` for both of BLAKE2F's refusals, and reports a BN254 point its curve
 * library refused as a revert (the library's reason is asked again here).
 */
function bn254OrBlake2fError(address: number, input: Uint8Array, error: EVMError): string | undefined {
  if (address === BLAKE2F) {
    if (error.error !== messages.OUT_OF_RANGE) return undefined
    return input.length === BLAKE2F_INPUT_LENGTH ? 'invalid final flag' : 'invalid input length'
  }
  if (address === BN254_PAIRING && error.error === messages.INVALID_INPUT_LENGTH)
    return 'bad elliptic curve pairing size'
  if (error.error !== messages.REVERT) return bn254PointError(error.error)
  const reason = bn254Refusal(address, input)
  return bn254PointError(reason) ?? reason
}

function bn254PointError(reason: string): string | undefined {
  return BN254_POINT_ERRORS.find(([pattern]) => pattern.test(reason))?.[1]
}

/**
 * Why the curve library refuses `input` to BN254 precompile `address`, in its words: the operation
 * the precompile ran, on the input it read. It fails at the same point, before any pairing is computed.
 */
function bn254Refusal(address: number, input: Uint8Array): string {
  const bn254 = new NobleBN254()
  const padded = () => setLengthRight(input.subarray(0, BN254_ADD_MUL_INPUT_LENGTH), BN254_ADD_MUL_INPUT_LENGTH)
  try {
    if (address === BN254_ADD) bn254.add(padded())
    else if (address === BN254_MUL) bn254.mul(padded())
    else bn254.pairing(input)
  } catch (error) {
    return error instanceof EVMError ? error.error : String((error as Error).message)
  }
  return 'invalid point'
}

/**
 * geth's refusal of `input` to EIP-2537 precompile `address` given `gas`, or undefined if geth
 * accepts it. ethereumjs checks every field element's top bytes before it decodes any point, words
 * them, points off the curve and points outside the subgroup all as `point not on curve`, a
 * coordinate not below p as `fp point not in field` (G2, map) or a revert (G1), and an empty MSM or
 * pairing input as `input is empty`.
 */
function blsRefusal(address: number, input: Uint8Array, gas: bigint): string | undefined {
  const at = (offset: number, length: number) => input.subarray(offset, offset + length)
  const each = (pairLength: number, check: (offset: number) => string | undefined) => {
    if (input.length === 0 || input.length % pairLength !== 0) return 'invalid input length'
    for (let offset = 0; offset < input.length; offset += pairLength) {
      const refusal = check(offset)
      if (refusal !== undefined) return refusal
    }
    return undefined
  }
  const exactly = (length: number, check: () => string | undefined) =>
    input.length === length ? check() : 'invalid input length'
  switch (address) {
    case BLS12_G1ADD:
      return exactly(2 * G1_LENGTH, () => g1Refusal(at(0, G1_LENGTH)) ?? g1Refusal(at(G1_LENGTH, G1_LENGTH)))
    case BLS12_G2ADD:
      return exactly(2 * G2_LENGTH, () => g2Refusal(at(0, G2_LENGTH)) ?? g2Refusal(at(G2_LENGTH, G2_LENGTH)))
    case BLS12_G1MSM:
      return each(G1_LENGTH + SCALAR_LENGTH, (offset) => {
        const point = at(offset, G1_LENGTH)
        return g1Refusal(point) ?? g1SubgroupRefusal(point)
      })
    case BLS12_G2MSM:
      return each(G2_LENGTH + SCALAR_LENGTH, (offset) => {
        const point = at(offset, G2_LENGTH)
        return g2Refusal(point) ?? g2SubgroupRefusal(point)
      })
    case BLS12_PAIRING_CHECK: {
      const pairLength = G1_LENGTH + G2_LENGTH
      const required =
        BLS12_PAIRING_BASE_GAS + BigInt(Math.floor(input.length / pairLength)) * BLS12_PAIRING_PER_PAIR_GAS
      if (gas < required) return 'out of gas'
      return each(pairLength, (offset) => {
        const p = at(offset, G1_LENGTH)
        const q = at(offset + G1_LENGTH, G2_LENGTH)
        return g1Refusal(p) ?? g2Refusal(q) ?? g1SubgroupRefusal(p) ?? g2SubgroupRefusal(q)
      })
    }
    case BLS12_MAP_FP_TO_G1:
      return exactly(FP_LENGTH, () => fieldElement(input).refusal)
    case BLS12_MAP_FP2_TO_G2:
      return exactly(
        2 * FP_LENGTH,
        () => fieldElement(at(0, FP_LENGTH)).refusal ?? fieldElement(at(FP_LENGTH, FP_LENGTH)).refusal,
      )
    default:
      return undefined
  }
}

/** geth's decodeBLS12381FieldElement: 16 zero bytes, then a value below p. */
function fieldElement(bytes: Uint8Array): { value: bigint; refusal?: undefined } | { refusal: string } {
  for (let i = 0; i < 16; i++) if (bytes[i] !== 0) return { refusal: 'invalid field element top bytes' }
  const value = bytesToBigInt(bytes)
  return value < BLS_P ? { value } : { refusal: 'invalid fp.Element encoding' }
}

/** geth's decodePointG1: x and y in turn, then on the curve y² = x³ + 4 ((0, 0) is the point at infinity). */
function g1Refusal(point: Uint8Array): string | undefined {
  const x = fieldElement(point.subarray(0, FP_LENGTH))
  if (x.refusal !== undefined) return x.refusal
  const y = fieldElement(point.subarray(FP_LENGTH))
  if (y.refusal !== undefined) return y.refusal
  if (x.value === 0n && y.value === 0n) return undefined
  return mod(y.value * y.value) === mod(x.value * x.value * x.value + 4n) ? undefined : 'invalid point: not on curve'
}

/** geth's decodePointG2: x₀, x₁, y₀, y₁ in turn, then on the twist y² = x³ + 4(1 + u) over Fp2 (u² = −1). */
function g2Refusal(point: Uint8Array): string | undefined {
  const coordinates: bigint[] = []
  for (let offset = 0; offset < G2_LENGTH; offset += FP_LENGTH) {
    const element = fieldElement(point.subarray(offset, offset + FP_LENGTH))
    if (element.refusal !== undefined) return element.refusal
    coordinates.push(element.value)
  }
  const [x0, x1, y0, y1] = coordinates as [bigint, bigint, bigint, bigint]
  if (x0 === 0n && x1 === 0n && y0 === 0n && y1 === 0n) return undefined
  const x: Fp2 = [x0, x1]
  const [lhs0, lhs1] = fp2Mul([y0, y1], [y0, y1])
  const [x3a, x3b] = fp2Mul(fp2Mul(x, x), x)
  return lhs0 === mod(x3a + 4n) && lhs1 === mod(x3b + 4n) ? undefined : 'invalid point: not on curve'
}

/**
 * geth's subgroup check of an MSM or pairing point already decoded (on the curve). noble checks the
 * subgroup of every point ethereumjs' MSM decodes; with a zero scalar it computes nothing more.
 */
function g1SubgroupRefusal(point: Uint8Array): string | undefined {
  return refuses(() => new NobleBLS().msmG1(concatBytes(point, new Uint8Array(SCALAR_LENGTH))))
    ? 'g1 point is not on correct subgroup'
    : undefined
}

function g2SubgroupRefusal(point: Uint8Array): string | undefined {
  return refuses(() => new NobleBLS().msmG2(concatBytes(point, new Uint8Array(SCALAR_LENGTH))))
    ? 'g2 point is not on correct subgroup'
    : undefined
}

function refuses(run: () => unknown): boolean {
  try {
    run()
    return false
  } catch {
    return true
  }
}

/**
 * geth's refusal of a point evaluation ethereumjs refused: the input's length, then the versioned
 * hash of the commitment, then go-eth-kzg's VerifyKZGProof (geth's default KZG library), which reads
 * y, z, the commitment and the proof in that order before it checks the proof. ethereumjs (on c-kzg)
 * says `kzg commitment does not match versioned hash`, `kzg inputs invalid` and `kzg proof invalid`.
 */
function kzgRefusal(input: Uint8Array): string {
  if (input.length !== KZG_INPUT_LENGTH) return 'invalid input length'
  const field = (offset: number, length: number) => input.subarray(offset, offset + length)
  const [versionedHash, z, y] = [field(0, 32), field(32, 32), field(64, 32)]
  const [commitment, proof] = [field(96, G1_COMPRESSED_LENGTH), field(144, G1_COMPRESSED_LENGTH)]
  if (computeVersionedHash(bytesToHex(commitment), KZG_COMMITMENT_VERSION) !== bytesToHex(versionedHash))
    return 'mismatched versioned hash'
  const reason =
    scalarRefusal(y) ??
    scalarRefusal(z) ??
    compressedG1Refusal(commitment) ??
    compressedG1Refusal(proof) ??
    "can't verify opening proof"
  return `error verifying kzg proof: ${reason}`
}

function scalarRefusal(bytes: Uint8Array): string | undefined {
  return bytesToBigInt(bytes) < BLS_R
    ? undefined
    : 'scalar is not canonical when interpreted as a big integer in big-endian'
}

/** Flags in the first byte of a 48-byte G1 point, as gnark-crypto reads them (G1Affine.SetBytes). */
const FLAG_MASK = 0b111 << 5
const FLAG_UNCOMPRESSED = 0b000 << 5
const FLAG_UNCOMPRESSED_INFINITY = 0b010 << 5
const FLAG_COMPRESSED_INFINITY = 0b110 << 5
const INVALID_FLAGS: readonly number[] = [0b111 << 5, 0b011 << 5, 0b001 << 5]

/** gnark-crypto's refusal of a 48-byte G1 point (go-eth-kzg's DeserializeKZGCommitment and DeserializeKZGProof). */
function compressedG1Refusal(bytes: Uint8Array): string | undefined {
  const flags = bytes[0]! & FLAG_MASK
  if (INVALID_FLAGS.includes(flags)) return 'invalid point encoding'
  // An uncompressed point takes 96 bytes: gnark asks for more than the 48 there are.
  if (flags === FLAG_UNCOMPRESSED || flags === FLAG_UNCOMPRESSED_INFINITY) return 'short buffer'
  const unflagged = Uint8Array.from(bytes)
  unflagged[0]! &= ~FLAG_MASK
  if (flags === FLAG_COMPRESSED_INFINITY)
    return unflagged.every((b) => b === 0) ? undefined : 'invalid infinity point encoding'
  const x = bytesToBigInt(unflagged)
  if (x >= BLS_P) return 'invalid fp.Element encoding'
  const ySquared = mod(x * x * x + 4n)
  // p ≡ 3 (mod 4): a square's root is its (p+1)/4-th power; if that does not square back, there is none.
  const y = powMod(ySquared, (BLS_P + 1n) / 4n)
  if (mod(y * y) !== ySquared) return "invalid compressed coordinate: square root doesn't exist"
  // Either root will do: a point is in the subgroup exactly when its negation is.
  const uncompressed = concatBytes(
    setLengthLeft(bigIntToBytes(x), FP_LENGTH),
    setLengthLeft(bigIntToBytes(y), FP_LENGTH),
  )
  return g1SubgroupRefusal(uncompressed) === undefined ? undefined : 'invalid point: subgroup check failed'
}

type Fp2 = [bigint, bigint]

function mod(value: bigint): bigint {
  const r = value % BLS_P
  return r < 0n ? r + BLS_P : r
}

function fp2Mul([a0, a1]: Fp2, [b0, b1]: Fp2): Fp2 {
  return [mod(a0 * b0 - a1 * b1), mod(a0 * b1 + a1 * b0)]
}

function powMod(base: bigint, exponent: bigint): bigint {
  let result = 1n
  let b = mod(base)
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = mod(result * b)
    b = mod(b * b)
  }
  return result
}
