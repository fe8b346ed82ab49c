// The local devnet as a library: anvil L1 with blobs, the L1 suite, a sequencer node, follower nodes
// the proposer and the TEE prover, each a real process (with `basedNode`, the block producer is a `cairn node --based`
// that proposes its own blocks, and there is no proposer process). `npm run devnet` (devnet.ts) and the
// end-to-end tests both start it through `startDevnet`.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { anvilBinaryPath, freePort, portIsFree } from '@cairn/anvil'
import { CairnError, DEV_ACCOUNTS, DEV_CHAIN_ID, DEV_MNEMONIC, type GenesisAccount, type Hex } from '@cairn/primitives'
import type { DeployConfig } from './config.ts'
import {
  answersRpc,
  CAIRN_NODE_ARGS,
  createManagedProcess,
  jsonRpc,
  type ManagedProcess,
  REPO_ROOT,
} from './devnet-process.ts'
import type { L1Deployment } from './l1.ts'

export { REPO_ROOT } from './devnet-process.ts'
export const DEFAULT_DEVNET_DIR = join(REPO_ROOT, '.devnet')
const PROPOSER_BIN = join(REPO_ROOT, 'apps/proposer/bin/cairn-proposer.js')
const PROVER_BIN = join(REPO_ROOT, 'apps/prover-tee/bin/cairn-prover-tee.js')
const LOCAL_CONFIG = join(REPO_ROOT, 'deploy/config/local.json')

/** Who holds which dev key (all from the `test … junk` mnemonic, funded on L1 by anvil and on L2 by the genesis). */
export const DEVNET_ROLES = {
  /** Deploys the L1 suite; also the timelock's proposer and executor in config/local.json. */
  deployer: DEV_ACCOUNTS[0]!,
  /** Runs cairn-proposer (or is the key of the `--based` node); the only preconfer in the whitelist. */
  proposer: DEV_ACCOUNTS[1]!,
  /** Signs TEE attestation quotes (the stub attestation verifier's authority). */
  attestationAuthority: DEV_ACCOUNTS[2]!,
  /** Sends cairn-prover-tee's proofs (the instance key it signs them with lives in its datadir). */
  prover: DEV_ACCOUNTS[3]!,
} as const

export interface DevnetOptions {
  /** Where state, logs and devnet.json live (default `<repo>/.devnet`). */
  dir?: string
  /** Remove `dir` and start over; otherwise a restart reuses the chains of the previous run. */
  fresh?: boolean
  /** Seconds between L1 blocks (default 1). */
  l1BlockTime?: number
  /** L1 `safe` trails latest by this many blocks and `finalized` by twice as many (default 4). */
  slotsInAnEpoch?: number
  /** Seconds between L2 blocks on the sequencer (default 2). */
  l2BlockTime?: number
  /** Number of follower nodes (default 1). */
  followers?: number
  /** Anyone may propose (Inbox `basedMode`); otherwise only the proposer key (the whitelisted preconfer). */
  basedMode?: boolean
  /**
   * The L2 block producer is a `cairn node --based`: it builds blocks from its mempool and proposes them
   * to L1 itself with the proposer key; no cairn-proposer process runs. Implies `basedMode`.
   */
  basedNode?: boolean
  /**
   * Start the proposer with the rest (default true); its handle exists either way (never started with
   * `basedNode`). False with `basedNode`: the block producer runs `--sequencer` and nobody proposes.
   */
  startProposer?: boolean
  /**
   * Ports (the sequencer's JSON-RPC and p2p, the followers' JSON-RPC); unset ones are taken from a
   * previous run's devnet.json, else picked free. A restart may move any of them: the chains are kept.
   */
  ports?: { l1?: number; sequencer?: number; sequencerP2p?: number; followers?: number[] }
  /** L1 blocks behind the L1 head that sequenced blocks anchor to (node `--l1.anchor-lag`, default 2). */
  anchorLag?: number
  /** Seconds between the nodes' L1 polls (default 1). */
  l1PollInterval?: number
  /** Extra L2 genesis accounts on top of the dev accounts and the predeploys (a fresh start only). */
  genesisAlloc?: Record<string, GenesisAccount>
  /**
   * Extra flags for every node, the sequencer only, the followers only, the proposer. With `basedNode`
   * the proposer's flags go to the based node under the `proposer.` prefix (`--poll-interval` →
   * `--proposer.poll-interval`).
   */
  nodeArgs?: string[]
  sequencerArgs?: string[]
  /** Follower flags: the same for every follower, or per follower (0-based index). */
  followerArgs?: string[] | ((index: number) => string[])
  proposerArgs?: string[]
  /**
   * Start `cairn-prover-tee` after the nodes (default true): it proves every proposed batch with the
   * TEE backend (the deploy config's policy is TEE-only), so the verified head advances. Its handle
   * exists either way.
   */
  startProver?: boolean
  /** Extra `cairn-prover-tee` flags. */
  proverArgs?: string[]
  /** Log level of the nodes and the proposer (default info). */
  logLevel?: string
  /** Progress lines (default: none). */
  log?: (line: string) => void
  /** Called when a process exits without being asked to. */
  onProcessExit?: (process: ManagedProcess, code: number | null, signal: NodeJS.Signals | null) => void
}

export interface DevnetAccount {
  address: Hex
  privateKey: Hex
}

export interface DevnetNodeInfo {
  rpc: string
  ws: string
  datadir: string
  log: string
  /** The node's p2p listen port and dialable address (`--bootnodes` value); the sequencer's only. */
  p2p?: { port: number; multiaddr: string }
}

/** The content of devnet.json: everything a dapp, a script or an operator needs to use the devnet. */
export interface DevnetInfo {
  version: 1
  dir: string
  startedAt: string
  l1: {
    rpc: string
    /** Beacon-style blob API (`/eth/v1/beacon/blobs/{block}`), served by anvil on the RPC port. */
    beacon: string
    chainId: number
    blockTime: number
    slotsInAnEpoch: number
    /**
     * The L1 block before the suite was deployed. Nodes and the prover scan for proposals from the
     * addresses file's `startBlock`, the block of the deployment's first transaction, at or after it.
     */
    startBlock: number
    stateFile: string
    log: string
  }
  l2: {
    chainId: number
    blockTime: number
    genesis: { file: string; blockHash: Hex; stateRoot: Hex }
    sequencer: DevnetNodeInfo
    followers: DevnetNodeInfo[]
  }
  /** Who proposes; with `basedNode` that is the sequencer node itself (its datadir's `proposer/`, its log). */
  proposer: { address: Hex; datadir: string; log: string }
  /**
   * The TEE prover: `address` sends the proofs; its instance key is `datadir/instance.key`, registered
   * with a quote signed by the attestation authority (the stub). Absent when not started.
   */
  prover?: { address: Hex; datadir: string; log: string; l2Rpc: string }
  /** The L1 suite (the deploy script's output, also in deploymentFile). */
  contracts: L1Deployment
  deploymentFile: string
  basedMode: boolean
  /** The sequencer is a `cairn node --based` that proposes its own blocks (no proposer process). */
  basedNode: boolean
  accounts: {
    mnemonic: string
    deployer: DevnetAccount
    proposer: DevnetAccount
    prover: DevnetAccount
    attestationAuthority: DevnetAccount
    /** Funded with 10,000 ETH on L2 (genesis) and on L1 (anvil's defaults). */
    dev: DevnetAccount[]
  }
}

export interface Devnet {
  info: DevnetInfo
  /** Path of devnet.json. */
  infoFile: string
  anvil: ManagedProcess
  sequencer: ManagedProcess
  followers: ManagedProcess[]
  proposer: ManagedProcess
  prover: ManagedProcess
  /** Every process, in start order. */
  processes(): ManagedProcess[]
  /** Stops every process: prover, proposer, followers, sequencer, then anvil (which dumps its state). */
  stop(): Promise<void>
}

interface Paths {
  dir: string
  infoFile: string
  genesisFile: string
  deploymentFile: string
  stateFile: string
  logs: string
  sequencerDir: string
  followerDir: (i: number) => string
  proposerDir: string
  proverDir: string
}

function devnetPaths(dir: string): Paths {
  return {
    dir,
    infoFile: join(dir, 'devnet.json'),
    genesisFile: join(dir, 'genesis.json'),
    deploymentFile: join(dir, 'l1-deployment.json'),
    stateFile: join(dir, 'anvil-state.json'),
    logs: join(dir, 'logs'),
    sequencerDir: join(dir, 'sequencer'),
    followerDir: (i) => join(dir, `follower-${i}`),
    proposerDir: join(dir, 'proposer'),
    proverDir: join(dir, 'prover'),
  }
}

/** Reads a previous run's devnet.json, if any. */
export function readDevnetInfo(dir = DEFAULT_DEVNET_DIR): DevnetInfo | undefined {
  const file = join(dir, 'devnet.json')
  if (!existsSync(file)) return undefined
  return JSON.parse(readFileSync(file, 'utf8')) as DevnetInfo
}

/** Builds the contract artifacts and TypeScript bindings unless they are current (the build skips unchanged sources). */
export async function ensureContractsBuilt(log: (line: string) => void = () => {}): Promise<void> {
  const started = Date.now()
  await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/build.ts'], {
    cwd: join(REPO_ROOT, 'contracts'),
  }).catch((error: { stderr?: string; message: string }) => {
    throw new CairnError('DEVNET_CONTRACTS_BUILD', `building the contracts failed: ${error.stderr || error.message}`)
  })
  log(`contracts built (${Date.now() - started} ms)`)
}

/**
 * Starts (or restarts) the devnet. Fresh: anvil from scratch, the L2 genesis (dev genesis + the
 * Anchor predeploy) written and hashed by the node itself, the L1 suite deployed with that genesis,
 * then the nodes and the proposer. Restart: anvil reloads its state file, the deployment is checked
 * (no transaction sent when it matches), the nodes reopen their datadirs.
 */
export async function startDevnet(options: DevnetOptions = {}): Promise<Devnet> {
  const log = options.log ?? (() => {})
  const paths = devnetPaths(resolve(options.dir ?? DEFAULT_DEVNET_DIR))
  if (options.fresh) rmSync(paths.dir, { recursive: true, force: true })
  mkdirSync(paths.logs, { recursive: true })
  const previous = readDevnetInfo(paths.dir)
  const restarting = previous !== undefined && existsSync(paths.stateFile)
  if (previous !== undefined && !restarting) {
    throw new CairnError(
      'DEVNET_STATE_MISSING',
      `${paths.infoFile} exists but the L1 state ${paths.stateFile} does not; start over with --fresh`,
    )
  }

  const l1BlockTime = options.l1BlockTime ?? previous?.l1.blockTime ?? 1
  const slotsInAnEpoch = options.slotsInAnEpoch ?? previous?.l1.slotsInAnEpoch ?? 4
  const l2BlockTime = options.l2BlockTime ?? previous?.l2.blockTime ?? 2
  const followerCount = options.followers ?? previous?.l2.followers.length ?? 1
  const basedNode = options.basedNode ?? previous?.basedNode ?? false
  const basedMode = basedNode || (options.basedMode ?? previous?.basedMode ?? false)
  const proposing = options.startProposer ?? true
  const portOf = async (given: number | undefined, url: string | undefined) =>
    given ?? (url === undefined ? await freePort() : Number(new URL(url).port))
  const l1Port = await portOf(options.ports?.l1, previous?.l1.rpc)
  const sequencerPort = await portOf(options.ports?.sequencer, previous?.l2.sequencer.rpc)
  // The sequencer's p2p port stays the same across restarts unless moved (followers get --bootnodes anew).
  const sequencerP2pPort = options.ports?.sequencerP2p ?? previous?.l2.sequencer.p2p?.port ?? (await freePort())
  const followerPorts: number[] = []
  for (let i = 0; i < followerCount; i++)
    followerPorts.push(await portOf(options.ports?.followers?.[i], previous?.l2.followers[i]?.rpc))
  const l1Rpc = `http://127.0.0.1:${l1Port}`
  // A port another process holds fails the start here, not after the L1 deploy, naming the option
  // that moves it (a restart resumes the same chains on other ports just as well).
  const roles: Array<[number, string, string]> = [
    [l1Port, 'L1 (anvil) JSON-RPC', '--l1-port N'],
    [sequencerPort, 'sequencer JSON-RPC', '--l2-port N (the followers move with it, to the ports after N)'],
    [sequencerP2pPort, 'sequencer p2p', '--p2p-port N'],
    ...followerPorts.map((port, i): [number, string, string] => [
      port,
      `follower-${i + 1} JSON-RPC`,
      `--l2-port N (the sequencer's port; followers use the ports after N)`,
    ]),
  ]
  for (const [port, role, option] of roles) {
    if (!(await portIsFree(port)))
      throw new CairnError(
        'DEVNET_PORT_IN_USE',
        restarting
          ? `port ${port} on 127.0.0.1 (the ${role}, as recorded in ${paths.infoFile}) is in use by another process; stop that process, or resume the devnet on another port with ${option}: its chains are kept`
          : `port ${port} on 127.0.0.1 (the ${role}) is in use by another process; stop that process, or give the devnet another port with ${option}`,
      )
  }

  const processes: ManagedProcess[] = []
  const stopAll = async () => {
    for (const p of [...processes].reverse()) await p.stop()
  }
  const watch = (p: ManagedProcess) => {
    p.onUnexpectedExit = (code, signal) => options.onProcessExit?.(p, code, signal)
    processes.push(p)
    return p
  }

  try {
    // 1. L1: anvil with Prague blobs, automine while deploying, interval mining afterwards.
    const anvil = watch(
      createManagedProcess({
        name: 'anvil',
        command: anvilBinaryPath(),
        args: [
          '--host',
          '127.0.0.1',
          '--port',
          String(l1Port),
          '--slots-in-an-epoch',
          String(slotsInAnEpoch),
          '--state',
          paths.stateFile,
          '--state-interval',
          '1',
        ],
        logFile: join(paths.logs, 'anvil.log'),
        ready: () => answersRpc(l1Rpc),
        startupTimeoutMs: 30_000,
      }),
    )
    await anvil.start()
    log(`anvil: ${l1Rpc} (${restarting ? 'state reloaded' : 'fresh'})`)

    await ensureContractsBuilt(log)
    // Imported after the build: they read the generated contract bindings.
    const { deployL1 } = await import('./l1.ts')
    const { loadDeployConfig } = await import('./config.ts')
    const { genesisBlock, l2Genesis } = await import('./genesis.ts')

    // 2. The L2 genesis (the dev accounts funded), hashed by the node that will run it.
    let genesis: DevnetInfo['l2']['genesis']
    if (restarting) {
      genesis = previous.l2.genesis
    } else {
      const file = l2Genesis({ chainId: DEV_CHAIN_ID, alloc: options.genesisAlloc, devAccounts: true })
      writeFileSync(paths.genesisFile, `${JSON.stringify(file, null, 2)}\n`)
      const block = await genesisBlock(paths.genesisFile, {
        datadir: paths.sequencerDir,
        port: sequencerPort,
        logFile: join(paths.logs, 'sequencer.log'),
        logLevel: options.logLevel,
      })
      genesis = { file: paths.genesisFile, ...block }
      log(`L2 genesis ${genesis.blockHash} (state root ${genesis.stateRoot})`)
    }

    // 3. The L1 suite (idempotent: a restart checks it and sends nothing).
    const startBlock = restarting
      ? previous.l1.startBlock
      : Number(BigInt(await jsonRpc<string>(l1Rpc, 'eth_blockNumber')))
    const config: DeployConfig = {
      ...loadDeployConfig(LOCAL_CONFIG),
      l2ChainId: Number(DEV_CHAIN_ID),
      genesis: { blockHash: genesis.blockHash, stateRoot: genesis.stateRoot },
    }
    config.inbox = { ...config.inbox, basedMode }
    config.preconf = { ...config.preconf, operators: [DEVNET_ROLES.proposer.address] }
    const deployStarted = Date.now()
    const { deployment, transactionsSent } = await deployL1(config, {
      rpcUrl: l1Rpc,
      deployerKey: DEVNET_ROLES.deployer.privateKey,
      outFile: paths.deploymentFile,
    })
    if (deployment === undefined) throw new CairnError('DEVNET_DEPLOY', 'the L1 deployment did not complete')
    log(`L1 suite: inbox ${deployment.inbox} (${transactionsSent} transactions, ${Date.now() - deployStarted} ms)`)
    await jsonRpc(l1Rpc, 'evm_setIntervalMining', [l1BlockTime])

    // 4. The sequencer, the followers, the proposer.
    const nodeCommon = (datadir: string, port: number) => [
      ...CAIRN_NODE_ARGS,
      'node',
      '--genesis',
      paths.genesisFile,
      '--datadir',
      datadir,
      '--http.port',
      String(port),
      '--l1.rpc',
      l1Rpc,
      '--l1.deployment',
      paths.deploymentFile,
      '--l1.poll-interval',
      String(options.l1PollInterval ?? 1),
      '--l1.anchor-lag',
      String(options.anchorLag ?? 2),
      '--log-level',
      options.logLevel ?? 'info',
      ...(options.nodeArgs ?? []),
    ]
    const node = (name: string, datadir: string, port: number, extra: string[], env?: NodeJS.ProcessEnv) => {
      const rpc = `http://127.0.0.1:${port}`
      return watch(
        createManagedProcess({
          name,
          command: process.execPath,
          args: [...nodeCommon(datadir, port), ...extra],
          env,
          cwd: REPO_ROOT,
          logFile: join(paths.logs, `${name}.log`),
          ready: () => answersRpc(rpc),
        }),
      )
    }
    // With basedNode the block producer proposes itself: --based, the proposer key in its env, and the
    // proposer's flags as --proposer.*.
    const selfProposing = basedNode && proposing
    const sequencer = node(
      'sequencer',
      paths.sequencerDir,
      sequencerPort,
      [
        selfProposing ? '--based' : '--sequencer',
        '--block-time',
        String(l2BlockTime),
        '--p2p.port',
        String(sequencerP2pPort),
        ...(selfProposing ? asNodeProposerArgs(options.proposerArgs ?? []) : []),
        ...(options.sequencerArgs ?? []),
      ],
      {
        ...process.env,
        // The whitelisted preconfer signs the blocks it gossips; followers check that against L1.
        CAIRN_PRECONF_KEY: DEVNET_ROLES.proposer.privateKey,
        ...(selfProposing ? { CAIRN_PROPOSER_KEY: DEVNET_ROLES.proposer.privateKey } : {}),
      },
    )
    const sequencerRpc = `http://127.0.0.1:${sequencerPort}`
    const proposer = createManagedProcess({
      name: 'proposer',
      command: process.execPath,
      args: [
        PROPOSER_BIN,
        '--l1.rpc',
        l1Rpc,
        '--l2.rpc',
        sequencerRpc,
        '--l1.deployment',
        paths.deploymentFile,
        '--datadir',
        paths.proposerDir,
        '--log-level',
        options.logLevel ?? 'info',
        ...(options.proposerArgs ?? []),
      ],
      env: { ...process.env, CAIRN_PROPOSER_KEY: DEVNET_ROLES.proposer.privateKey },
      cwd: REPO_ROOT,
      logFile: join(paths.logs, 'proposer.log'),
    })
    proposer.onUnexpectedExit = (code, signal) => options.onProcessExit?.(proposer, code, signal)

    // The sequencer first: followers join its p2p network (preconfirmed blocks before L1 has them).
    await sequencer.start()
    const sequencerP2p = await p2pAddress(sequencerRpc, sequencerP2pPort)
    const followers = followerPorts.map((port, i) =>
      node(`follower-${i + 1}`, paths.followerDir(i + 1), port, [
        ...(sequencerP2p === undefined ? [] : ['--bootnodes', sequencerP2p]),
        ...(typeof options.followerArgs === 'function' ? options.followerArgs(i) : (options.followerArgs ?? [])),
      ]),
    )
    await Promise.all(followers.map((f) => f.start()))
    log(`sequencer: ${sequencerRpc}`)
    for (const [i, port] of followerPorts.entries()) log(`follower-${i + 1}: http://127.0.0.1:${port}`)
    if (selfProposing) {
      log(`proposer: ${DEVNET_ROLES.proposer.address} (the sequencer node, --based)`)
    } else if (proposing) {
      processes.push(proposer)
      await proposer.start()
      log(`proposer: ${DEVNET_ROLES.proposer.address}`)
    }

    // The TEE prover reads witnesses from a follower (derivation's batches; the sequencer keeps sequencing).
    const proverL2Rpc = followerPorts.length > 0 ? `http://127.0.0.1:${followerPorts[0]}` : sequencerRpc
    const prover = createManagedProcess({
      name: 'prover',
      command: process.execPath,
      args: [
        PROVER_BIN,
        '--l1.rpc',
        l1Rpc,
        '--l2.rpc',
        proverL2Rpc,
        '--l1.deployment',
        paths.deploymentFile,
        '--genesis',
        paths.genesisFile,
        '--datadir',
        paths.proverDir,
        '--log-level',
        options.logLevel ?? 'info',
        ...(options.proverArgs ?? []),
      ],
      env: {
        ...process.env,
        CAIRN_PROVER_KEY: DEVNET_ROLES.prover.privateKey,
        // The stub attestation: the devnet's authority signs the instance's quote (docs/proving.md).
        CAIRN_ATTESTATION_AUTHORITY_KEY: DEVNET_ROLES.attestationAuthority.privateKey,
      },
      cwd: REPO_ROOT,
      logFile: join(paths.logs, 'prover.log'),
    })
    prover.onUnexpectedExit = (code, signal) => options.onProcessExit?.(prover, code, signal)
    const proving = options.startProver ?? true
    if (proving) {
      processes.push(prover)
      await prover.start()
      log(`prover: ${DEVNET_ROLES.prover.address} (TEE, witnesses from ${proverL2Rpc})`)
    }

    const nodeInfo = (datadir: string, port: number, name: string): DevnetNodeInfo => ({
      rpc: `http://127.0.0.1:${port}`,
      ws: `ws://127.0.0.1:${port}`,
      datadir,
      log: join(paths.logs, `${name}.log`),
    })
    const info: DevnetInfo = {
      version: 1,
      dir: paths.dir,
      startedAt: new Date().toISOString(),
      l1: {
        rpc: l1Rpc,
        beacon: l1Rpc,
        chainId: config.l1ChainId,
        blockTime: l1BlockTime,
        slotsInAnEpoch,
        startBlock,
        stateFile: paths.stateFile,
        log: anvil.logFile,
      },
      l2: {
        chainId: Number(DEV_CHAIN_ID),
        blockTime: l2BlockTime,
        genesis,
        sequencer: {
          ...nodeInfo(paths.sequencerDir, sequencerPort, 'sequencer'),
          p2p: sequencerP2p === undefined ? undefined : { port: sequencerP2pPort, multiaddr: sequencerP2p },
        },
        followers: followerPorts.map((port, i) => nodeInfo(paths.followerDir(i + 1), port, `follower-${i + 1}`)),
      },
      proposer: basedNode
        ? {
            address: DEVNET_ROLES.proposer.address,
            datadir: join(paths.sequencerDir, 'proposer'),
            log: sequencer.logFile,
          }
        : { address: DEVNET_ROLES.proposer.address, datadir: paths.proposerDir, log: proposer.logFile },
      prover: proving
        ? { address: DEVNET_ROLES.prover.address, datadir: paths.proverDir, log: prover.logFile, l2Rpc: proverL2Rpc }
        : undefined,
      contracts: deployment,
      deploymentFile: paths.deploymentFile,
      basedMode,
      basedNode,
      accounts: {
        mnemonic: DEV_MNEMONIC,
        deployer: { ...DEVNET_ROLES.deployer },
        proposer: { ...DEVNET_ROLES.proposer },
        prover: { ...DEVNET_ROLES.prover },
        attestationAuthority: { ...DEVNET_ROLES.attestationAuthority },
        dev: DEV_ACCOUNTS.map((a) => ({ ...a })),
      },
    }
    writeFileSync(paths.infoFile, `${JSON.stringify(info, null, 2)}\n`)

    return {
      info,
      infoFile: paths.infoFile,
      anvil,
      sequencer,
      followers,
      proposer,
      prover,
      processes: () => [...processes],
      async stop() {
        const order = [prover, proposer, ...[...followers].reverse(), sequencer, anvil]
        for (const p of processes) if (!order.includes(p)) order.unshift(p)
        for (const p of order) await p.stop()
      },
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}

/** `cairn-proposer` flags as the `cairn node --based` settings they correspond to (`--x` → `--proposer.x`). */
export function asNodeProposerArgs(args: string[]): string[] {
  return args.map((arg) => (arg.startsWith('--') ? `--proposer.${arg.slice(2)}` : arg))
}

/** The sequencer's dialable p2p address on loopback, from `cairn_p2pStatus` (undefined with p2p off). */
async function p2pAddress(rpc: string, port: number): Promise<string | undefined> {
  const status = await jsonRpc<{ peerId: string } | null>(rpc, 'cairn_p2pStatus', [])
  return status === null ? undefined : `/ip4/127.0.0.1/tcp/${port}/p2p/${status.peerId}`
}
