import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { Abi, Hex } from 'viem'
import { REPO_ROOT } from './node-process.ts'

const require = createRequire(import.meta.url)

interface Solc {
  version(): string
  compile(input: string, callbacks?: { import: (path: string) => { contents: string } | { error: string } }): string
}

let solcInstance: Solc | undefined
function solc(): Solc {
  solcInstance ??= require('solc') as Solc
  return solcInstance
}

export interface CompiledContract {
  abi: Abi
  bytecode: Hex
  deployedBytecode: Hex
}

export interface CompileOptions {
  evmVersion?: 'prague' | 'cancun'
  optimize?: boolean
}

/** Resolves `import "@openzeppelin/..."` (and other package imports) from the workspace's node_modules. */
function readImport(path: string): { contents: string } | { error: string } {
  for (const root of [join(REPO_ROOT, 'node_modules'), join(REPO_ROOT, 'test/node_modules')]) {
    const file = join(root, path)
    if (existsSync(file)) return { contents: readFileSync(file, 'utf8') }
  }
  return { error: `File not found: ${path}` }
}

/**
 * solc-js needs seconds per compile on this machine; the output of an identical input (same sources,
 * same settings, same imports on disk) is kept in the temp dir so each test file does not pay again.
 */
function cachedCompile(input: string): string {
  const compile = () => solc().compile(input, { import: readImport })
  const dir = join(tmpdir(), 'cairn-e2e-solc-cache')
  const versionOf = (pkg: string) =>
    (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string })
      .version
  const key = createHash('sha256')
    .update(`${versionOf('solc')}\0${versionOf('@openzeppelin/contracts')}\0${input}`)
    .digest('hex')
  const file = join(dir, `${key}.json`)
  if (existsSync(file)) return readFileSync(file, 'utf8')
  const output = compile()
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, output)
  return output
}

/**
 * Compiles Solidity sources (file name → source text) with the npm solc through standard JSON and
 * returns every contract by name. Throws with the compiler's messages when any is an error.
 */
export function compileSolidity(
  sources: Record<string, string>,
  options: CompileOptions = {},
): Record<string, CompiledContract> {
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(Object.entries(sources).map(([name, content]) => [name, { content }])),
    settings: {
      evmVersion: options.evmVersion ?? 'prague',
      optimizer: { enabled: options.optimize ?? true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  }
  const output = JSON.parse(cachedCompile(JSON.stringify(input))) as {
    errors?: { severity: string; formattedMessage: string }[]
    contracts?: Record<
      string,
      Record<string, { abi: Abi; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>
    >
  }
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error')
  if (errors.length > 0) throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`)
  const contracts: Record<string, CompiledContract> = {}
  for (const file of Object.values(output.contracts ?? {})) {
    for (const [name, contract] of Object.entries(file)) {
      contracts[name] = {
        abi: contract.abi,
        bytecode: `0x${contract.evm.bytecode.object}`,
        deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
      }
    }
  }
  return contracts
}

/** Compiles and returns one contract, failing clearly when the sources do not define it. */
export function compileContract(
  sources: Record<string, string>,
  name: string,
  options?: CompileOptions,
): CompiledContract {
  const contract = compileSolidity(sources, options)[name]
  if (contract === undefined) throw new Error(`no contract ${name} in the compiled sources`)
  return contract
}

/** The test ERC-20: OpenZeppelin's ERC20 minting 1e24 to the deployer, plus a `require` with a reason. */
export const TOKEN_SOURCE = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import "@openzeppelin/contracts/token/ERC20/ERC20.sol";

contract Token is ERC20 {
  constructor() ERC20("T", "T") { _mint(msg.sender, 1e24); }

  function alwaysFails() external pure { require(false, "reason"); }
}
`

let token: CompiledContract | undefined
/** The compiled test token (compiled once per process). */
export function tokenContract(): CompiledContract {
  token ??= compileContract({ 'Token.sol': TOKEN_SOURCE }, 'Token')
  return token
}

export function solcVersion(): string {
  return solc().version()
}
