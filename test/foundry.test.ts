import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CREATE2_DEPLOYER_ADDRESS, DEV_ACCOUNTS } from '@cairn/primitives'
import { startAnvil } from '@cairn/anvil'
import { type Hex, keccak256 } from 'viem'
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

/** A second contract for the daily commands: a mapping, indexed topics and a revert with a reason. */
const LEDGER = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

contract Ledger {
  uint256 public total;
  mapping(address => uint256) public owed;
  event Owed(address indexed who, uint256 indexed amount);

  function owe(uint256 amount) external {
    total += amount;
    owed[msg.sender] = amount;
    emit Owed(msg.sender, amount);
  }

  function refuse() external pure { revert("ledger refuses"); }
}
`

/** Runs with --fork-url on a cairn block: reads forked state, and replays a mined transaction. */
const FORK_TEST = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import {Ledger} from "../src/Ledger.sol";

interface Vm {
  function envAddress(string calldata) external view returns (address);
  function envUint(string calldata) external view returns (uint256);
  function envBytes32(string calldata) external view returns (bytes32);
  function load(address, bytes32) external view returns (bytes32);
  function rollFork(bytes32) external;
  function transact(bytes32) external;
}

contract ForkTest {
  Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

  function test_readsForkedState() external view {
    Ledger ledger = Ledger(vm.envAddress("LEDGER"));
    address who = vm.envAddress("WHO");
    require(who.balance == vm.envUint("WHO_BALANCE"), "balance");
    require(uint256(vm.load(address(ledger), 0)) == vm.envUint("TOTAL"), "total slot");
    require(ledger.owed(who) == vm.envUint("OWED"), "owed");
    require(keccak256(address(ledger).code) == vm.envBytes32("CODEHASH"), "code");
    require(block.number == vm.envUint("BLOCK"), "block.number");
    require(block.timestamp == vm.envUint("TIME"), "block.timestamp");
    require(block.chainid == 77077, "block.chainid");
  }

  function test_replaysAMinedTransaction() external {
    Ledger ledger = Ledger(vm.envAddress("LEDGER"));
    vm.rollFork(vm.envBytes32("TX"));
    require(ledger.total() == vm.envUint("TOTAL_BEFORE"), "total before the transaction");
    vm.transact(vm.envBytes32("TX"));
    require(ledger.total() == vm.envUint("TOTAL"), "total after the transaction");
  }
}
`

/** Four transactions from one broadcast: two creations and two calls. */
const BATCH_SCRIPT = `// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;
import {Ledger} from "../src/Ledger.sol";

interface Vm {
  function startBroadcast() external;
  function stopBroadcast() external;
}

contract Batch {
  Vm constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

  function run() external returns (uint256) {
    vm.startBroadcast();
    Ledger ledger = new Ledger();
    ledger.owe(3);
    new Ledger();
    ledger.owe(4);
    vm.stopBroadcast();
    return ledger.total();
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
  writeFileSync(join(project, 'src/Ledger.sol'), LEDGER)
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

/** What cast printed, on stdout and stderr, whether it exited 0 or not (`cast run` of a revert exits 1). */
async function castOutput(...args: string[]): Promise<string> {
  return run(CAST, args, { env, timeout: 60_000 }).then(
    ({ stdout, stderr }) => stdout + stderr,
    (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
  )
}

/** `cast age`'s format, `Fri Dec  4 05:17:46 2026 UTC`. */
function castDate(seconds: bigint): string {
  const date = new Date(Number(seconds) * 1000)
  const utc = date.toUTCString()
  const day = String(date.getUTCDate()).padStart(2, ' ')
  return `${utc.slice(0, 3)} ${utc.slice(8, 11)} ${day} ${date.toISOString().slice(11, 19)} ${date.getUTCFullYear()} UTC`
}

describe("foundry's daily commands against cairn", () => {
  const owner = DEV_ACCOUNTS[1]!
  const other = DEV_ACCOUNTS[2]!
  const scripter = DEV_ACCOUNTS[3]!
  let ledger: Hex
  let code: Hex
  /** The two `owe` transactions (5 from owner, 6 from other) and their receipts. */
  let owes: { hash: Hex; receipt: Record<string, string> }[]
  const url = () => ['--rpc-url', node.rpcUrl]
  const block = (tag: string) => rpc<Record<string, string>>(node.rpcUrl, 'eth_getBlockByNumber', [tag, false])

  it('cast estimate --create and cast send --create deploy; cast code, codesize and codehash agree', async () => {
    await run(FORGE, ['build', '--offline'], { cwd: project, env, timeout: 120_000 })
    const artifact = JSON.parse(readFileSync(join(project, 'out/Ledger.sol/Ledger.json'), 'utf8')) as {
      bytecode: { object: Hex }
    }
    const initcode = artifact.bytecode.object
    const estimate = BigInt(await cast('estimate', ...url(), '--from', owner.address, '--create', initcode))
    const created = JSON.parse(
      await cast('send', '--private-key', owner.privateKey, ...url(), '--json', '--create', initcode),
    ) as { status: string; contractAddress: Hex; gasUsed: string }
    expect(created.status).toBe('0x1')
    // geth's estimator stops once its bounds are within 1.5% of each other.
    expect(estimate).toBeGreaterThanOrEqual(BigInt(created.gasUsed))
    expect(estimate).toBeLessThanOrEqual((BigInt(created.gasUsed) * 1015n) / 1000n)
    ledger = created.contractAddress
    code = (await cast('code', ledger, ...url())) as Hex
    expect(code.length).toBeGreaterThan(2)
    expect(await cast('codesize', ledger, ...url())).toBe(String((code.length - 2) / 2))
    expect(await cast('codehash', ledger, ...url())).toBe(keccak256(code))
  })

  it('cast mktx, cast publish and cast tx --raw round-trip; cast run replays mined transactions and a revert', async () => {
    const owe = (account: (typeof DEV_ACCOUNTS)[number], amount: number) =>
      cast(
        'mktx',
        ledger,
        'owe(uint256)',
        String(amount),
        '--gas-limit',
        '100000',
        '--private-key',
        account.privateKey,
        ...url(),
      ) as Promise<Hex>
    const raws = [await owe(owner, 5), await owe(other, 6)]
    // One JSON-RPC batch, so both usually share a block and cast run must replay the first before the second:
    // the second's gas depends on it (the total goes 0 → 5 in the first, 5 → 11 in the second).
    const response = await fetch(node.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(
        raws.map((raw, id) => ({ jsonrpc: '2.0', id, method: 'eth_sendRawTransaction', params: [raw] })),
      ),
    })
    const sent = ((await response.json()) as { id: number; result: Hex }[]).sort((a, b) => a.id - b.id)
    expect(sent.map((answer) => answer.result)).toEqual(raws.map((raw) => keccak256(raw)))
    owes = await Promise.all(
      sent.map(async ({ result: hash }) => ({
        hash,
        receipt: JSON.parse(await cast('receipt', hash, ...url(), '--json')) as Record<string, string>,
      })),
    )
    expect(owes.map(({ receipt }) => receipt.status)).toEqual(['0x1', '0x1'])
    for (const [index, { hash, receipt }] of owes.entries()) {
      expect(await cast('tx', hash, '--raw', ...url())).toBe(raws[index])
      const replay = await castOutput('run', hash, ...url())
      expect(replay).toContain('Transaction successfully executed.')
      expect(replay).toContain(`Gas used: ${BigInt(receipt.gasUsed!)}`)
      expect(replay).toMatch(
        new RegExp(`amount: ${5 + index}\\b|topic 2: 0x${(5 + index).toString(16).padStart(64, '0')}`),
      )
    }

    const refusal = await cast(
      'mktx',
      ledger,
      'refuse()',
      '--gas-limit',
      '100000',
      '--private-key',
      owner.privateKey,
      ...url(),
    )
    const published = JSON.parse(await cast('publish', refusal, ...url())) as {
      transactionHash: Hex
      status: string
      gasUsed: string
    }
    expect(published.status).toBe('0x0')
    expect(await cast('tx', published.transactionHash, '--raw', ...url())).toBe(refusal)
    const replay = await castOutput('run', published.transactionHash, ...url())
    expect(replay).toContain('[Revert] ledger refuses')
    expect(replay).toContain('Transaction failed.')
    expect(replay).toContain(`Gas used: ${BigInt(published.gasUsed)}`)
  })

  it('cast logs filters by event signature, indexed arguments and block range', async () => {
    const signature = 'Owed(address indexed,uint256 indexed)'
    const logs = async (...args: string[]) =>
      (JSON.parse(await cast('logs', ...args, '--address', ledger, ...url(), '--json')) as { topics: Hex[] }[]).map(
        ({ topics }) => BigInt(topics[2]!),
      )
    expect(await logs(signature, '--from-block', '0')).toEqual([5n, 6n])
    expect(await logs(signature, other.address, '--from-block', '0')).toEqual([6n])
    expect(await logs(signature, '', '5', '--from-block', '0')).toEqual([5n])
    expect(
      await logs(keccak256(new TextEncoder().encode('Owed(address,uint256)')), '--from-block', 'earliest'),
    ).toEqual([5n, 6n])
    const last = BigInt(owes[1]!.receipt.blockNumber!)
    expect(await logs(signature, '--from-block', String(last), '--to-block', String(last))).toContain(6n)
    const first = BigInt(owes[0]!.receipt.blockNumber!)
    expect(await logs(signature, '--from-block', '0', '--to-block', String(first - 1n))).toEqual([])
  })

  it('cast storage (slots and the layout), cast proof and cast access-list read the same slots', async () => {
    const owedSlot = (who: string) => cast('index', 'address', who, '1')
    const otherSlot = await owedSlot(other.address)
    expect(BigInt(await cast('storage', ledger, '0', ...url()))).toBe(11n)
    expect(BigInt(await cast('storage', ledger, otherSlot, ...url()))).toBe(6n)
    // Without a slot cast reads the layout of the matching local artifact (no Etherscan: run in the project).
    const { stdout: layout } = await run(CAST, ['storage', ledger, ...url()], { cwd: project, env, timeout: 60_000 })
    expect(layout).toMatch(/\|\s*total\s*\|\s*uint256\s*\|\s*0\s*\|\s*0\s*\|\s*32\s*\|\s*11\s*\|/)

    const head = await block('latest')
    const proof = JSON.parse(await cast('proof', ledger, '0', otherSlot, '--block', head.number!, ...url())) as {
      codeHash: Hex
      storageHash: Hex
      nonce: string
      accountProof: Hex[]
      storageProof: { value: string; proof: Hex[] }[]
    }
    expect(keccak256(proof.accountProof[0]!)).toBe(head.stateRoot)
    expect(proof.codeHash).toBe(keccak256(code))
    expect(proof.nonce).toBe('0x1')
    expect(proof.storageProof.map(({ value }) => BigInt(value))).toEqual([11n, 6n])
    expect(keccak256(proof.storageProof[0]!.proof[0]!)).toBe(proof.storageHash)

    const { accessList } = JSON.parse(
      await cast('access-list', ledger, 'owe(uint256)', '1', '--from', owner.address, ...url(), '--json'),
    ) as { accessList: { address: string; storageKeys: string[] }[] }
    expect(accessList.map(({ address }) => address)).toEqual([ledger.toLowerCase()])
    expect(accessList[0]!.storageKeys.toSorted()).toEqual(
      [`0x${'0'.repeat(64)}`, await owedSlot(owner.address)].toSorted(),
    )
  })

  it('cast call --block and --trace, find-block, age, nonce --block pending, base-fee, gas-price and client', async () => {
    const first = BigInt(owes[0]!.receipt.blockNumber!)
    const last = BigInt(owes[1]!.receipt.blockNumber!)
    expect(await cast('call', ledger, 'total()(uint256)', '--block', String(first - 1n), ...url())).toBe('0')
    expect(await cast('call', ledger, 'total()(uint256)', '--block', String(last), ...url())).toBe('11')
    const trace = await castOutput('call', ledger, 'owe(uint256)', '7', '--from', owner.address, '--trace', ...url())
    expect(trace).toContain('Transaction successfully executed.')
    // cast names the event when it knows the signature (from the project's build), else prints its topics.
    expect(trace).toMatch(new RegExp(`amount: 7\\b|topic 2: 0x${'7'.padStart(64, '0')}`))

    const header = await block(`0x${last.toString(16)}`)
    expect(await cast('find-block', String(BigInt(header.timestamp!)), ...url())).toBe(String(last))
    expect(await cast('age', String(last), ...url())).toBe(castDate(BigInt(header.timestamp!)))
    expect(await cast('base-fee', String(last), ...url())).toBe(String(BigInt(header.baseFeePerGas!)))
    expect(BigInt(await cast('gas-price', ...url()))).toBeGreaterThanOrEqual(BigInt(header.baseFeePerGas!))
    expect(await cast('nonce', owner.address, '--block', 'pending', ...url())).toBe(
      await cast('nonce', owner.address, ...url()),
    )
    expect(await cast('client', ...url())).toMatch(/^cairn\//)
  })

  it('forge test --fork-url reads forked balances, storage, code and block, and replays a mined transaction', async () => {
    const [, second] = owes
    const number = BigInt(second!.receipt.blockNumber!)
    const header = await block(`0x${number.toString(16)}`)
    mkdirSync(join(project, 'test'), { recursive: true })
    writeFileSync(join(project, 'test/Fork.t.sol'), FORK_TEST)
    const forkEnv = {
      LEDGER: ledger,
      WHO: other.address,
      WHO_BALANCE: String(BigInt(await rpc<string>(node.rpcUrl, 'eth_getBalance', [other.address, header.number]))),
      TOTAL: '11',
      OWED: '6',
      CODEHASH: keccak256(code),
      BLOCK: String(number),
      TIME: String(BigInt(header.timestamp!)),
      TX: second!.hash,
      TOTAL_BEFORE: '5',
    }
    const { stdout } = await run(
      FORGE,
      ['test', '--match-path', 'test/Fork.t.sol', '--fork-url', node.rpcUrl, '--fork-block-number', String(number)],
      // No fork cache in ~/.foundry: every dev chain has chain id 77077.
      { cwd: project, env: { ...env, ...forkEnv, FOUNDRY_NO_STORAGE_CACHING: 'true' }, timeout: 120_000 },
    )
    expect(stdout).toContain('[PASS] test_readsForkedState()')
    expect(stdout).toContain('[PASS] test_replaysAMinedTransaction()')
  })

  it('forge script simulates without sending, then broadcasts four transactions with --slow', async () => {
    writeFileSync(join(project, 'script/Batch.s.sol'), BATCH_SCRIPT)
    const script = (...args: string[]) =>
      run(FORGE, ['script', 'script/Batch.s.sol', ...url(), '--private-key', scripter.privateKey, ...args], {
        cwd: project,
        env,
        timeout: 120_000,
      })
    const nonce = Number(await cast('nonce', scripter.address, ...url()))
    const simulated = await script()
    expect(simulated.stdout).toContain('SIMULATION COMPLETE')
    expect(simulated.stdout).toMatch(/0: uint256 7\b/)
    expect(Number(await cast('nonce', scripter.address, ...url()))).toBe(nonce)

    await script('--broadcast', '--slow')
    const broadcast = JSON.parse(
      readFileSync(join(project, 'broadcast/Batch.s.sol/77077/run-latest.json'), 'utf8'),
    ) as { transactions: { contractAddress: string | null }[]; receipts: { status: string; blockNumber: string }[] }
    expect(broadcast.receipts.map(({ status }) => status)).toEqual(['0x1', '0x1', '0x1', '0x1'])
    // --slow sends each transaction once the one before is mined.
    const blocks = broadcast.receipts.map(({ blockNumber }) => BigInt(blockNumber))
    for (let i = 1; i < blocks.length; i++) expect(blocks[i]!).toBeGreaterThan(blocks[i - 1]!)
    expect(Number(await cast('nonce', scripter.address, ...url()))).toBe(nonce + 4)
    const created = broadcast.transactions[0]!.contractAddress!
    expect(await cast('call', created, 'total()(uint256)', ...url())).toBe('7')
  })
})
