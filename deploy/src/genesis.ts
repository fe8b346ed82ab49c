// The L2 genesis: the geth-style JSON every node of a chain starts from (`cairn node --genesis FILE`),
// and the hash and state root of its block 0, which the L1 Inbox is initialized with (the deploy
// config's `genesis`). The devnet and `npm run genesis:l2` (a public testnet's) both build it here.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '@cairn/anvil'
import { anchorGenesisAlloc } from '@cairn/contracts'
import {
  CairnError,
  devGenesis,
  type GenesisAccount,
  type GethGenesisFile,
  type Hex,
  preinstallsAlloc,
} from '@cairn/primitives'
import type { DeployConfig } from './config.ts'
import { answersRpc, CAIRN_NODE_ARGS, createManagedProcess, jsonRpc, REPO_ROOT, tail } from './devnet-process.ts'

export interface L2GenesisOptions {
  chainId: number | bigint
  /** Accounts beyond the predeploys (funded ones); a predeploy's address keeps the predeploy. */
  alloc?: Record<string, GenesisAccount>
  /** Fund the ten `test … junk` dev accounts with 10,000 ETH each: the devnet's genesis, never a public chain's. */
  devAccounts?: boolean
  /** Block gas limit (default 60,000,000). */
  gasLimit?: number
}

/**
 * A Cairn L2 genesis: Prague from block 0 and the dev chain's header fields, the preinstalls (CREATE2
 * deployer, Multicall3, EIP-2935 block-hash history), the Anchor predeploy, and `alloc`.
 */
export function l2Genesis(options: L2GenesisOptions): GethGenesisFile {
  const base = devGenesis({ chainId: BigInt(options.chainId) })
  return {
    ...base,
    gasLimit: options.gasLimit === undefined ? base.gasLimit : `0x${options.gasLimit.toString(16)}`,
    alloc: {
      ...(options.devAccounts ? base.alloc : preinstallsAlloc()),
      ...options.alloc,
      ...anchorGenesisAlloc(),
    },
  }
}

/** A public chain's L2 genesis from its deploy config: `l2ChainId`, and `l2Genesis`'s accounts and gas limit. */
export function configL2Genesis(config: DeployConfig): GethGenesisFile {
  const alloc: Record<string, GenesisAccount> = {}
  for (const [address, wei] of Object.entries(config.l2Genesis?.alloc ?? {}))
    alloc[address.toLowerCase()] = { balance: `0x${BigInt(wei).toString(16)}` }
  return l2Genesis({ chainId: config.l2ChainId, alloc, gasLimit: config.l2Genesis?.gasLimit })
}

/**
 * Block 0's hash and state root as the node computes them: a `cairn node` is started on the genesis
 * (a file, or the genesis itself, written to a temporary file) in `datadir`, else a temporary one,
 * asked for block 0, and stopped; the temporary files are removed after.
 */
export async function genesisBlock(
  genesis: string | GethGenesisFile,
  options: { datadir?: string; port?: number; logFile?: string; logLevel?: string } = {},
): Promise<{ blockHash: Hex; stateRoot: Hex }> {
  const temporary =
    options.datadir === undefined || typeof genesis !== 'string'
      ? mkdtempSync(join(tmpdir(), 'cairn-genesis-'))
      : undefined
  const genesisFile = typeof genesis === 'string' ? genesis : join(temporary!, 'genesis.json')
  if (typeof genesis !== 'string') writeFileSync(genesisFile, JSON.stringify(genesis))
  const datadir = options.datadir ?? join(temporary!, 'datadir')
  const port = options.port ?? (await freePort())
  const rpc = `http://127.0.0.1:${port}`
  const node = createManagedProcess({
    name: 'genesis',
    command: process.execPath,
    args: [
      ...CAIRN_NODE_ARGS,
      'node',
      '--genesis',
      genesisFile,
      '--datadir',
      datadir,
      '--http.port',
      String(port),
      '--p2p.enabled',
      'false',
      '--log-level',
      options.logLevel ?? 'info',
    ],
    cwd: REPO_ROOT,
    logFile: options.logFile ?? join(temporary!, 'node.log'),
    ready: () => answersRpc(rpc),
  })
  try {
    await node.start()
    const block = await jsonRpc<{ hash: Hex; stateRoot: Hex } | null>(rpc, 'eth_getBlockByNumber', ['0x0', false])
    if (block === null) throw new CairnError('GENESIS_NO_BLOCK', `the node has no block 0:\n${tail(node.logs())}`)
    return { blockHash: block.hash, stateRoot: block.stateRoot }
  } finally {
    await node.stop()
    if (temporary !== undefined) rmSync(temporary, { recursive: true, force: true })
  }
}
