import { DEV_ACCOUNTS, createChainCommon, devGenesis } from '@cairn/primitives'
import type { Common } from '@ethereumjs/common'
import {
  type TypedTransaction,
  createAccessList2930Tx,
  createEOACode7702Tx,
  createFeeMarket1559Tx,
  createLegacyTx,
} from '@ethereumjs/tx'
import {
  type Address,
  type PrefixedHexString,
  createAddressFromPrivateKey,
  eoaCode7702SignAuthorization,
  hexToBytes,
  setLengthLeft,
} from '@ethereumjs/util'
import { nativeEcrecover, wasmKeccak256 } from '@cairn/executor'
import type { AccountStateReader } from '../src/index.ts'

export const GWEI = 1_000_000_000n
export const ETH = 10n ** 18n

/**
 * The dev chain (id 77077, 60M gas blocks, Prague) with the node's native ecrecover and keccak;
 * `keccak: false` leaves ethereumjs' default keccak.
 */
export function testCommon(chainId?: bigint, options: { keccak?: boolean } = {}): Common {
  const genesis = devGenesis(chainId === undefined ? {} : { chainId })
  return createChainCommon(
    genesis,
    options.keccak === false
      ? { ecrecover: nativeEcrecover }
      : { ecrecover: nativeEcrecover, keccak256: wasmKeccak256 },
  )
}

export interface TestAccount {
  privateKey: Uint8Array
  address: Address
}

export const ACCOUNTS: TestAccount[] = DEV_ACCOUNTS.map(({ privateKey }) => {
  const key = hexToBytes(privateKey)
  return { privateKey: key, address: createAddressFromPrivateKey(key) }
})

/** A deterministic extra sender (for tests needing more than the ten dev accounts). */
export function extraAccount(index: number): TestAccount {
  const privateKey = setLengthLeft(hexToBytes(`0x${(0x1000 + index).toString(16)}` as PrefixedHexString), 32)
  return { privateKey, address: createAddressFromPrivateKey(privateKey) }
}

const RECIPIENT: PrefixedHexString = '0x000000000000000000000000000000000000beef'

export interface TxParams {
  nonce?: bigint
  tip?: bigint
  feeCap?: bigint
  gasLimit?: bigint
  value?: bigint
  to?: PrefixedHexString | null
  data?: Uint8Array
}

/** A signed EIP-1559 transfer; defaults: nonce 0, tip 1 gwei, fee cap 10 gwei, 21000 gas. */
export function dynamicFeeTx(
  from: TestAccount,
  params: TxParams = {},
  common: Common = testCommon(),
): TypedTransaction {
  return createFeeMarket1559Tx(
    {
      nonce: params.nonce ?? 0n,
      maxPriorityFeePerGas: params.tip ?? GWEI,
      maxFeePerGas: params.feeCap ?? 10n * GWEI,
      gasLimit: params.gasLimit ?? 21_000n,
      to: params.to === null ? undefined : (params.to ?? RECIPIENT),
      value: params.value ?? 1n,
      data: params.data ?? new Uint8Array(),
    },
    { common, allowUnlimitedInitCodeSize: true },
  ).sign(from.privateKey)
}

export function legacyTx(
  from: TestAccount,
  params: TxParams & { gasPrice?: bigint } = {},
  common: Common = testCommon(),
): TypedTransaction {
  return createLegacyTx(
    {
      nonce: params.nonce ?? 0n,
      gasPrice: params.gasPrice ?? 10n * GWEI,
      gasLimit: params.gasLimit ?? 21_000n,
      to: RECIPIENT,
      value: params.value ?? 1n,
    },
    { common },
  ).sign(from.privateKey)
}

export function accessListTx(from: TestAccount, params: TxParams & { gasPrice?: bigint } = {}): TypedTransaction {
  return createAccessList2930Tx(
    {
      nonce: params.nonce ?? 0n,
      gasPrice: params.gasPrice ?? 10n * GWEI,
      gasLimit: params.gasLimit ?? 30_000n,
      to: RECIPIENT,
      value: params.value ?? 1n,
      accessList: [{ address: RECIPIENT, storageKeys: [] }],
    },
    { common: testCommon() },
  ).sign(from.privateKey)
}

/** A set-code transaction whose one authorization is signed by `authority` (for `authorityNonce`). */
export function signedSetCodeTx(from: TestAccount, authority: TestAccount, authorityNonce: bigint): TypedTransaction {
  const authorization = eoaCode7702SignAuthorization(
    { chainId: '0x12d15', address: RECIPIENT, nonce: `0x${authorityNonce.toString(16)}` },
    authority.privateKey,
  )
  return createEOACode7702Tx(
    {
      nonce: 0n,
      maxPriorityFeePerGas: GWEI,
      maxFeePerGas: 10n * GWEI,
      gasLimit: 100_000n,
      to: RECIPIENT,
      value: 0n,
      authorizationList: [authorization],
    },
    { common: testCommon() },
  ).sign(from.privateKey)
}

export function setCodeTx(from: TestAccount, params: TxParams = {}): TypedTransaction {
  return createEOACode7702Tx(
    {
      nonce: params.nonce ?? 0n,
      maxPriorityFeePerGas: params.tip ?? GWEI,
      maxFeePerGas: params.feeCap ?? 10n * GWEI,
      gasLimit: params.gasLimit ?? 100_000n,
      to: RECIPIENT,
      value: 0n,
      authorizationList: [
        {
          chainId: '0x0',
          address: RECIPIENT,
          nonce: '0x5',
          yParity: '0x0',
          r: '0x1111111111111111111111111111111111111111111111111111111111111111',
          s: '0x2222222222222222222222222222222222222222222222222222222222222222',
        },
      ],
    },
    { common: testCommon() },
  ).sign(from.privateKey)
}

/** Head state in memory: accounts not set read as zero, like the real state. */
export class InMemoryState implements AccountStateReader {
  readonly accounts = new Map<string, { nonce: bigint; balance: bigint }>()
  reads = 0

  constructor(funded: TestAccount[] = ACCOUNTS, balance: bigint = 1000n * ETH) {
    for (const account of funded) this.set(account.address, { nonce: 0n, balance })
  }

  set(address: Address, account: { nonce?: bigint; balance?: bigint }): void {
    const current = this.accounts.get(address.toString()) ?? { nonce: 0n, balance: 0n }
    this.accounts.set(address.toString(), { ...current, ...account })
  }

  async getAccount(address: Address): Promise<{ nonce: bigint; balance: bigint }> {
    this.reads++
    return this.accounts.get(address.toString()) ?? { nonce: 0n, balance: 0n }
  }
}

export { nativeEcrecover }
