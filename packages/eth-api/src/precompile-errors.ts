import { EVMError, NobleBN254 } from '@ethereumjs/evm'
import { type Address, setLengthRight } from '@ethereumjs/util'

const messages = EVMError.errorMessages

/** The precompiles whose failures ethereumjs words unlike geth: BN254 add, mul and pairing, then BLAKE2F. */
const BN254_ADD = 0x06
const BN254_MUL = 0x07
const BN254_PAIRING = 0x08
const BLAKE2F = 0x09
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

/** The precompile `to` names, if it is one of 0x06–0x09. */
function bn254OrBlake2f(to: Address | undefined): number | undefined {
  if (to === undefined) return undefined
  const bytes = to.bytes
  for (let i = 0; i < 19; i++) if (bytes[i] !== 0) return undefined
  const last = bytes[19]!
  return last >= BN254_ADD && last <= BLAKE2F ? last : undefined
}

/**
 * geth's error for a call straight to BN254 add, mul or pairing or to BLAKE2F that failed with
 * `error` on `input`; undefined when ethereumjs' error reads as geth's already (out of gas), or for
 * any other target. geth answers the precompile's own error, never a revert, but ethereumjs reports
 * a point its curve library refused as a revert (the library's reason is asked again here), says
 * `invalid input length` where geth's pairing says `bad elliptic curve pairing size`, and `value out
 * of range` for both of BLAKE2F's refusals.
 */
export function precompileError(to: Address | undefined, input: Uint8Array, error: EVMError): string | undefined {
  const address = bn254OrBlake2f(to)
  if (address === undefined) return undefined
  if (address === BLAKE2F) {
    if (error.error !== messages.OUT_OF_RANGE) return undefined
    return input.length === BLAKE2F_INPUT_LENGTH ? 'invalid final flag' : 'invalid input length'
  }
  if (address === BN254_PAIRING && error.error === messages.INVALID_INPUT_LENGTH)
    return 'bad elliptic curve pairing size'
  if (error.error !== messages.REVERT) return pointError(error.error)
  const reason = bn254Refusal(address, input)
  return pointError(reason) ?? reason
}

function pointError(reason: string): string | undefined {
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
