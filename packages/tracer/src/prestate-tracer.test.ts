import { Account, type Address, bytesToHex, hexToBytes, setLengthLeft } from '@ethereumjs/util'
import { describe, expect, it } from 'vitest'
import { TestChain, calldata, compiledContracts } from '../test/harness.ts'
import { TracerError, createPrestateTracer, createTracer } from './index.ts'

// TestChain prices every tx at min(maxFee 100, baseFee 7 + tip 1) = 8 wei per gas; the coinbase earns the tip.
const GAS_PRICE = 8n
const SENDER_FUNDS = 10n ** 21n
const COINBASE = '0x00000000000000000000000000000000000000c0'
const ZERO_HASH = `0x${'0'.repeat(64)}`

const contract = compiledContracts()

const hex = (value: bigint): `0x${string}` => `0x${value.toString(16)}`
const word = (value: bigint): string => `0x${value.toString(16).padStart(64, '0')}`
const addr = (suffix: string): Address => TestChain.address(`0x${suffix.padStart(40, '0')}`)

/** Installs `code` (hex, no 0x) at `address` with nonce 1, as a deployed contract has, and the given storage. */
async function install(chain: TestChain, address: Address, code: string, storage: Record<number, bigint> = {}) {
  const state = chain.vm.stateManager
  await state.putAccount(address, new Account(1n, 0n))
  await state.putCode(address, hexToBytes(`0x${code}`))
  for (const [slot, value] of Object.entries(storage)) {
    await state.putStorage(address, setLengthLeft(hexToBytes(hex(BigInt(slot))), 32), hexToBytes(hex(value)))
  }
  return { code: `0x${code}`, codeHash: await codeHashOf(chain, address) }
}

/** The code hash the state holds for `address`, hex. */
async function codeHashOf(chain: TestChain, address: Address): Promise<string> {
  const account = await chain.vm.stateManager.getAccount(address)
  if (account === undefined) throw new Error(`no account ${address.toString()}`)
  return bytesToHex(account.codeHash)
}

// Reads slot 1, stores slot1 + 1 into slot 2, reads the empty slot 3, clears slot 4:
// PUSH1 1 SLOAD PUSH1 1 ADD PUSH1 2 SSTORE PUSH1 3 SLOAD POP PUSH1 0 PUSH1 4 SSTORE STOP
const SLOTS_CODE = '6001546001016002556003545060006004550000'
// STATICCALL sha256 (0x02) with 4 bytes of input: PUSH1 0 PUSH1 0 PUSH1 4 PUSH1 0 PUSH1 2 GAS STATICCALL POP STOP
const PRECOMPILE_CALLER_CODE = '60006000600460006002' + '5afa5000'
// BALANCE of 0x…dead (never funded) and of 0x…beef: PUSH2 dead BALANCE POP PUSH2 beef BALANCE POP STOP
const BALANCE_READER_CODE = '61dead315061beef315000'
// PUSH1 5 SLOAD STOP
const SLOAD_5_CODE = '60055400'

describe('prestate tracer', () => {
  it('records sender and recipient of a plain transfer before gas is bought (geth testdata prestate_tracer/simple)', async () => {
    const chain = await TestChain.create()
    const recipient = addr('aa')
    await chain.vm.stateManager.putAccount(recipient, new Account(0n, 5n))
    const { result } = await chain.trace(
      chain.tx({ to: recipient, value: 1000n, gasLimit: 21_000n }),
      createPrestateTracer(),
    )
    // The coinbase is looked up too, but it was empty, so geth leaves it out; the sender's nonce 0 is
    // omitted. Keys come sorted, as Go writes maps.
    expect(result).toStrictEqual({
      [chain.sender.toString()]: { balance: hex(SENDER_FUNDS) },
      '0x00000000000000000000000000000000000000aa': { balance: '0x5' },
    })
    expect(JSON.stringify(result)).toBe(
      `{"0x00000000000000000000000000000000000000aa":{"balance":"0x5"},"${chain.sender.toString()}":{"balance":"${hex(SENDER_FUNDS)}"}}`,
    )
  })

  it('reports what a transfer changed in diffMode: balances, the nonce and the paid coinbase', async () => {
    const chain = await TestChain.create()
    await chain.run(chain.tx({ to: addr('bb'), value: 1n, gasLimit: 21_000n }))
    const recipient = addr('aa')
    const { result } = await chain.trace(
      chain.tx({ to: recipient, value: 1000n, gasLimit: 21_000n }),
      createTracer({ tracer: 'prestateTracer', tracerConfig: { diffMode: true } }),
    )
    const afterFirst = SENDER_FUNDS - 1n - 21_000n * GAS_PRICE
    expect(result).toStrictEqual({
      post: {
        [COINBASE]: { balance: hex(2n * 21_000n) },
        '0x00000000000000000000000000000000000000aa': { balance: '0x3e8' },
        [chain.sender.toString()]: { balance: hex(afterFirst - 1000n - 21_000n * GAS_PRICE), nonce: 2 },
      },
      // The recipient did not exist before: it is in `post` only.
      pre: {
        [COINBASE]: { balance: hex(21_000n) },
        [chain.sender.toString()]: { balance: hex(afterFirst), nonce: 1 },
      },
    })
    // geth writes `post` before `pre`, and both maps with sorted keys.
    expect(Object.keys(result as object)).toEqual(['post', 'pre'])
    expect(Object.keys((result as { post: object }).post)).toEqual(
      [COINBASE, '0x00000000000000000000000000000000000000aa', chain.sender.toString()].sort(),
    )
  })

  it('records the storage slots a contract reads and writes, with their values before the transaction', async () => {
    const chain = await TestChain.create()
    const target = addr('5107')
    const { code, codeHash } = await install(chain, target, SLOTS_CODE, { 1: 0x2an, 2: 7n, 4: 9n })
    const { result } = await chain.trace(chain.tx({ to: target }), createPrestateTracer())
    expect((result as Record<string, unknown>)[target.toString()]).toStrictEqual({
      balance: '0x0',
      code,
      codeHash,
      nonce: 1,
      storage: { [word(1n)]: word(0x2an), [word(2n)]: word(7n), [word(3n)]: word(0n), [word(4n)]: word(9n) },
    })
    expect(Object.keys((result as Record<string, object>)[target.toString()] as object)).toEqual([
      'balance',
      'code',
      'codeHash',
      'nonce',
      'storage',
    ])
  })

  it('lists only the changed slots in diffMode, a cleared slot in `pre` only', async () => {
    const chain = await TestChain.create()
    const target = addr('5107')
    const { code, codeHash } = await install(chain, target, SLOTS_CODE, { 1: 0x2an, 2: 7n, 4: 9n })
    const { result } = await chain.trace(chain.tx({ to: target }), createPrestateTracer({ diffMode: true }))
    const { pre, post } = result as { pre: Record<string, unknown>; post: Record<string, unknown> }
    expect(pre[target.toString()]).toStrictEqual({
      balance: '0x0',
      code,
      codeHash,
      nonce: 1,
      storage: { [word(2n)]: word(7n), [word(4n)]: word(9n) },
    })
    expect(post[target.toString()]).toStrictEqual({ storage: { [word(2n)]: word(0x2bn) } })
  })

  it('leaves code and storage out with disableCode and disableStorage, keeping codeHash', async () => {
    const chain = await TestChain.create()
    const target = addr('5107')
    const { codeHash } = await install(chain, target, SLOTS_CODE, { 1: 0x2an })
    const { result } = await chain.trace(
      chain.tx({ to: target }),
      createTracer({ tracer: 'prestateTracer', tracerConfig: { disableCode: true, disableStorage: true } }),
    )
    expect((result as Record<string, unknown>)[target.toString()]).toStrictEqual({ balance: '0x0', codeHash, nonce: 1 })
  })

  it('does not record a slot whose SLOAD ran out of gas (geth traces an opcode only once its gas is paid)', async () => {
    const chain = await TestChain.create()
    const target = addr('5107')
    await install(chain, target, SLOAD_5_CODE, { 5: 1n })
    // 21000 intrinsic + 3 for PUSH1 leaves 100, short of the cold SLOAD's 2100.
    const { run, result } = await chain.trace(chain.tx({ to: target, gasLimit: 21_103n }), createPrestateTracer())
    expect(run.execResult.exceptionError?.error).toBe('out of gas')
    expect((result as Record<string, object>)[target.toString()]).not.toHaveProperty('storage')
  })

  it('reports a contract created by CREATE in `post` only, and the factory nonce bump (geth testdata inner_create)', async () => {
    const chain = await TestChain.create()
    const factory = await chain.deploy(contract('Factory'))
    const coinbaseBefore = (await chain.vm.stateManager.getAccount(addr('c0')))?.balance ?? 0n
    const senderBefore = (await chain.vm.stateManager.getAccount(chain.sender))?.balance ?? 0n
    const { run, result } = await chain.trace(
      chain.tx({ to: factory, data: calldata(contract('Factory'), 'make(uint256)', 7n) }),
      createPrestateTracer({ diffMode: true }),
    )
    const child = `0x${bytesToHex(run.execResult.returnValue).slice(-40)}`
    const childCode = (await chain.vm.stateManager.getCode(TestChain.address(child))) as Uint8Array
    const factoryCode = bytesToHex(await chain.vm.stateManager.getCode(factory))
    expect(result).toStrictEqual({
      post: {
        [COINBASE]: { balance: hex(coinbaseBefore + run.totalGasSpent) },
        [child]: {
          code: bytesToHex(childCode),
          codeHash: await codeHashOf(chain, TestChain.address(child)),
          nonce: 1,
          storage: { [word(0n)]: word(7n) },
        },
        [factory.toString()]: { nonce: 2 },
        [chain.sender.toString()]: { balance: hex(senderBefore - run.totalGasSpent * GAS_PRICE), nonce: 2 },
      },
      pre: {
        [COINBASE]: { balance: hex(coinbaseBefore) },
        [factory.toString()]: {
          balance: '0x0',
          code: factoryCode,
          codeHash: await codeHashOf(chain, factory),
          nonce: 1,
        },
        [chain.sender.toString()]: { balance: hex(senderBefore), nonce: 1 },
      },
    })
  })

  it('looks up the address a creation transaction deploys to; empty before, it needs includeEmpty', async () => {
    const chain = await TestChain.create()
    const initCode = new Uint8Array([...contract('Child').bytecode, ...hexToBytes(word(3n) as `0x${string}`)])
    const { run, result } = await chain.trace(
      chain.tx({ data: initCode, gasLimit: 500_000n }),
      createPrestateTracer({ includeEmpty: true }),
    )
    // With includeEmpty geth keeps the (then empty) created address and coinbase; the constructor's
    // SSTORE adds the slot's pre-transaction value (zero) to the created account.
    expect(result).toStrictEqual({
      [COINBASE]: { balance: '0x0' },
      [chain.sender.toString()]: { balance: hex(SENDER_FUNDS) },
      [run.createdAddress?.toString() as string]: { balance: '0x0', storage: { [word(0n)]: word(0n) } },
    })
    const { result: plain } = await chain.trace(
      chain.tx({ data: initCode, gasLimit: 500_000n }),
      createPrestateTracer(),
    )
    expect(Object.keys(plain as object)).toEqual([COINBASE, chain.sender.toString()])
  })

  it('leaves out a precompile a contract calls; in diffMode the absent account shows geth’s zero code hash', async () => {
    const chain = await TestChain.create()
    const caller = addr('ca11')
    await install(chain, caller, PRECOMPILE_CALLER_CODE)
    const { result } = await chain.trace(chain.tx({ to: caller }), createPrestateTracer())
    expect(Object.keys(result as object).sort()).toEqual([chain.sender.toString(), caller.toString()].sort())

    // geth compares the post-tx code hash of an account that still does not exist (GetCodeHash of a
    // missing state object is the zero hash) with the empty-code hash, so it lists it with a zero codeHash.
    const { result: diff } = await chain.trace(chain.tx({ to: caller }), createPrestateTracer({ diffMode: true }))
    const { pre, post } = diff as { pre: Record<string, unknown>; post: Record<string, unknown> }
    expect(post['0x0000000000000000000000000000000000000002']).toStrictEqual({ codeHash: ZERO_HASH })
    expect(pre).not.toHaveProperty('0x0000000000000000000000000000000000000002')
    expect(post).not.toHaveProperty(caller.toString())
  })

  it('records accounts read by BALANCE; one that does not exist only with includeEmpty', async () => {
    const chain = await TestChain.create()
    const reader = addr('ba1a')
    await install(chain, reader, BALANCE_READER_CODE)
    await chain.vm.stateManager.putAccount(addr('beef'), new Account(3n, 77n))
    const { run, result } = await chain.trace(chain.tx({ to: reader }), createPrestateTracer())
    const accounts = result as Record<string, unknown>
    expect(accounts[addr('beef').toString()]).toStrictEqual({ balance: '0x4d', nonce: 3 })
    expect(accounts).not.toHaveProperty(addr('dead').toString())

    const { result: withEmpty } = await chain.trace(
      chain.tx({ to: reader }),
      createPrestateTracer({ includeEmpty: true }),
    )
    expect((withEmpty as Record<string, unknown>)[addr('dead').toString()]).toStrictEqual({ balance: '0x0' })
    // The coinbase was paid by the first trace; the sender's nonce moved on.
    expect((withEmpty as Record<string, unknown>)[COINBASE]).toStrictEqual({ balance: hex(run.totalGasSpent) })
    expect((withEmpty as Record<string, unknown>)[chain.sender.toString()]).toStrictEqual({
      balance: hex(SENDER_FUNDS - run.totalGasSpent * GAS_PRICE),
      nonce: 1,
    })
  })

  it('refuses diffMode with includeEmpty, as geth does, and needs the VM in its context', async () => {
    expect(() =>
      createTracer({ tracer: 'prestateTracer', tracerConfig: { diffMode: true, includeEmpty: true } }),
    ).toThrow(new TracerError('TRACER_INVALID_CONFIG', 'cannot use diffMode with includeEmpty'))
    expect(() => createTracer({ tracer: 'prestateTracer', tracerConfig: { diffMode: 1 } })).toThrow(
      'tracerConfig.diffMode must be a boolean, got 1',
    )
    const chain = await TestChain.create()
    expect(() => createPrestateTracer().attach(chain.vm.evm, { coinbase: addr('c0') })).toThrow(
      new TracerError(
        'TRACER_NOT_SUPPORTED',
        'prestateTracer needs the VM running the transaction and the block coinbase in its trace context',
      ),
    )
  })
})
