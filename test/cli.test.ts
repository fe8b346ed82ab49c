import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { DEV_ACCOUNTS } from '@cairn/primitives'
import { afterAll, describe, expect, it } from 'vitest'
import {
  CAIRN_BIN as CAIRN,
  REPO_ROOT,
  type RunningNode,
  type StartNodeOptions,
  freePort,
  rpc,
  signDevTransfer,
  startNode,
} from './src/node-process.ts'

const run = promisify(execFile)
const dirs: string[] = []
const nodes: RunningNode[] = []

afterAll(async () => {
  for (const node of nodes) await node.cleanup()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

/**
 * Runs a bin with node, expecting it to fail: its exit code and stderr (undefined if it succeeded). One
 * that is still running after a minute is killed (code null), so a start that should fail and does not
 * fails the test rather than hanging it.
 */
function runFailing(args: string[], env: Record<string, string>) {
  return run(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000 }).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  )
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-e2e-cli-'))
  dirs.push(dir)
  return dir
}

/**
 * A start that fails as an operator should see it: the exit code, the reason as the last stderr line
 * (`cairn: ...`), after the fatal log line with its code, and no stack trace.
 */
function expectRefusal(
  failure: { code: number; stderr: string } | undefined,
  expected: { exitCode: number; code: string; line: string | RegExp },
) {
  expect(failure, 'the start should fail').toBeDefined()
  const lines = failure!.stderr.trimEnd().split('\n')
  expect(failure!.code, failure!.stderr).toBe(expected.exitCode)
  if (typeof expected.line === 'string') expect(lines.at(-1)).toBe(expected.line)
  else expect(lines.at(-1)).toMatch(expected.line)
  expect(lines.at(-2)).toContain(`"code":"${expected.code}"`)
  expect(failure!.stderr).not.toMatch(/^\s+at /m)
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Every file of a directory and its bytes, to show a refused start left a datadir as it was. */
function snapshot(dir: string, skip: RegExp = /^$/): Record<string, string> {
  const files: Record<string, string> = {}
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    if (skip.test(name)) continue
    try {
      files[name] = readFileSync(join(dir, name)).toString('base64')
    } catch {
      // a directory
    }
  }
  return files
}

/** The command prefix that runs a process as nobody, if util-linux's setpriv is there. */
function setprivNobody(): string[] | undefined {
  const asNobody = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
  try {
    // nobody must reach the checkout too: a clone under a private directory (mktemp -d's 0700) is out of its reach.
    execFileSync(
      asNobody[0]!,
      [...asNobody.slice(1), process.execPath, '-e', `require('fs').accessSync(${JSON.stringify(CAIRN)})`],
      {
        stdio: 'ignore',
      },
    )
    return asNobody
  } catch {
    return undefined
  }
}

interface DevChain {
  datadir: string
  head: { number: string; hash: string }
}

/**
 * A dev chain with a transfer in a block (`head`), made once by a real node and copied by each case that
 * damages it. Its data is still in LevelDB's log. (A `--block-time 0` node seals a block as it starts, so
 * later starts add blocks after `head`.)
 */
let logChain: Promise<DevChain> | undefined
function devChainInLog(): Promise<DevChain> {
  logChain ??= (async () => {
    const datadir = tempDir()
    const node = await startNode({ datadir, blockTime: 0 })
    nodes.push(node)
    const hash = await rpc<string>(node.rpcUrl, 'eth_sendRawTransaction', [await signDevTransfer(0)])
    let receipt: { blockNumber: string; blockHash: string } | null = null
    while (receipt === null) {
      await new Promise((r) => setTimeout(r, 100))
      receipt = await rpc(node.rpcUrl, 'eth_getTransactionReceipt', [hash])
    }
    await node.stop()
    return { datadir, head: { number: receipt.blockNumber, hash: receipt.blockHash } }
  })()
  return logChain
}

/** A copy of a chain (its head checked), as it is after a node opened it again: its data is in a LevelDB table. */
let tableChain: Promise<DevChain> | undefined
function devChainInTable(): Promise<DevChain> {
  tableChain ??= (async () => {
    const chain = await devChainInLog()
    const datadir = copyDatadir(chain.datadir)
    await expectHead(datadir, chain.head)
    expect(readdirSync(join(datadir, 'chaindata')).some((name) => name.endsWith('.ldb'))).toBe(true)
    return { datadir, head: chain.head }
  })()
  return tableChain
}

function copyDatadir(datadir: string): string {
  const copy = join(tempDir(), 'datadir')
  cpSync(datadir, copy, { recursive: true })
  return copy
}

/** Starts a node on the datadir and checks it serves the chain that has this block. */
async function expectHead(datadir: string, head: DevChain['head']) {
  const node = await startNode({ datadir, blockTime: 0 })
  nodes.push(node)
  await expectBlock(node.rpcUrl, head)
  await node.stop()
}

async function expectBlock(rpcUrl: string, head: DevChain['head']) {
  const block = await rpc<DevChain['head'] | null>(rpcUrl, 'eth_getBlockByNumber', [head.number, false])
  expect(block?.hash).toBe(head.hash)
}

describe('cairn as an operator runs it', () => {
  it('--help lists the node settings with their env names and defaults', async () => {
    // The bin itself, executed through its `#!/usr/bin/env -S node <flags>` line, as npx and a shell run it.
    const { stdout } = await run(CAIRN, ['--help'], { cwd: REPO_ROOT })
    for (const flag of ['--datadir', '--dev', '--block-time', '--http.port', '--rpc.batch-limit', '--metrics.port'])
      expect(stdout).toContain(flag)
    expect(stdout).toContain('CAIRN_BLOCK_TIME')
  })

  it('refuses a bad setting with exit code 2 and a message naming the setting and the value', async () => {
    const failure = await startNode({ extraArgs: ['--block-time', '-1'] }).then(
      () => undefined,
      (error: Error) => error,
    )
    expect(failure).toBeInstanceOf(Error)
    expect(failure!.message).toContain('exited (code 2')
    expect(failure!.message).toContain('--block-time')
    expect(failure!.message).toContain('"-1"')
  })

  it('serves Prometheus metrics, stops cleanly on SIGTERM and refuses a datadir whose chain has another genesis', async () => {
    const datadir = tempDir()
    const metricsPort = await freePort()
    const node = await startNode({ datadir, blockTime: 1, extraArgs: ['--metrics.port', String(metricsPort)] })
    nodes.push(node)
    expect(await rpc(node.rpcUrl, 'eth_chainId')).toBe('0x12d15')
    await rpc(node.rpcUrl, 'eth_blockNumber')
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
    expect(metrics).toMatch(/^cairn_chain_head\{head="latest"\} \d+$/m)
    expect(metrics).toContain('cairn_rpc_request_seconds')
    await node.stop()
    expect(node.process.exitCode).toBe(0)
    expect(node.logs()).toContain('"msg":"node stopped"')

    const { stdout } = await run(process.execPath, [CAIRN, 'dev-genesis'], { cwd: REPO_ROOT })
    const genesis = JSON.parse(stdout) as { extraData?: string }
    genesis.extraData = '0x1234'
    const genesisFile = join(tempDir(), 'genesis.json')
    writeFileSync(genesisFile, JSON.stringify(genesis))
    const failure = await startNode({ datadir, extraArgs: ['--genesis', genesisFile] }).then(
      () => undefined,
      (error: Error) => error,
    )
    expect(failure?.message).toContain('exited (code 1')
    expect(failure?.message).toContain(`the datadir ${datadir} holds a chain with genesis`)
    expect(failure?.message).toContain(`but --genesis ${genesisFile} asks for genesis`)
  })

  it('refuses --dev on a datadir of another chain, naming both genesis hashes and chain ids, and keeps serving it with its own genesis', async () => {
    const { stdout } = await run(process.execPath, [CAIRN, 'dev-genesis'], { cwd: REPO_ROOT })
    const genesis = JSON.parse(stdout) as { config: { chainId: number } }
    // The chain id is not in the genesis block: only the genesis.json saved beside the chain tells them apart.
    genesis.config.chainId = 1234
    const genesisFile = join(tempDir(), 'genesis.json')
    writeFileSync(genesisFile, JSON.stringify(genesis))
    const datadir = tempDir()
    const first = await startNode({ datadir, extraArgs: ['--genesis', genesisFile] })
    nodes.push(first)
    const { hash } = await rpc<{ hash: string }>(first.rpcUrl, 'eth_getBlockByNumber', ['0x0', false])
    await first.stop()

    const failure = await runFailing([CAIRN, 'node', '--dev', '--datadir', datadir, '--http.port', '0'], {})
    expect(failure?.code).toBe(1)
    expect(failure?.stderr).toContain('"code":"GENESIS_MISMATCH"')
    expect(failure?.stderr).toContain(
      `cairn: the datadir ${datadir} holds a chain with genesis ${hash} (chain id 1234), but --dev asks for genesis ${hash} (chain id 77077); use another --datadir, or remove ${datadir} to start over, or start with --genesis ${join(datadir, 'genesis.json')} to serve the chain it holds\n`,
    )

    const again = await startNode({ datadir, extraArgs: ['--genesis', join(datadir, 'genesis.json')] })
    nodes.push(again)
    expect(await rpc(again.rpcUrl, 'eth_chainId')).toBe('0x4d2')
    await again.stop()
  })

  it('refuses a datadir whose saved genesis.json is damaged (it names the chain), with or without --dev, and changes nothing', async () => {
    const chain = await devChainInLog()
    const cases = [
      {
        args: [],
        damage: (file: string) => truncateSync(file, 100),
        problem: 'is not valid JSON (Unterminated string in JSON at position 100)',
      },
      {
        args: ['--dev'],
        damage: (file: string) => writeFileSync(file, '{}\n'),
        problem: 'is not a valid genesis: genesis.config is missing',
      },
    ]
    await Promise.all(
      cases.map(async ({ args, damage, problem }) => {
        const datadir = copyDatadir(chain.datadir)
        const saved = join(datadir, 'genesis.json')
        damage(saved)
        const before = snapshot(datadir)
        const failure = await runFailing([CAIRN, 'node', ...args, '--datadir', datadir, '--http.port', '0'], {})
        expectRefusal(failure, {
          exitCode: 1,
          code: 'SAVED_GENESIS_CORRUPT',
          line: `cairn: the datadir's ${saved} ${problem}; it records which chain the datadir holds: restore it from a backup, or remove it and start with --genesis FILE (the chain's genesis file) to write it again`,
        })
        expect(snapshot(datadir)).toEqual(before)
      }),
    )
  })

  it('refuses --genesis FILE that is missing, not JSON or not a genesis as a bad setting (exit code 2), naming the file', async () => {
    const dir = tempDir()
    const devGenesis = JSON.parse((await run(process.execPath, [CAIRN, 'dev-genesis'], { cwd: REPO_ROOT })).stdout)
    writeFileSync(join(dir, 'not-json.json'), '{"config": {"chainId": 5,\n')
    writeFileSync(join(dir, 'no-alloc.json'), JSON.stringify({ ...devGenesis, alloc: undefined }))
    const hint = "give the chain's genesis file (geth's format)"
    const cases: Array<[string, string | RegExp]> = [
      ['missing.json', 'cannot be read: no such file; check the path'],
      ['not-json.json', new RegExp(`is not valid JSON \\(.+\\); ${escapeRegExp(hint)}$`)],
      ['no-alloc.json', `is not a valid genesis: genesis.alloc must be an object; ${hint}`],
    ]
    await Promise.all(
      cases.map(async ([name, problem]) => {
        const genesis = join(dir, name)
        const args = [CAIRN, 'node', '--genesis', genesis, '--datadir', tempDir(), '--http.port', '0']
        const failure = await runFailing(args, {})
        const prefix = `cairn: --genesis ${genesis} `
        expectRefusal(failure, {
          exitCode: 2,
          code: 'INVALID_CONFIG',
          line:
            typeof problem === 'string'
              ? `${prefix}${problem}`
              : new RegExp(`^${escapeRegExp(prefix)}${problem.source}`),
        })
      }),
    )
  })

  it('refuses a datadir another node is using, naming the datadir, and the running node keeps serving it', async () => {
    const chain = await devChainInLog()
    const datadir = copyDatadir(chain.datadir)
    const first = await startNode({ datadir, blockTime: 0 })
    nodes.push(first)
    const failure = await runFailing([CAIRN, 'node', '--dev', '--datadir', datadir, '--http.port', '0'], {})
    expectRefusal(failure, {
      exitCode: 1,
      code: 'DATADIR_LOCKED',
      line: `cairn: the datadir ${datadir} is in use by another process (its database ${join(datadir, 'chaindata')} is locked): stop the other cairn node, or choose another --datadir`,
    })
    await expectBlock(first.rpcUrl, chain.head)
    await first.stop()
    expect(first.process.exitCode).toBe(0)
  })

  it('refuses a datadir that is a file, or under a file, naming it', async () => {
    const file = join(tempDir(), 'datadir')
    writeFileSync(file, 'not a directory\n')
    const [isFile, underFile] = await Promise.all(
      [file, join(file, 'sub')].map((datadir) =>
        runFailing([CAIRN, 'node', '--dev', '--datadir', datadir, '--http.port', '0'], {}),
      ),
    )
    expectRefusal(isFile, {
      exitCode: 1,
      code: 'DATADIR_UNUSABLE',
      line: `cairn: cannot use --datadir ${file}: it is a file, not a directory; choose another --datadir`,
    })
    expectRefusal(underFile, {
      exitCode: 1,
      code: 'DATADIR_UNUSABLE',
      line: `cairn: cannot use --datadir ${join(file, 'sub')}: ENOTDIR: not a directory, stat '${join(file, 'sub')}'; choose another --datadir`,
    })
    expect(readFileSync(file, 'utf8')).toBe('not a directory\n')
  })

  // Root may write any directory, so as root the node runs as nobody (util-linux's setpriv); a root run
  // without setpriv, or in a checkout nobody cannot read, cannot show the refusal and skips this case.
  const asNobody = process.getuid?.() === 0 ? setprivNobody() : []
  it.skipIf(asNobody === undefined)(
    'refuses a datadir this user cannot write (chmod 555), naming it and what to do',
    async () => {
      const parent = tempDir()
      const datadir = join(parent, 'datadir')
      cpSync((await devChainInLog()).datadir, datadir, { recursive: true })
      if (asNobody!.length > 0) {
        chmodSync(parent, 0o755)
        execFileSync('chown', ['-R', '65534:65534', datadir])
      }
      chmodSync(datadir, 0o555)
      const before = snapshot(datadir)
      const [command, ...prefix] = [...asNobody!, process.execPath]
      const failure = await run(
        command!,
        [...prefix, CAIRN, 'node', '--dev', '--datadir', datadir, '--http.port', '0'],
        {
          cwd: REPO_ROOT,
          timeout: 60_000,
        },
      ).then(
        () => undefined,
        (error: { code: number; stderr: string }) => error,
      )
      const uid = asNobody!.length > 0 ? 65534 : process.getuid!()
      expectRefusal(failure, {
        exitCode: 1,
        code: 'DATADIR_UNUSABLE',
        line: `cairn: cannot use --datadir ${datadir}: ${datadir} is not writable by this user (uid ${uid}); give the user write access to the datadir (chown, chmod), or choose another --datadir`,
      })
      expect(snapshot(datadir)).toEqual(before)
      chmodSync(datadir, 0o755)
    },
  )

  it('refuses a chain database without its CURRENT file, leaving every file as it was (it opens again once restored)', async () => {
    const chain = await devChainInTable()
    const datadir = copyDatadir(chain.datadir)
    const current = join(datadir, 'chaindata', 'CURRENT')
    const saved = readFileSync(current)
    rmSync(current)
    const before = snapshot(datadir)
    // LevelDB alone would start an empty database here and delete the old tables.
    const failure = await runFailing([CAIRN, 'node', '--dev', '--datadir', datadir, '--http.port', '0'], {})
    expectRefusal(failure, {
      exitCode: 1,
      code: 'DATABASE_CORRUPT',
      line: `cairn: the chain database in the datadir ${datadir} is damaged (its tables are there but its CURRENT file is missing); the node does not start a new chain over it: restore the datadir from a backup, or start over with another --datadir (or remove ${join(datadir, 'chaindata')}) and sync the chain again`,
    })
    expect(snapshot(datadir)).toEqual(before)
    writeFileSync(current, saved)
    await expectHead(datadir, chain.head)
  })

  it('refuses a chain database with a damaged manifest or table, or whose log lost the chain, and starts no new chain over it', async () => {
    const damaged = (datadir: string, reason: string) =>
      `cairn: the chain database in the datadir ${datadir} is damaged (${reason}); the node does not start a new chain over it: restore the datadir from a backup, or start over with another --datadir (or remove ${join(datadir, 'chaindata')}) and sync the chain again`
    const garbage = (file: string, from: number, length: number) => {
      const bytes = readFileSync(file)
      bytes.fill(0xa5, from, Math.min(bytes.length, from + length))
      writeFileSync(file, bytes)
    }
    const inTable = await devChainInTable()
    const inLog = await devChainInLog()
    // When LevelDB opens a database it may write its own files (LOG, CURRENT, a new manifest, log and
    // table); the tables that hold the chain and the datadir's other files stay as they were.
    const notTables = /^chaindata\/(?!\d+\.ldb$)/
    const cases = [
      {
        chain: inTable,
        damage: (chaindata: string) => {
          const manifest = readdirSync(chaindata).find((name) => name.startsWith('MANIFEST-'))!
          garbage(join(chaindata, manifest), 0, 64)
        },
        reason: /^Corruption: [^;]+$/,
        kept: /^chaindata\/(LOG|LOCK)/,
      },
      {
        chain: inTable,
        damage: (chaindata: string) =>
          garbage(join(chaindata, readdirSync(chaindata).find((name) => name.endsWith('.ldb'))!), 0, 4096),
        reason: /^Corruption: [^;]+$/,
        kept: notTables,
      },
      {
        // LevelDB drops a log record it cannot read: the database opens empty, but the datadir held a chain.
        chain: inLog,
        damage: (chaindata: string) =>
          garbage(join(chaindata, readdirSync(chaindata).find((name) => name.endsWith('.log'))!), 0, 1 << 20),
        reason: 'it has no chain head, though the datadir held a chain',
        kept: /^chaindata\//,
      },
    ]
    await Promise.all(
      cases.map(async ({ chain, damage, reason, kept }) => {
        const datadir = copyDatadir(chain.datadir)
        damage(join(datadir, 'chaindata'))
        const before = snapshot(datadir, kept)
        const failure = await runFailing([CAIRN, 'node', '--dev', '--datadir', datadir, '--http.port', '0'], {})
        const line = failure?.stderr.trimEnd().split('\n').at(-1) ?? ''
        const shown = /is damaged \((.*)\); the node does not/.exec(line)?.[1] ?? ''
        if (typeof reason === 'string') expect(shown).toBe(reason)
        else expect(shown).toMatch(reason)
        expectRefusal(failure, { exitCode: 1, code: 'DATABASE_CORRUPT', line: damaged(datadir, shown) })
        expect(failure?.stderr).not.toContain('initialized chain from genesis')
        expect(snapshot(datadir, kept)).toMatchObject(before)
      }),
    )
  })

  it('refuses a port another process holds with exit code 1, naming the setting that chooses it', async () => {
    // Answers 503, so polling the node's RPC URL (the held port in the first case) fails fast.
    const holder = createServer((_request, response) => response.writeHead(503).end())
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const held = (holder.address() as AddressInfo).port
    try {
      const cases: Array<[StartNodeOptions, string]> = [
        [{ port: held }, '--http.port'],
        [{ extraArgs: ['--p2p.port', String(held)] }, '--p2p.port'],
        [{ extraArgs: ['--metrics.port', String(held)] }, '--metrics.port'],
      ]
      for (const [options, setting] of cases) {
        // The node exits by itself: what it had started before the failed bind is closed again.
        const failure = await startNode(options).then(
          () => undefined,
          (error: Error) => error,
        )
        expect(failure?.message, setting).toContain('exited (code 1')
        expect(failure?.message, setting).toContain(`address already in use 127.0.0.1:${held}`)
        expect(failure?.message, setting).toContain(`choose another with ${setting}`)
      }
    } finally {
      holder.close()
    }
  })

  it('refuses a listen address that cannot be one (exit code 2) or that does not resolve (exit code 1), naming the setting', async () => {
    const node = [CAIRN, 'node', '--dev', '--http.port', String(await freePort())]
    const malformed = await runFailing([...node, '--datadir', tempDir(), '--http.addr', '127.0.0.1:8545'], {})
    expect(malformed?.code).toBe(2)
    expect(malformed?.stderr).toBe(
      'cairn: invalid value "127.0.0.1:8545" for --http.addr (from flag --http.addr): must be an IP address (127.0.0.1, 0.0.0.0 for every interface, ::1) or a host name such as localhost, without a port\n',
    )
    // A host name is resolved when the server binds, as geth does; `.invalid` never resolves (RFC 6761).
    const unresolved = await runFailing([...node, '--datadir', tempDir(), '--http.addr', 'notanip.invalid'], {})
    expect(unresolved?.code).toBe(1)
    expect(unresolved?.stderr).toContain('"code":"LISTEN_FAILED"')
    expect(unresolved?.stderr).toMatch(
      /\ncairn: JSON-RPC cannot listen on notanip\.invalid port \d+: getaddrinfo \w+ notanip\.invalid \(.*\); set --http\.addr to an IP address or a host name that resolves\n$/,
    )
    expect(unresolved?.stderr).not.toMatch(/^\s+at /m)
  })

  it('warns at start about each CAIRN_* variable the binary does not read, naming the one probably meant', async () => {
    /** The UNREAD_ENV warnings among a binary's log lines, for the variables this test sets. */
    const unread = (logs: string, names: string[]) =>
      logs
        .split('\n')
        .filter((line) => line.includes('"code":"UNREAD_ENV"'))
        .map((line) => JSON.parse(line) as { level: number; env: string; closest?: string; msg: string })
        .filter((warning) => names.includes(warning.env))
    // Keys are read beside the settings table, and the benchmarks' variables reach the nodes they start.
    const read = {
      CAIRN_PRECONF_KEY: DEV_ACCOUNTS[0]!.privateKey,
      CAIRN_PROPOSER_KEY: DEV_ACCOUNTS[1]!.privateKey,
      CAIRN_BENCH_WARMUP: '10',
    }
    const node = await startNode({ env: { ...read, CAIRN_BLOCKTIME: '1' } })
    nodes.push(node)
    expect(unread(node.logs(), ['CAIRN_BLOCKTIME', ...Object.keys(read)])).toEqual([
      {
        level: 40,
        time: expect.any(Number),
        pid: node.process.pid,
        name: 'cairn',
        code: 'UNREAD_ENV',
        env: 'CAIRN_BLOCKTIME',
        closest: 'CAIRN_BLOCK_TIME',
        msg: 'env CAIRN_BLOCKTIME is not read by cairn node and has no effect; did you mean CAIRN_BLOCK_TIME?',
      },
    ])
    await node.stop()

    const l1 = [
      '--l1.rpc',
      'http://127.0.0.1:9',
      '--l2.rpc',
      'http://127.0.0.1:9',
      '--l1.inbox',
      `0x${'11'.repeat(20)}`,
    ]
    const proposer = await runFailing([join(REPO_ROOT, 'apps/proposer/bin/cairn-proposer.js'), ...l1], {
      CAIRN_PROPOSER_KEY: DEV_ACCOUNTS[1]!.privateKey,
      CAIRN_PROPOSER_MAXBLOBS: '3',
      CAIRN_PROPOSER_DATADIR: tempDir(),
    })
    expect(
      unread(proposer!.stderr, ['CAIRN_PROPOSER_KEY', 'CAIRN_PROPOSER_MAXBLOBS']).map((w) => [w.env, w.closest]),
    ).toEqual([['CAIRN_PROPOSER_MAXBLOBS', 'CAIRN_PROPOSER_MAX_BLOBS']])
    const prover = await runFailing([join(REPO_ROOT, 'apps/prover-tee/bin/cairn-prover-tee.js'), ...l1], {
      CAIRN_PROVER_KEY: DEV_ACCOUNTS[2]!.privateKey,
      CAIRN_ATTESTATION_AUTHORITY_KEY: DEV_ACCOUNTS[3]!.privateKey,
      CAIRN_PROVER_DATADIR: tempDir(),
      CAIRN_PROVER_POLL_INTERVALL: '1',
    })
    const proverVars = ['CAIRN_PROVER_KEY', 'CAIRN_ATTESTATION_AUTHORITY_KEY', 'CAIRN_PROVER_POLL_INTERVALL']
    expect(unread(prover!.stderr, proverVars).map((w) => [w.env, w.closest])).toEqual([
      ['CAIRN_PROVER_POLL_INTERVALL', 'CAIRN_PROVER_POLL_INTERVAL'],
    ])
  })

  it('refuses --based without an L1 to propose to, or without the proposer key, naming what to set', async () => {
    const env = { CAIRN_PROPOSER_KEY: '' }
    const noL1 = await runFailing([CAIRN, 'node', '--based', '--dev', '--datadir', tempDir()], env)
    expect(noL1?.code).toBe(1)
    expect(noL1?.stderr).toContain('"code":"BASED_NEEDS_L1"')
    expect(noL1?.stderr).toContain('cairn: --based proposes the node’s blocks to the L1 Inbox: set --l1.rpc URL')

    const args = ['node', '--based', '--dev', '--datadir', tempDir(), '--l1.rpc', 'http://127.0.0.1:9']
    const noKey = await runFailing([CAIRN, ...args, '--l1.inbox', `0x${'11'.repeat(20)}`], env)
    expect(noKey?.code).toBe(1)
    expect(noKey?.stderr).toContain('"code":"BASED_NEEDS_KEY"')
    expect(noKey?.stderr).toContain('set CAIRN_PROPOSER_KEY or --proposer.key-file FILE')

    // With everything set but an L1 that does not answer, the start fails on its first L1 read.
    const deadL1 = await runFailing([CAIRN, ...args, '--l1.inbox', `0x${'11'.repeat(20)}`], {
      CAIRN_PROPOSER_KEY: DEV_ACCOUNTS[1]!.privateKey,
    })
    expect(deadL1?.code).toBe(1)
    expect(deadL1?.stderr).toContain('"code":"L1_UNREACHABLE"')
    expect(deadL1?.stderr).toContain('the L1 at http://127.0.0.1:9 did not answer')
  })

  it('cairn-prover-tee refuses a --metrics.addr that cannot be an address, and its `instance` warns on stderr about CAIRN_* variables it does not read', async () => {
    const prover = join(REPO_ROOT, 'apps/prover-tee/bin/cairn-prover-tee.js')
    const rpcs = ['--l1.rpc', 'http://127.0.0.1:9', '--l2.rpc', 'http://127.0.0.1:9']
    const [malformed, instance] = await Promise.all([
      runFailing([prover, ...rpcs, '--metrics.addr', '127.0.0.1:9100', '--datadir', tempDir()], {}),
      // A mistyped CAIRN_PROVER_DATADIR would print the key of another datadir; the service's own variables are read.
      run(process.execPath, [prover, 'instance', '--datadir', tempDir()], {
        cwd: REPO_ROOT,
        env: { ...process.env, CAIRN_PROVER_DATADIRR: tempDir(), CAIRN_PROVER_L1_RPC: 'http://127.0.0.1:9' },
      }),
    ])
    expect(malformed?.code).toBe(2)
    expect(malformed?.stderr).toBe(
      'cairn-prover-tee: invalid value "127.0.0.1:9100" for --metrics.addr (from flag --metrics.addr): must be an IP address (127.0.0.1, 0.0.0.0 for every interface, ::1) or a host name such as localhost, without a port\n',
    )
    expect(instance.stdout).toMatch(/^0x[0-9a-fA-F]{40}\n$/)
    const warnings = instance.stderr
      .split('\n')
      .filter((line) => line.includes('"code":"UNREAD_ENV"'))
      .map((line) => JSON.parse(line) as { env: string; closest?: string })
      .filter((warning) => warning.env.startsWith('CAIRN_PROVER_'))
    expect(warnings.map((warning) => [warning.env, warning.closest])).toEqual([
      ['CAIRN_PROVER_DATADIRR', 'CAIRN_PROVER_DATADIR'],
    ])
  })

  it('cairn-proposer and cairn-prover-tee refuse an L1 that does not answer with exit code 1, naming --l1.rpc', async () => {
    const rpcs = ['--l1.rpc', 'http://127.0.0.1:9', '--l2.rpc', 'http://127.0.0.1:9']
    // The addresses from --l1.inbox or from the deploy script's file (which names the ForcedInclusionStore too).
    const deployment = join(tempDir(), 'l1-deployment.json')
    writeFileSync(
      deployment,
      JSON.stringify({ inbox: `0x${'11'.repeat(20)}`, forcedInclusionStore: `0x${'22'.repeat(20)}` }),
    )
    const addressSettings = [
      ['--l1.inbox', `0x${'11'.repeat(20)}`],
      ['--l1.deployment', deployment],
    ]
    const services: Array<{ bin: string; env: Record<string, string> }> = [
      { bin: 'apps/proposer/bin/cairn-proposer.js', env: { CAIRN_PROPOSER_KEY: DEV_ACCOUNTS[1]!.privateKey } },
      {
        bin: 'apps/prover-tee/bin/cairn-prover-tee.js',
        env: {
          CAIRN_PROVER_KEY: DEV_ACCOUNTS[2]!.privateKey,
          CAIRN_ATTESTATION_AUTHORITY_KEY: DEV_ACCOUNTS[3]!.privateKey,
        },
      },
    ]
    for (const { bin, env } of services) {
      for (const addresses of addressSettings) {
        const failure = await runFailing([join(REPO_ROOT, bin), ...rpcs, ...addresses, '--datadir', tempDir()], env)
        const what = `${bin} ${addresses[0]}`
        expect(failure?.code, what).toBe(1)
        expect(failure?.stderr, what).toMatch(/^cairn-[a-z-]+: cannot read the Inbox's \w+/m)
        expect(failure?.stderr, what).toContain('the L1 at http://127.0.0.1:9 did not answer')
        expect(failure?.stderr, what).toContain('check --l1.rpc')
      }
    }
  })
})
