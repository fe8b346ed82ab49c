import { z } from 'zod'
import type { BlockTag } from '@cairn/primitives'
import { invalidParams } from './errors.ts'

/*
 * Parameter schemas that accept exactly what geth accepts (hexutil and rpc.BlockNumber rules) and
 * turn it into bigint / Uint8Array / tag values. Failures carry geth's wording.
 */

const HEX_DIGITS = /^[0-9a-fA-F]*$/

function hexBody(value: string): string | undefined {
  return value.startsWith('0x') || value.startsWith('0X') ? value.slice(2) : undefined
}

/** Returns the reason a string is not a hex quantity of at most `maxBits`, or the value. */
function decodeQuantity(value: string, maxBits: number): bigint | string {
  if (value === '') return 'empty hex string'
  const body = hexBody(value)
  if (body === undefined) return 'hex string without 0x prefix'
  if (body === '') return 'hex string "0x"'
  if (!HEX_DIGITS.test(body)) return 'invalid hex string'
  if (body.length > 1 && body[0] === '0') return 'hex number with leading zero digits'
  if (body.length > maxBits / 4) return `hex number > ${maxBits} bits`
  return BigInt(`0x${body}`)
}

function decodeData(value: string): Uint8Array | string {
  const body = hexBody(value)
  if (body === undefined) return value === '' ? 'empty hex string' : 'hex string without 0x prefix'
  if (body.length % 2 !== 0) return 'hex string of odd length'
  // Decoded straight into bytes of its own (Buffer.from would share an 8 KB pool slab, kept alive as
  // long as a pooled transaction is); node stops at the first pair that is not hex, so a short
  // write is the validity check, without a regular expression over a whole transaction.
  const bytes = new Uint8Array(body.length / 2)
  if (Buffer.from(bytes.buffer).write(body, 'hex') !== bytes.length) return 'invalid hex string'
  return bytes
}

function fixedBytes(bytes: number, goName: string) {
  return z.string({ error: `cannot unmarshal non-string into ${goName}` }).transform((value, ctx) => {
    const body = hexBody(value)
    if (body === undefined) {
      ctx.addIssue({ code: 'custom', message: 'hex string without 0x prefix' })
      return z.NEVER
    }
    if (body.length !== bytes * 2) {
      ctx.addIssue({ code: 'custom', message: `hex string has length ${body.length}, want ${bytes * 2} for ${goName}` })
      return z.NEVER
    }
    if (!HEX_DIGITS.test(body)) {
      ctx.addIssue({ code: 'custom', message: 'invalid hex string' })
      return z.NEVER
    }
    return Uint8Array.from(Buffer.from(body, 'hex'))
  })
}

function quantityOf(maxBits: number) {
  return z.string({ error: 'cannot unmarshal non-string into quantity' }).transform((value, ctx) => {
    const decoded = decodeQuantity(value, maxBits)
    if (typeof decoded === 'string') {
      ctx.addIssue({ code: 'custom', message: decoded })
      return z.NEVER
    }
    return decoded
  })
}

/** A 256-bit quantity (hexutil.Big): `0x0`, `0x1f`; no leading zeros, no empty `0x`. */
export const quantitySchema = quantityOf(256)
/** A 64-bit quantity (hexutil.Uint64): gas, nonce. */
export const uint64Schema = quantityOf(64)

const UINT64_MAX = (1n << 64n) - 1n

/** geth's math.ParseUint64: `0x`-prefixed hex or decimal, leading zeros allowed, `""` is zero. */
function parseUint64(text: string): bigint | undefined {
  const body = hexBody(text)
  const valid = body === undefined ? /^[0-9]*$/.test(text) : body !== '' && HEX_DIGITS.test(body)
  if (!valid) return undefined
  const value = body === undefined ? BigInt(text === '' ? 0 : text) : BigInt(`0x${body}`)
  return value <= UINT64_MAX ? value : undefined
}

/**
 * geth's math.HexOrDecimal64 (eth_feeHistory's block count): a JSON number, or a string of
 * decimal or `0x` hex digits (`4`, `"4"`, `"0x4"`, `"0x04"`).
 */
export const hexOrDecimal64Schema = z.unknown().transform((value, ctx) => {
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'number' && Number.isInteger(value) && value >= 0 && !Object.is(value, -0)
        ? BigInt(value).toString()
        : JSON.stringify(value)
  const parsed = parseUint64(text)
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid hex or decimal integer ${JSON.stringify(text)}` })
    return z.NEVER
  }
  return parsed
})

/** Hex bytes of any even length, `0x` allowed. */
export const dataSchema = z.string({ error: 'cannot unmarshal non-string into hex bytes' }).transform((value, ctx) => {
  const decoded = decodeData(value)
  if (typeof decoded === 'string') {
    ctx.addIssue({ code: 'custom', message: decoded })
    return z.NEVER
  }
  return decoded
})
/** 20 bytes; any letter case, no checksum check (geth does none). */
export const addressSchema = fixedBytes(20, 'common.Address')
/** 32 bytes. */
export const hashSchema = fixedBytes(32, 'common.Hash')

const BLOCK_TAGS: ReadonlySet<string> = new Set<BlockTag>(['latest', 'pending', 'safe', 'finalized', 'earliest'])
const INT64_MAX = (1n << 63n) - 1n

/** A block number or one of geth's tags. */
export type BlockNumberOrTag = bigint | BlockTag

/** EIP-1898 block selector: number, tag, or hash (with requireCanonical). */
export type BlockSelector = BlockNumberOrTag | { blockHash: Uint8Array; requireCanonical: boolean }

function decodeBlockNumber(value: string): BlockNumberOrTag | { error: string } {
  if (BLOCK_TAGS.has(value)) return value as BlockTag
  const decoded = decodeQuantity(value, 64)
  if (typeof decoded === 'string') return { error: decoded }
  if (decoded > INT64_MAX) return { error: 'block number larger than int64' }
  return decoded
}

export const blockNumberOrTagSchema = z
  .string({ error: 'cannot unmarshal non-string into block number' })
  .transform((value, ctx): BlockNumberOrTag => {
    const decoded = decodeBlockNumber(value)
    if (typeof decoded === 'object') {
      ctx.addIssue({ code: 'custom', message: decoded.error })
      return z.NEVER
    }
    return decoded
  })

const blockSelectorObjectSchema = z
  .object({
    blockNumber: blockNumberOrTagSchema.optional(),
    blockHash: hashSchema.optional(),
    requireCanonical: z.boolean().optional(),
  })
  .transform((value, ctx): BlockSelector => {
    if (value.blockHash !== undefined && value.blockNumber !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: 'cannot specify both BlockHash and BlockNumber, choose one or the other',
      })
      return z.NEVER
    }
    if (value.blockHash !== undefined) return { blockHash: value.blockHash, requireCanonical: !!value.requireCanonical }
    if (value.blockNumber !== undefined) return value.blockNumber
    ctx.addIssue({ code: 'custom', message: 'either BlockHash or BlockNumber must be specified' })
    return z.NEVER
  })

const blockSelectorStringSchema = z.string().transform((value, ctx): BlockSelector => {
  const body = hexBody(value)
  if (body !== undefined && body.length === 64) {
    if (!HEX_DIGITS.test(body)) {
      ctx.addIssue({ code: 'custom', message: 'invalid hex string' })
      return z.NEVER
    }
    return { blockHash: Uint8Array.from(Buffer.from(body, 'hex')), requireCanonical: false }
  }
  const decoded = decodeBlockNumber(value)
  if (typeof decoded === 'object') {
    ctx.addIssue({ code: 'custom', message: decoded.error })
    return z.NEVER
  }
  return decoded
})

/** EIP-1898: a tag, a number, a 32-byte hash string, `{ blockNumber }` or `{ blockHash, requireCanonical? }`. */
export const blockSelectorSchema = z.unknown().transform((value, ctx): BlockSelector => {
  if (typeof value === 'number' || typeof value === 'boolean' || Array.isArray(value)) {
    // geth's words: it reads anything but an object as a string.
    ctx.addIssue({
      code: 'custom',
      message: `json: cannot unmarshal ${jsonTypeName(value)} into Go value of type string`,
    })
    return z.NEVER
  }
  const schema = typeof value === 'string' ? blockSelectorStringSchema : blockSelectorObjectSchema
  const result = schema.safeParse(value)
  if (result.success) return result.data
  ctx.addIssue({ code: 'custom', message: describeIssue(result.error) })
  return z.NEVER
})

/** A JSON number, boolean or array as Go's encoding/json names its type in errors. */
function jsonTypeName(value: number | boolean | unknown[]): string {
  if (Array.isArray(value)) return 'array'
  return typeof value === 'boolean' ? 'bool' : 'number'
}

export interface AccessListEntry {
  address: Uint8Array
  storageKeys: Uint8Array[]
}

export const accessListSchema = z.array(
  z
    .object({ address: addressSchema, storageKeys: z.array(hashSchema).nullish() })
    .transform((entry): AccessListEntry => ({ address: entry.address, storageKeys: entry.storageKeys ?? [] })),
)

export interface Authorization {
  chainId: bigint
  address: Uint8Array
  nonce: bigint
  yParity: number
  r: bigint
  s: bigint
}

export const authorizationSchema = z
  .object({
    chainId: quantitySchema,
    address: addressSchema,
    nonce: uint64Schema,
    yParity: uint64Schema,
    r: quantitySchema,
    s: quantitySchema,
  })
  .transform((auth, ctx): Authorization => {
    if (auth.yParity > 255n) {
      ctx.addIssue({ code: 'custom', message: 'yParity must fit in one byte' })
      return z.NEVER
    }
    return { ...auth, yParity: Number(auth.yParity) }
  })

/** geth's TransactionArgs after parsing; `data` is the call data whichever of input/data carried it. */
export interface CallRequest {
  from?: Uint8Array
  /** null or absent: contract creation. */
  to?: Uint8Array | null
  gas?: bigint
  gasPrice?: bigint
  maxFeePerGas?: bigint
  maxPriorityFeePerGas?: bigint
  maxFeePerBlobGas?: bigint
  value?: bigint
  data?: Uint8Array
  nonce?: bigint
  accessList?: AccessListEntry[]
  authorizationList?: Authorization[]
  blobVersionedHashes?: Uint8Array[]
  type?: number
  chainId?: bigint
}

export const callRequestSchema = z
  .object(
    {
      from: addressSchema.nullish(),
      to: addressSchema.nullish(),
      gas: uint64Schema.nullish(),
      gasPrice: quantitySchema.nullish(),
      maxFeePerGas: quantitySchema.nullish(),
      maxPriorityFeePerGas: quantitySchema.nullish(),
      maxFeePerBlobGas: quantitySchema.nullish(),
      value: quantitySchema.nullish(),
      data: dataSchema.nullish(),
      input: dataSchema.nullish(),
      nonce: uint64Schema.nullish(),
      accessList: accessListSchema.nullish(),
      authorizationList: z.array(authorizationSchema).nullish(),
      blobVersionedHashes: z.array(hashSchema).nullish(),
      type: uint64Schema.nullish(),
      chainId: quantitySchema.nullish(),
    },
    { error: 'cannot unmarshal non-object into TransactionArgs' },
  )
  .transform((raw, ctx): CallRequest => {
    if (raw.input != null && raw.data != null && Buffer.compare(raw.input, raw.data) !== 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'both "data" and "input" are set and not equal. Please use "input" to pass transaction call data',
      })
      return z.NEVER
    }
    if (raw.type != null && raw.type > 0xffn) {
      ctx.addIssue({ code: 'custom', message: 'transaction type must fit in one byte', path: ['type'] })
      return z.NEVER
    }
    const request: CallRequest = {}
    if (raw.from != null) request.from = raw.from
    if (raw.to !== undefined) request.to = raw.to
    if (raw.gas != null) request.gas = raw.gas
    if (raw.gasPrice != null) request.gasPrice = raw.gasPrice
    if (raw.maxFeePerGas != null) request.maxFeePerGas = raw.maxFeePerGas
    if (raw.maxPriorityFeePerGas != null) request.maxPriorityFeePerGas = raw.maxPriorityFeePerGas
    if (raw.maxFeePerBlobGas != null) request.maxFeePerBlobGas = raw.maxFeePerBlobGas
    if (raw.value != null) request.value = raw.value
    const data = raw.input ?? raw.data
    if (data != null) request.data = data
    if (raw.nonce != null) request.nonce = raw.nonce
    if (raw.accessList != null) request.accessList = raw.accessList
    if (raw.authorizationList != null) request.authorizationList = raw.authorizationList
    if (raw.blobVersionedHashes != null) request.blobVersionedHashes = raw.blobVersionedHashes
    if (raw.type != null) request.type = Number(raw.type)
    if (raw.chainId != null) request.chainId = raw.chainId
    return request
  })

export interface AccountOverride {
  address: Uint8Array
  balance?: bigint
  nonce?: bigint
  code?: Uint8Array
  /** Replaces the whole storage. */
  state?: Array<[key: Uint8Array, value: Uint8Array]>
  /** Patches individual slots. */
  stateDiff?: Array<[key: Uint8Array, value: Uint8Array]>
}

const storageSchema = z.record(z.string(), hashSchema).transform((slots, ctx): Array<[Uint8Array, Uint8Array]> => {
  const entries: Array<[Uint8Array, Uint8Array]> = []
  for (const [key, value] of Object.entries(slots)) {
    const parsed = hashSchema.safeParse(key)
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `storage key ${key}: ${parsed.error.issues[0]?.message}` })
      return z.NEVER
    }
    entries.push([parsed.data, value])
  }
  return entries
})

const accountOverrideSchema = z.object({
  balance: quantitySchema.nullish(),
  nonce: uint64Schema.nullish(),
  code: dataSchema.nullish(),
  state: storageSchema.nullish(),
  stateDiff: storageSchema.nullish(),
  // Read only to be refused: ignoring it would run the call against the wrong precompiles.
  movePrecompileToAddress: z.unknown().nullish(),
})

/** `{ [address]: { balance?, nonce?, code?, state?, stateDiff? } }` as eth_call's third argument. */
export const stateOverridesSchema = z
  .record(z.string(), accountOverrideSchema)
  .transform((accounts, ctx): AccountOverride[] => {
    const overrides: AccountOverride[] = []
    for (const [key, account] of Object.entries(accounts)) {
      const address = addressSchema.safeParse(key)
      if (!address.success) {
        ctx.addIssue({ code: 'custom', message: `account ${key}: ${address.error.issues[0]?.message}` })
        return z.NEVER
      }
      if (account.state != null && account.stateDiff != null) {
        ctx.addIssue({ code: 'custom', message: `account ${key} has both 'state' and 'stateDiff'` })
        return z.NEVER
      }
      if (account.movePrecompileToAddress != null) {
        ctx.addIssue({ code: 'custom', message: `account ${key}: movePrecompileToAddress is not supported` })
        return z.NEVER
      }
      const override: AccountOverride = { address: address.data }
      if (account.balance != null) override.balance = account.balance
      if (account.nonce != null) override.nonce = account.nonce
      if (account.code != null) override.code = account.code
      if (account.state != null) override.state = account.state
      if (account.stateDiff != null) override.stateDiff = account.stateDiff
      overrides.push(override)
    }
    return overrides
  })

/** geth's BlockOverrides: header fields a call sees in place of its block's own. */
export interface BlockOverrides {
  number?: bigint
  time?: bigint
  gasLimit?: bigint
  feeRecipient?: Uint8Array
  prevRandao?: Uint8Array
  baseFeePerGas?: bigint
  blobBaseFee?: bigint
  /** Accepted but refused when applied, with geth's error: a call has no beacon root or withdrawals. */
  beaconRoot?: Uint8Array
  withdrawals?: unknown[]
}

/**
 * `{ number?, time?, gasLimit?, feeRecipient?, prevRandao?, baseFeePerGas?, blobBaseFee? }` as
 * eth_call's and eth_estimateGas's fourth argument. `coinbase`, `random` and `baseFee` are the names
 * geth used before 1.14.12 and still appear in tools; the current name wins when both are given.
 * `difficulty` is accepted and ignored (PREVRANDAO replaced it), unknown fields are ignored like geth.
 */
export const blockOverridesSchema = z
  .object(
    {
      number: uint64Schema.nullish(),
      difficulty: quantitySchema.nullish(),
      time: uint64Schema.nullish(),
      gasLimit: uint64Schema.nullish(),
      feeRecipient: addressSchema.nullish(),
      coinbase: addressSchema.nullish(),
      prevRandao: hashSchema.nullish(),
      random: hashSchema.nullish(),
      baseFeePerGas: quantitySchema.nullish(),
      baseFee: quantitySchema.nullish(),
      blobBaseFee: quantitySchema.nullish(),
      beaconRoot: hashSchema.nullish(),
      withdrawals: z.array(z.unknown()).nullish(),
    },
    { error: 'cannot unmarshal non-object into BlockOverrides' },
  )
  .transform((raw): BlockOverrides => {
    const overrides: BlockOverrides = {}
    const feeRecipient = raw.feeRecipient ?? raw.coinbase
    const prevRandao = raw.prevRandao ?? raw.random
    const baseFeePerGas = raw.baseFeePerGas ?? raw.baseFee
    if (raw.number != null) overrides.number = raw.number
    if (raw.time != null) overrides.time = raw.time
    if (raw.gasLimit != null) overrides.gasLimit = raw.gasLimit
    if (feeRecipient != null) overrides.feeRecipient = feeRecipient
    if (prevRandao != null) overrides.prevRandao = prevRandao
    if (baseFeePerGas != null) overrides.baseFeePerGas = baseFeePerGas
    if (raw.blobBaseFee != null) overrides.blobBaseFee = raw.blobBaseFee
    if (raw.beaconRoot != null) overrides.beaconRoot = raw.beaconRoot
    if (raw.withdrawals != null) overrides.withdrawals = raw.withdrawals
    return overrides
  })

/** Topics beyond four cannot match anything (LOG4 is the widest log). */
export const MAX_TOPICS = 4
/** Caps the address list so one filter cannot make every log a linear scan of a huge list. */
export const MAX_FILTER_ADDRESSES = 1000
/** The same for one topic position's alternatives (geth's `maxSubTopics`). */
export const MAX_TOPIC_ALTERNATIVES = 1000

/** Parsed eth_getLogs / eth_newFilter criteria. */
export interface LogCriteria {
  fromBlock?: BlockNumberOrTag
  toBlock?: BlockNumberOrTag
  blockHash?: Uint8Array
  /** Empty: any address. */
  addresses: Uint8Array[]
  /** Position i: the log's topic i must be one of these; null: anything. */
  topics: (Uint8Array[] | null)[]
}

const topicPositionSchema = z
  .union([hashSchema, z.array(hashSchema.nullable()), z.null()], {
    error: 'invalid topic(s)',
  })
  .transform((position): Uint8Array[] | null => {
    if (position === null) return null
    if (position instanceof Uint8Array) return [position]
    // geth: a null among alternatives, or no alternatives at all, matches any topic.
    if (position.length === 0 || position.some((topic) => topic === null)) return null
    return position as Uint8Array[]
  })

export const logCriteriaSchema = z
  .object(
    {
      fromBlock: blockNumberOrTagSchema.nullish(),
      toBlock: blockNumberOrTagSchema.nullish(),
      blockHash: hashSchema.nullish(),
      address: z.union([addressSchema, z.array(addressSchema)], { error: 'invalid addresses in query' }).nullish(),
      topics: z.array(topicPositionSchema).nullish(),
    },
    { error: 'cannot unmarshal non-object into FilterCriteria' },
  )
  .transform((raw, ctx): LogCriteria => {
    if (raw.blockHash != null && (raw.fromBlock != null || raw.toBlock != null)) {
      ctx.addIssue({
        code: 'custom',
        message: 'cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other',
      })
      return z.NEVER
    }
    const addresses = raw.address == null ? [] : raw.address instanceof Uint8Array ? [raw.address] : raw.address
    if (addresses.length > MAX_FILTER_ADDRESSES) {
      ctx.addIssue({ code: 'custom', message: `exceed max addresses (${MAX_FILTER_ADDRESSES})` })
      return z.NEVER
    }
    const topics = raw.topics ?? []
    if (topics.length > MAX_TOPICS) {
      ctx.addIssue({ code: 'custom', message: 'exceed max topics' })
      return z.NEVER
    }
    if (topics.some((position) => position !== null && position.length > MAX_TOPIC_ALTERNATIVES)) {
      ctx.addIssue({ code: 'custom', message: `exceed max subtopics (${MAX_TOPIC_ALTERNATIVES})` })
      return z.NEVER
    }
    const criteria: LogCriteria = { addresses, topics }
    if (raw.fromBlock != null) criteria.fromBlock = raw.fromBlock
    if (raw.toBlock != null) criteria.toBlock = raw.toBlock
    if (raw.blockHash != null) criteria.blockHash = raw.blockHash
    return criteria
  })

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0]
  if (issue === undefined) return 'invalid value'
  const path = issue.path.map(String).join('.')
  return path === '' ? issue.message : `${path}: ${issue.message}`
}

/** Parses one argument; the error names it: `invalid argument 1: hex string without 0x prefix`. */
export function parseParam<S extends z.ZodType>(schema: S, value: unknown, index: number): z.output<S> {
  const result = schema.safeParse(value)
  if (!result.success) throw invalidParams(`invalid argument ${index}: ${describeIssue(result.error)}`)
  return result.data
}

type SchemaOutputs<T extends readonly z.ZodType[]> = { [K in keyof T]: z.output<T[K]> }

/**
 * Parses a positional parameter list like geth's reflection-based decoder: the first `required`
 * arguments must be present, later ones may be missing or null (then undefined), extra ones fail.
 */
export function parseParams<const T extends readonly z.ZodType[]>(
  params: readonly unknown[],
  schemas: T,
  required: number = schemas.length,
): SchemaOutputs<T> {
  if (params.length > schemas.length) {
    throw invalidParams(`too many arguments, want at most ${schemas.length}`)
  }
  const parsed: unknown[] = []
  for (let index = 0; index < schemas.length; index++) {
    const value = params[index]
    if (value === undefined || value === null) {
      if (index < required) throw invalidParams(`missing value for required argument ${index}`)
      parsed.push(undefined)
      continue
    }
    parsed.push(parseParam(schemas[index] as z.ZodType, value, index))
  }
  return parsed as SchemaOutputs<T>
}
