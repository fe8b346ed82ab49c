import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { bigIntToBytes, bytesToHex, privateToAddress, setLengthLeft } from '@ethereumjs/util'
import type { GenesisAccount } from '@cairn/primitives'
import { wasmKeccak256 } from '../src/index.ts'

/** Where the benchmarks' token lives: in genesis, with the senders' balances already in its storage. */
export const BENCH_TOKEN = '0x00000000000000000000000000000000000c0ffe'

/**
 * The genesis account of the bench token (runtime code from compileBenchToken) holding `balance`
 * for each of `holders` (private keys): OpenZeppelin ERC20 v5 keeps _balances at slot 0 and
 * _totalSupply at slot 2. Balances in genesis, not handed out by transfers, so no token code runs
 * before a benchmark's timing starts.
 */
export function benchTokenAlloc(runtime: Uint8Array, holders: Uint8Array[], balance = 10n ** 24n): GenesisAccount {
  const word = (n: bigint) => bytesToHex(setLengthLeft(bigIntToBytes(n), 32))
  const storage: Record<`0x${string}`, `0x${string}`> = {}
  for (const key of holders) {
    const slot = wasmKeccak256(new Uint8Array([...setLengthLeft(privateToAddress(key), 32), ...new Uint8Array(32)]))
    storage[bytesToHex(slot)] = word(balance)
  }
  storage[word(2n)] = word(balance * BigInt(holders.length))
  return { balance: '0x0', code: bytesToHex(runtime), storage }
}

/** An OpenZeppelin ERC-20 compiled with npm solc, for benchmarks: the deployer gets 10^30 units. */
export function compileBenchToken(): {
  abiTransfer: (to: string, amount: bigint) => Uint8Array
  bytecode: Uint8Array
  runtime: Uint8Array
} {
  const require = createRequire(import.meta.url)
  const solc = require('solc')
  const ozRoot = dirname(require.resolve('@openzeppelin/contracts/package.json'))
  const input = {
    language: 'Solidity',
    sources: {
      'Token.sol': {
        content:
          'pragma solidity ^0.8.20; import "@openzeppelin/contracts/token/ERC20/ERC20.sol"; contract Token is ERC20 { constructor() ERC20("Bench", "B") { _mint(msg.sender, 1e30); } }',
      },
    },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'prague',
      outputSelection: { '*': { '*': ['evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  }
  const output = JSON.parse(
    solc.compile(JSON.stringify(input), {
      import: (path: string) =>
        path.startsWith('@openzeppelin/contracts/')
          ? { contents: readFileSync(join(ozRoot, path.slice('@openzeppelin/contracts/'.length)), 'utf8') }
          : { error: `not found: ${path}` },
    }),
  )
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === 'error')
  if (errors.length > 0) throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join('\n'))
  const { evm } = output.contracts['Token.sol'].Token
  return {
    bytecode: Uint8Array.from(Buffer.from(evm.bytecode.object, 'hex')),
    runtime: Uint8Array.from(Buffer.from(evm.deployedBytecode.object, 'hex')),
    abiTransfer: (to, amount) =>
      Uint8Array.from(
        Buffer.from(
          `a9059cbb${to.slice(2).toLowerCase().padStart(64, '0')}${amount.toString(16).padStart(64, '0')}`,
          'hex',
        ),
      ),
  }
}
