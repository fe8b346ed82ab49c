import { ConfigError, loadConfig, renderHelp, startupFailure, warnUnreadEnv } from '@cairn/config'
import { CairnError, devGenesis } from '@cairn/primitives'
import { createLogger } from '@cairn/telemetry'
import { KEY_ENV as PROPOSER_KEY_ENV } from '@cairn/proposer'
import { CLIENT_VERSION, CairnNode } from './node.ts'
import { PRECONF_KEY_ENV } from './p2p-settings.ts'
import { type NodeConfig, nodeSettings } from './settings.ts'

const USAGE = `cairn — a based rollup node

Usage:
  cairn node [settings]     run a node (add --dev for a single-node dev chain)
  cairn node --based ...    sequence the mempool and propose the blocks to the L1 Inbox (needs --l1.rpc,
                            the Inbox and env CAIRN_PROPOSER_KEY or --proposer.key-file; see docs/node.md)
  cairn dev-genesis         print the dev genesis JSON (chain id 77077, dev accounts funded)
  cairn version             print the client version
  cairn --help              this help`

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${renderHelp(nodeSettings, USAGE)}\n`)
    return 0
  }
  if (command === 'version' || command === '--version') {
    process.stdout.write(`${CLIENT_VERSION}\n`)
    return 0
  }
  if (command === 'dev-genesis') {
    process.stdout.write(`${JSON.stringify(devGenesis(), null, 2)}\n`)
    return 0
  }
  if (command !== 'node') {
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`)
    return 2
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${renderHelp(nodeSettings, USAGE)}\n`)
    return 0
  }
  let config: NodeConfig
  try {
    config = loadConfig(nodeSettings, { argv: rest, env: process.env })
  } catch (error) {
    return startupFailure('cairn', error, 2)
  }
  const logger = createLogger({ level: config.logLevel })
  // The keys are read beside the table: the preconfirmation key by a sequencer, the proposer's by --based.
  warnUnreadEnv({
    binary: 'cairn node',
    table: nodeSettings,
    env: process.env,
    alsoReads: [PRECONF_KEY_ENV, PROPOSER_KEY_ENV],
    logger,
  })
  let node: CairnNode
  try {
    node = await CairnNode.start(config, logger)
  } catch (error) {
    if (error instanceof CairnError) logger.fatal({ code: error.code }, error.message)
    // A setting the table accepted can still be refused at start (an unreadable --genesis or --l1.deployment).
    return startupFailure('cairn', error, error instanceof ConfigError ? 2 : 1, logger)
  }
  return await new Promise<number>((resolve) => {
    let stopping = false
    const stop = (reason: { signal: string } | { failure: Error }) => {
      if (stopping) return
      stopping = true
      if ('signal' in reason) logger.info({ signal: reason.signal }, 'shutting down')
      else logger.fatal({ err: reason.failure }, `${reason.failure.message}; shutting down`)
      const exitCode = 'signal' in reason ? 0 : 1
      node.stop().then(
        () => resolve(exitCode),
        (error) => {
          logger.error({ err: error }, 'shutdown failed')
          resolve(1)
        },
      )
    }
    process.once('SIGINT', () => stop({ signal: 'SIGINT' }))
    process.once('SIGTERM', () => stop({ signal: 'SIGTERM' }))
    node.failure.then((failure) => stop({ failure }))
  })
}
