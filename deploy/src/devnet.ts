// CLI: npm run devnet [-- --fresh] [--dir DIR] [--followers N] [--based] [--no-proposer] [--no-prover] ...
// Starts anvil, deploys the L1 suite, runs a sequencer, followers, the proposer and the TEE prover until Ctrl-C,
// SIGTERM, or the exit of the npm process that started it (with --based: a based node that sequences and
// proposes itself, and followers). If this process is killed outright, its reaper stops the children.
import { relative } from 'node:path'
import { parseArgs } from 'node:util'
import { isCairnError } from '@cairn/primitives'
import { watchLaunchers } from './devnet-process.ts'
import { DEFAULT_DEVNET_DIR, type Devnet, readDevnetInfo, startDevnet } from './devnet-stack.ts'

const USAGE = `Usage: npm run devnet -- [options]
  --fresh              delete the devnet directory and start over (default: resume the previous run)
  --dir DIR            devnet directory (default: .devnet in the repository root)
  --l1-port N          anvil port (default 8545; a restart keeps the previous run's ports unless given)
  --l2-port N          sequencer JSON-RPC port (default 9545; followers use the next ports)
  --p2p-port N         sequencer p2p port (default: a free one)
  --followers N        follower nodes (default 1)
  --l1-block-time S    seconds between L1 blocks (default 1)
  --l2-block-time S    seconds between L2 blocks (default 2)
  --slots N            anvil --slots-in-an-epoch: safe = latest - N, finalized = latest - 2N (default 4)
  --based              based rollup: the Inbox lets anyone propose (basedMode), and the L2 block producer is a
                       \`cairn node --based\` that proposes its own blocks to L1 (no cairn-proposer process);
                       followers derive from L1 (default: a sequencer, and cairn-proposer with the
                       whitelisted preconfer key)
  --no-proposer        nobody proposes: do not start cairn-proposer (with --based the node only sequences)
  --no-prover          do not start cairn-prover-tee (default: it proves every batch, so the verified head advances)
  --log-level LEVEL    log level of the nodes and the proposer (default info)
Everything is described in devnet.json in the devnet directory; logs are in its logs/ folder.`

function int(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0) {
    console.error(`--${name} must be a non-negative number, got "${value}"`)
    process.exit(2)
  }
  return n
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      fresh: { type: 'boolean', default: false },
      dir: { type: 'string' },
      'l1-port': { type: 'string' },
      'l2-port': { type: 'string' },
      'p2p-port': { type: 'string' },
      followers: { type: 'string' },
      'l1-block-time': { type: 'string' },
      'l2-block-time': { type: 'string' },
      slots: { type: 'string' },
      based: { type: 'boolean' },
      'no-proposer': { type: 'boolean', default: false },
      'no-prover': { type: 'boolean', default: false },
      'log-level': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  const dir = values.dir ?? DEFAULT_DEVNET_DIR
  const previous = values.fresh ? undefined : readDevnetInfo(dir)
  const followers = int(values.followers, 'followers') ?? previous?.l2.followers.length ?? 1
  // Fixed, well-known ports on a first run (cast's default 8545 is L1), the previous run's on a restart.
  const l1Port = int(values['l1-port'], 'l1-port') ?? (previous ? undefined : 8545)
  const l2Port = int(values['l2-port'], 'l2-port') ?? (previous ? undefined : 9545)
  const say = (line: string) => console.log(`[devnet] ${line}`)

  // Stopping must not fail on a closed terminal or pipe (the npm that held it may be gone).
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {})

  let starting: Promise<Devnet> | undefined
  let stopping = false
  const shutdown = async (reason: string) => {
    if (stopping) return
    stopping = true
    say(`${reason}: stopping every process…`)
    // A signal during startup waits for it to finish (or fail, which stops what it started).
    const devnet = await starting?.catch(() => undefined)
    await devnet?.stop()
    say('stopped; run `npm run devnet` again to resume, or with --fresh to start over')
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  // `npm run devnet` passes a SIGTERM only to its `sh -c`, which dies without passing it on: this process
  // learns of it by the launcher chain above it breaking.
  watchLaunchers(() => void shutdown('the npm process that started the devnet exited'))

  starting = startDevnet({
    dir,
    fresh: values.fresh,
    followers,
    ports: {
      l1: l1Port,
      sequencer: l2Port,
      sequencerP2p: int(values['p2p-port'], 'p2p-port'),
      followers: l2Port === undefined ? undefined : Array.from({ length: followers }, (_, i) => l2Port + 1 + i),
    },
    l1BlockTime: int(values['l1-block-time'], 'l1-block-time'),
    l2BlockTime: int(values['l2-block-time'], 'l2-block-time'),
    slotsInAnEpoch: int(values.slots, 'slots'),
    basedMode: values.based,
    basedNode: values.based,
    startProposer: !values['no-proposer'],
    startProver: !values['no-prover'],
    logLevel: values['log-level'],
    log: say,
    onProcessExit: (p, code, signal) => {
      if (!stopping) say(`${p.name} exited unexpectedly (code ${code}, signal ${signal}); see ${p.logFile}`)
    },
  })
  const devnet = await starting
  if (stopping) return
  const { info } = devnet
  const rel = (path: string) => relative(process.cwd(), path) || '.'
  console.log(`
Cairn devnet is running (Ctrl-C stops it; state is kept in ${rel(info.dir)}).

  L1 (anvil)        ${info.l1.rpc}   chain ${info.l1.chainId}, block every ${info.l1.blockTime} s
  L2 ${info.basedNode ? 'based node  ' : 'sequencer   '}   ${info.l2.sequencer.rpc}   chain ${info.l2.chainId}, block every ${info.l2.blockTime} s
${info.l2.followers.map((f, i) => `  L2 follower ${i + 1}     ${f.rpc}`).join('\n')}
  proposer          ${info.proposer.address}${proposerNote(devnet)}
  prover (TEE)      ${info.prover ? `${info.prover.address}, witnesses from ${info.prover.l2Rpc}` : '(not started)'}
  Inbox             ${info.contracts.inbox}${info.basedMode ? ' (based mode)' : ''}
  devnet.json       ${rel(devnet.infoFile)}
  logs              ${rel(info.l1.log.replace(/anvil\.log$/, ''))}

  Funded dev key (L1 and L2): ${info.accounts.dev[0]!.privateKey}
  cast balance ${info.accounts.dev[0]!.address} --rpc-url ${info.l2.sequencer.rpc}
  cast rpc cairn_syncStatus --rpc-url ${info.l2.followers[0]?.rpc ?? info.l2.sequencer.rpc}
`)
}

function proposerNote(devnet: Devnet): string {
  if (devnet.proposer.running()) return ''
  return devnet.info.basedNode ? ' (in the based node)' : ' (not started)'
}

main().catch((error: unknown) => {
  if (isCairnError(error)) console.error(`${error.code}: ${error.message}`)
  else console.error(error)
  process.exit(1)
})
