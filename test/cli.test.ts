import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
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
