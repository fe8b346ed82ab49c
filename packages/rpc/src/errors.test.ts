import { describe, expect, it } from 'vitest'
import { CairnError } from '@cairn/primitives'
import {
  RpcError,
  decodeRevertReason,
  executionReverted,
  headerNotFound,
  invalidParams,
  limitExceeded,
  methodNotFound,
  resourceNotFound,
  toJsonRpcError,
  txSyncTimeout,
  type RpcLogger,
} from './errors.ts'

const word = (n: bigint | number) => BigInt(n).toString(16).padStart(64, '0')

describe('RPC errors', () => {
  it('carries geth codes and texts', () => {
    expect(methodNotFound('eth_foo').toJSON()).toEqual({
      code: -32601,
      message: 'the method eth_foo does not exist/is not available',
    })
    expect(invalidParams('invalid argument 0: hex string without 0x prefix').rpcCode).toBe(-32602)
    expect(headerNotFound().toJSON()).toEqual({ code: -32000, message: 'header not found' })
    expect(resourceNotFound('unknown block').rpcCode).toBe(-32001)
    expect(limitExceeded('too many').rpcCode).toBe(-32005)
    expect(methodNotFound('x')).toBeInstanceOf(CairnError)
  })

  it('words an eth_sendRawTransactionSync timeout as geth, in milliseconds or seconds', () => {
    const hash = `0x${'ab'.repeat(32)}` as const
    const text = (waited: string) =>
      `The transaction was added to the transaction pool but wasn't processed in ${waited}`
    expect(txSyncTimeout(hash, 20_000).toJSON()).toEqual({ code: 4, message: text('20s'), data: hash })
    expect(txSyncTimeout(hash, 1500).message).toBe(text('1.5s'))
    expect(txSyncTimeout(hash, 999).message).toBe(text('999ms'))
  })

  it('decodes Error(string) and Panic(uint256) reverts', () => {
    const reason = Buffer.from('not owner').toString('hex').padEnd(64, '0')
    const errorData = `0x08c379a0${word(32)}${word(9)}${reason}` as const
    expect(executionReverted(errorData).toJSON()).toEqual({
      code: 3,
      message: 'execution reverted: not owner',
      data: errorData,
    })
    expect(executionReverted(`0x4e487b71${word(0x11)}`).message).toBe(
      'execution reverted: arithmetic underflow or overflow',
    )
    expect(executionReverted('0xdeadbeef').toJSON()).toEqual({
      code: 3,
      message: 'execution reverted',
      data: '0xdeadbeef',
    })
    // a bare revert() keeps an empty `data`, as geth does: ethers needs it to see a revert at all
    expect(executionReverted().toJSON()).toEqual({ code: 3, message: 'execution reverted', data: '0x' })
    expect(executionReverted(new Uint8Array()).toJSON()).toEqual({ code: 3, message: 'execution reverted', data: '0x' })
    expect(decodeRevertReason(`0x08c379a0${word(32)}${word(1000)}`)).toBeUndefined()
  })

  it('maps thrown values to JSON-RPC errors', () => {
    const logged: unknown[] = []
    const logger: RpcLogger = { debug() {}, info() {}, warn() {}, error: (obj) => logged.push(obj) }
    expect(toJsonRpcError(new RpcError(-32602, 'bad'), logger)).toEqual({ code: -32602, message: 'bad' })
    expect(toJsonRpcError(new CairnError('MEMPOOL_UNDERPRICED', 'transaction underpriced'), logger)).toEqual({
      code: -32000,
      message: 'transaction underpriced',
    })
    expect(
      toJsonRpcError(new CairnError('EXEC_REVERT', 'execution reverted', { details: { rpcCode: 3, data: '0x' } })),
    ).toEqual({ code: 3, message: 'execution reverted', data: '0x' })
    expect(toJsonRpcError(new TypeError('x is undefined at foo.ts:1'), logger)).toEqual({
      code: -32603,
      message: 'internal error',
    })
    expect(logged).toHaveLength(1)
  })
})
