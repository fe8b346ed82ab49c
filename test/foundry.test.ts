import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CREATE2_DEPLOYER_ADDRESS, DEV_ACCOUNTS } from '@cairn/primitives'
import { startAnvil } from '@cairn/anvil'
import { REPO_ROOT, type RunningNode, rpc, startNode } from './src/node-process.ts'

const run = promisify(execFile)
const CAST = join(REPO_ROOT, 'node_modules/@foundry-rs/cast-linux-amd64/bin/cast')
const FORGE = join(REPO_ROOT, 'node_modules/@foundry-rs/forge-linux-amd64/bin/forge')
/** Makes the npm solc look like a native solc so forge compiles offline (see TOOLCHAIN.md). */
const SOLC_WRAPPER = join(REPO_ROOT, 'contracts/scripts/solc-wrapper.mjs')

const COUNTER = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract Counter {
  uint256 public number;
  event Set(uint256 value);

  constructor(uint256 initial) { number = initial; }

  function set(uint256 value) external {
    number = value;
    emit Set(value);
  }

  function fail() external pure { require(false, "counter says no"); }
}
`

/** A broadcast script with a salted deployment, which forge sends through the CREATE2 deployer. */
const DEPLOY_SCRIPT = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import {Counter} from "../src/Counter.sol";

interface Vm {
  function startBroadcast() external;
  function stopBroadcast() external;
}

contract Deploy {
  Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

  function run() external returns (address) {
    vm.startBroadcast();
    Counter counter = new Counter{salt: bytes32(uint256(7))}(42);
    vm.stopBroadcast();
    return address(counter);
  }
}
`

let node: RunningNode
let project: string
let counter: string
const sender = DEV_ACCOUNTS[4]!
const env = { ...process.env, FOUNDRY_DISABLE_NIGHTLY_WARNING: '1', NO_COLOR: '1' }

async function cast(...args: string[]): Promise<string> {
  const { stdout } = await run(CAST, args, { env, timeout: 60_000 })
  return stdout.trim()
}

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'cairn-e2e-forge-'))
  mkdirSync(join(project, 'src'))
  writeFileSync(join(project, 'src/Counter.sol'), COUNTER)
  writeFileSync(
    join(project, 'foundry.toml'),
    `[profile.default]\nsrc = "src"\nout = "out"\noffline = true\nauto_detect_solc = false\nsolc = "${SOLC_WRAPPER}"\nevm_version = "prague"\n`,
  )
  node = await startNode({ blockTime: 1 })
})

afterAll(async () => {
  await node?.cleanup()
  if (project !== undefined) rmSync(project, { recursive: true, force: true })
})

describe('foundry against cairn', () => {
  it('cast send transfers ETH, and cast balance and cast receipt agree', async () => {
    const recipient = '0x000000000000000000000000000000000000c0de'
    const before = BigInt(await cast('balance', sender.address, '--rpc-url', node.rpcUrl))
    expect(before).toBeGreaterThan(0n)
    const sent = JSON.parse(
      await cast(
        'send',
        recipient,
        '--value',
        '1ether',
        '--private-key',
        sender.privateKey,
        '--rpc-url',
        node.rpcUrl,
        '--json',
      ),
    ) as {
      transactionHash: string
      status: string
      blockNumber: string
    }
    expect(sent.status).toBe('0x1')
    expect(await cast('balance', recipient, '--rpc-url', node.rpcUrl)).toBe('1000000000000000000')
    expect(await cast('balance', recipient, '--ether', '--rpc-url', node.rpcUrl)).toBe('1.000000000000000000')

    const receipt = JSON.parse(
      await cast('receipt', sent.transactionHash, '--rpc-url', node.rpcUrl, '--json'),
    ) as Record<string, string>
    expect(receipt.transactionHash).toBe(sent.transactionHash)
    expect(receipt.from?.toLowerCase()).toBe(sender.address.toLowerCase())
    expect(receipt.to).toBe(recipient)
    expect(BigInt(receipt.gasUsed!)).toBe(21_000n)
    expect(await cast('receipt', sent.transactionHash, 'status', '--rpc-url', node.rpcUrl)).toMatch(/^(1|true)\b/)

    const fee = BigInt(receipt.gasUsed!) * BigInt(receipt.effectiveGasPrice!)
    const after = BigInt(await cast('balance', sender.address, '--rpc-url', node.rpcUrl))
    expect(before - after).toBe(10n ** 18n + fee)
    expect(await cast('nonce', sender.address, '--rpc-url', node.rpcUrl)).toBe('1')
  })

  it('cast block latest matches eth_getBlockByNumber', async () => {
    const block = JSON.parse(await cast('block', 'latest', '--rpc-url', node.rpcUrl, '--json')) as Record<
      string,
      string
    >
    const same = await rpc<Record<string, string>>(node.rpcUrl, 'eth_getBlockByNumber', [block.number, false])
    expect(block.hash).toBe(same.hash)
    expect(block.stateRoot).toBe(same.stateRoot)
    expect(await cast('block-number', '--rpc-url', node.rpcUrl)).toMatch(/^\d+$/)
    expect(await cast('chain-id', '--rpc-url', node.rpcUrl)).toBe('77077')
  })

  it('forge create deploys a contract that cast call and cast send then use', async () => {
    const { stdout } = await run(
      FORGE,
      [
        'create',
        'src/Counter.sol:Counter',
        '--rpc-url',
        node.rpcUrl,
        '--private-key',
        sender.privateKey,
        '--broadcast',
        '--offline',
        '--use',
        SOLC_WRAPPER,
        '--json',
        '--constructor-args',
        '7',
      ],
      { cwd: project, env, timeout: 120_000 },
    )
    const created = JSON.parse(stdout.slice(stdout.indexOf('{'))) as { deployedTo: string; transactionHash: string }
    expect(created.deployedTo).toMatch(/^0x[0-9a-fA-F]{40}$/)
    counter = created.deployedTo
    expect((await cast('code', created.deployedTo, '--rpc-url', node.rpcUrl)).length).toBeGreaterThan(2)
    expect(await cast('call', created.deployedTo, 'number()(uint256)', '--rpc-url', node.rpcUrl)).toBe('7')

    await cast(
      'send',
      created.deployedTo,
      'set(uint256)',
      '99',
      '--private-key',
      sender.privateKey,
      '--rpc-url',
      node.rpcUrl,
    )
    expect(await cast('call', created.deployedTo, 'number()(uint256)', '--rpc-url', node.rpcUrl)).toBe('99')
    const logs = JSON.parse(
      await cast(
        'logs',
        '--from-block',
        '0',
        '--address',
        created.deployedTo,
        'Set(uint256)',
        '--rpc-url',
        node.rpcUrl,
        '--json',
      ),
    ) as { data: string }[]
    expect(logs.map((l) => BigInt(l.data))).toEqual([99n])
  })

  it('forge script broadcasts a salted CREATE2 deployment through the preinstalled deployer', async () => {
    mkdirSync(join(project, 'script'), { recursive: true })
    writeFileSync(join(project, 'script/Deploy.s.sol'), DEPLOY_SCRIPT)
    await run(
      FORGE,
      [
        'script',
        'script/Deploy.s.sol',
        '--rpc-url',
        node.rpcUrl,
        '--private-key',
        DEV_ACCOUNTS[6]!.privateKey,
        '--broadcast',
        '--offline',
      ],
      { cwd: project, env, timeout: 120_000 },
    )
    const broadcast = JSON.parse(
      readFileSync(join(project, 'broadcast/Deploy.s.sol/77077/run-latest.json'), 'utf8'),
    ) as { transactions: { contractAddress: string; transaction: { to: string } }[]; receipts: { status: string }[] }
    const [deployment] = broadcast.transactions
    expect(deployment!.transaction.to.toLowerCase()).toBe(CREATE2_DEPLOYER_ADDRESS)
    expect(broadcast.receipts.map((r) => r.status)).toEqual(['0x1'])
    expect(await cast('call', deployment!.contractAddress, 'number()(uint256)', '--rpc-url', node.rpcUrl)).toBe('42')
  })

  it('cast call and cast estimate surface the revert reason', async () => {
    expect(counter).toBeDefined()
    for (const command of ['call', 'estimate']) {
      const failure = (await cast(command, counter, 'fail()', '--rpc-url', node.rpcUrl).then(
        (out) => ({ stderr: `unexpected success: ${out}` }),
        (e: { stderr: string }) => e,
      )) as { stderr: string }
      expect(failure.stderr).toContain('execution reverted')
      expect(failure.stderr).toContain('counter says no')
    }
  })

  it('cast send --sync gets the receipt in the same call (eth_sendRawTransactionSync)', async () => {
    const recipient = '0x000000000000000000000000000000000000face'
    const sent = JSON.parse(
      await cast(
        'send',
        recipient,
        '--value',
        '5',
        '--sync',
        '--private-key',
        DEV_ACCOUNTS[5]!.privateKey,
        '--rpc-url',
        node.rpcUrl,
        '--json',
      ),
    ) as { transactionHash: string; status: string; blockNumber: string }
    expect(sent.status).toBe('0x1')
    expect(JSON.parse(await cast('receipt', sent.transactionHash, '--rpc-url', node.rpcUrl, '--json'))).toMatchObject(
      sent,
    )
    expect(await cast('balance', recipient, '--rpc-url', node.rpcUrl)).toBe('5')
  })

  it('cast rpc trace_transaction gives the traces anvil gives for the same transactions', async () => {
    const anvil = await startAnvil({ hardfork: 'prague' })
    try {
      const account = DEV_ACCOUNTS[8]!
      const traces = async (rpcUrl: string) => {
        // Options first: `--create <code>` takes every argument after it as the constructor's.
        const send = async (...args: string[]) =>
          JSON.parse(
            await cast(
              'send',
              '--gas-limit',
              '300000',
              '--private-key',
              account.privateKey,
              '--rpc-url',
              rpcUrl,
              '--json',
              ...args,
            ),
          ) as { transactionHash: string; contractAddress: string | null; status: string }
        // A callee returning the word 42, and a caller that CALLs, STATICCALLs and DELEGATECALLs it.
        const callee = await send('--create', '0x600a600c600039600a6000f3602a60005260206000f3')
        const to = callee.contractAddress!.slice(2).toLowerCase()
        const runtime = `6020600060006000600073${to}5af150602060006000600073${to}5afa50602060006000600073${to}5af45000`
        const size = (runtime.length / 2).toString(16).padStart(2, '0')
        const caller = await send('--create', `0x60${size}600c60003960${size}6000f3${runtime}`)
        // Reverts with the one byte 0x01.
        const reverter = await send('--create', '0x600a600c600039600a6000f360016000526001601ffd')
        const sent = [
          callee,
          caller,
          reverter,
          await send(caller.contractAddress!),
          await send(reverter.contractAddress!),
        ]
        expect(sent.map((receipt) => receipt.status)).toEqual(['0x1', '0x1', '0x1', '0x1', '0x0'])
        const placed = ['blockHash', 'blockNumber', 'transactionHash', 'transactionPosition']
        return Promise.all(
          sent.map(async ({ transactionHash }) =>
            (JSON.parse(await cast('rpc', 'trace_transaction', transactionHash, '--rpc-url', rpcUrl)) as object[]).map(
              (trace) => Object.fromEntries(Object.entries(trace).filter(([key]) => !placed.includes(key))),
            ),
          ),
        )
      }
      const ours = await traces(node.rpcUrl)
      expect(ours[3]!.map((trace) => (trace as { traceAddress: number[] }).traceAddress)).toEqual([[], [0], [1], [2]])
      expect(ours[4]![0]).toMatchObject({ error: 'Reverted', result: { output: '0x01' } })
      expect(ours).toEqual(await traces(anvil.rpcUrl))
    } finally {
      await anvil.stop()
    }
  })
})
