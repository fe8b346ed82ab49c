import { createBlock, type Block } from '@ethereumjs/block'
import { Common, Hardfork, Mainnet } from '@ethereumjs/common'
import { createFeeMarket1559Tx, type FeeMarket1559Tx } from '@ethereumjs/tx'
import {
  Account,
  type Address,
  bytesToHex,
  createAddressFromPrivateKey,
  createAddressFromString,
  hexToBytes,
} from '@ethereumjs/util'
import { createVM, runTx, type RunTxResult, type VM } from '@ethereumjs/vm'
import solc from 'solc'
import { beforeAll } from 'vitest'
import type { EvmTracer, TraceContext } from '../src/index.ts'

/** Test contracts, compiled once per test file with the npm solc. */
export const SOURCE = `
// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

contract Store {
  uint256 public value;
  event Stored(uint256 indexed slot, uint256 value);
  function set(uint256 v) external { value = v; emit Stored(0, v); }
  function bump() external { value = value + 1; }
}

contract Callee {
  function check(uint256 x) external pure returns (uint256) {
    require(x == 0, "B says no");
    return 42;
  }
}

contract Caller {
  Callee public callee;
  event Caught(string reason);
  constructor(Callee c) { callee = c; }
  function tryCheck(uint256 x) external returns (bool ok) {
    try callee.check(x) returns (uint256) { ok = true; } catch Error(string memory reason) { emit Caught(reason); }
  }
  function fail() external pure { revert("top level says no"); }
  function overflow(uint256 x) external pure returns (uint256) { return x + type(uint256).max; }
}

contract Child {
  uint256 public n;
  constructor(uint256 n_) { n = n_; }
}

contract Factory {
  function make(uint256 n) external returns (address) { return address(new Child(n)); }
  function make2(uint256 n) external returns (address) { return address(new Child{salt: bytes32(n)}(n)); }
}

contract Bomb {
  constructor() payable {}
  function boom(address payable to) external { selfdestruct(to); }
}

contract Payer {
  constructor() payable {}
  function pay(address payable to) external { (bool ok, ) = to.call{value: 5}(""); require(ok); }
  function burn(address target) external { (bool ok, ) = target.call{gas: 30000}(abi.encodeWithSignature("spin()")); ok; }
}

contract Spinner {
  uint256 public n;
  function spin() external { while (true) { n = n + 1; } }
  function loop(uint256 rounds) external returns (uint256 acc) {
    for (uint256 i = 0; i < rounds; i++) { unchecked { acc = acc ^ (i * 7 + acc); } }
  }
}

contract Hasher {
  function hash(bytes calldata data) external view returns (bytes32) { return sha256(data); }
}
contract Proxy {
  uint256 public value;
  function delegate(address impl, uint256 v) external {
    (bool ok, ) = impl.delegatecall(abi.encodeWithSignature("set(uint256)", v));
    require(ok, "delegate failed");
  }
}
`

export interface Compiled {
  bytecode: Uint8Array
  /** Function signature → 0x-prefixed 4-byte selector. */
  selectors: Record<string, string>
}

export function compile(): Record<string, Compiled> {
  const input = {
    language: 'Solidity',
    sources: { 'Test.sol': { content: SOURCE } },
    settings: {
      evmVersion: 'prague',
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['evm.bytecode.object', 'evm.methodIdentifiers'] } },
    },
  }
  const output = JSON.parse(solc.compile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts: Record<
      string,
      Record<string, { evm: { bytecode: { object: string }; methodIdentifiers: Record<string, string> } }>
    >
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e) => e.formattedMessage).join('\n'))
  const contracts: Record<string, Compiled> = {}
  for (const [name, contract] of Object.entries(output.contracts['Test.sol'] ?? {})) {
    const selectors: Record<string, string> = {}
    for (const [signature, id] of Object.entries(contract.evm.methodIdentifiers)) selectors[signature] = `0x${id}`
    contracts[name] = { bytecode: hexToBytes(`0x${contract.evm.bytecode.object}`), selectors }
  }
  return contracts
}

const SENDER_KEY = hexToBytes('0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80')

/** A prague VM with one funded account; txs run in a block with a fixed base fee. */
export class TestChain {
  readonly sender: Address = createAddressFromPrivateKey(SENDER_KEY)
  private nonce = 0n

  private constructor(
    readonly vm: VM,
    readonly block: Block,
  ) {}

  static address(hex: string): Address {
    return createAddressFromString(hex)
  }

  static async create(): Promise<TestChain> {
    const common = new Common({ chain: Mainnet, hardfork: Hardfork.Prague })
    const vm = await createVM({ common })
    const block = createBlock(
      {
        header: {
          number: 1n,
          timestamp: 1_700_000_000n,
          gasLimit: 30_000_000n,
          baseFeePerGas: 7n,
          coinbase: '0x00000000000000000000000000000000000000c0',
        },
      },
      { common },
    )
    const chain = new TestChain(vm, block)
    await vm.stateManager.putAccount(chain.sender, new Account(0n, 10n ** 21n))
    return chain
  }

  tx(fields: { to?: Address; data?: Uint8Array; value?: bigint; gasLimit?: bigint }): FeeMarket1559Tx {
    const tx = createFeeMarket1559Tx(
      {
        nonce: this.nonce++,
        to: fields.to,
        data: fields.data ?? new Uint8Array(),
        value: fields.value ?? 0n,
        gasLimit: fields.gasLimit ?? 1_000_000n,
        maxFeePerGas: 100n,
        maxPriorityFeePerGas: 1n,
        chainId: 1n,
      },
      { common: this.vm.common },
    )
    return tx.sign(SENDER_KEY)
  }

  async run(tx: FeeMarket1559Tx): Promise<RunTxResult> {
    return runTx(this.vm, { tx, block: this.block })
  }

  /** Runs `tx` with `tracer` attached the way the RPC does and returns the tracer's JSON result. */
  async trace(
    tx: FeeMarket1559Tx,
    tracer: EvmTracer,
    context: TraceContext = {},
  ): Promise<{ run: RunTxResult; result: unknown }> {
    tracer.attach(this.vm.evm, { gasLimit: tx.gasLimit, vm: this.vm, coinbase: this.block.header.coinbase, ...context })
    try {
      const run = await this.run(tx)
      return { run, result: tracer.result(run) }
    } finally {
      tracer.detach()
    }
  }

  async deploy(contract: Compiled, constructorArgs: Uint8Array = new Uint8Array(), value = 0n): Promise<Address> {
    const data = new Uint8Array(contract.bytecode.length + constructorArgs.length)
    data.set(contract.bytecode)
    data.set(constructorArgs, contract.bytecode.length)
    const run = await this.run(this.tx({ data, gasLimit: 3_000_000n, value }))
    if (run.createdAddress === undefined || run.execResult.exceptionError !== undefined) {
      throw new Error(`deploy failed: ${run.execResult.exceptionError?.error}`)
    }
    return run.createdAddress
  }
}

/** ABI-encodes a call of `signature` on `contract` with 32-byte word arguments. */
export function calldata(contract: Compiled, signature: string, ...words: (bigint | Address)[]): Uint8Array {
  const selector = contract.selectors[signature]
  if (selector === undefined) throw new Error(`no function ${signature}`)
  return encodeWords(selector, words)
}

export function word(value: bigint | Address): Uint8Array {
  return encodeWords('0x', [value])
}

function encodeWords(prefix: string, words: (bigint | Address)[]): Uint8Array {
  let hex = prefix
  for (const word of words) {
    const value = typeof word === 'bigint' ? word : BigInt(word.toString())
    hex += value.toString(16).padStart(64, '0')
  }
  return hexToBytes(hex as `0x${string}`)
}

export { bytesToHex }

/**
 * The test source's contracts by name, for a test file: compiled once in a `beforeAll` of the file
 * that calls this at its top level; the returned lookup throws for a name the source lacks.
 */
export function compiledContracts(): (name: string) => Compiled {
  let contracts: Record<string, Compiled> = {}
  beforeAll(() => {
    contracts = compile()
  })
  return (name) => {
    const found = contracts[name]
    if (found === undefined) throw new Error(`no contract ${name}`)
    return found
  }
}
