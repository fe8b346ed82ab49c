import { readFileSync } from 'node:fs'
import { CairnError } from '@cairn/primitives'
import { ConfigError } from './config.ts'

// What every standalone service binary (cairn-proposer, cairn-prover-tee) does around its loop, so
// the binaries agree on how they ask for help, fail at start-up, find the L1 contracts and stop.

/** `--help` or `-h` anywhere, or `help` as the command. */
export function helpRequested(argv: readonly string[]): boolean {
  return argv.includes('--help') || argv.includes('-h') || argv[0] === 'help'
}

/**
 * Ends a failed start-up step. A CairnError (a bad setting, an unreadable key or file) is the
 * operator's to fix, so it is printed as `binary: message` and becomes the exit code; anything else
 * is a bug and is rethrown with its stack. Given the binary's logger, its pending lines are written
 * first: the logger writes asynchronously, and the one-line reason must be the last line a person reads
 * (@cairn/telemetry's logger calls flush back once its lines are written).
 */
export async function startupFailure(
  binary: string,
  error: unknown,
  exitCode: number,
  logger?: { flush(done: (error?: Error) => void): void },
): Promise<number> {
  if (!(error instanceof CairnError)) throw error
  if (logger !== undefined) await new Promise<void>((resolve) => logger.flush(() => resolve()))
  process.stderr.write(`${binary}: ${error.message}\n`)
  return exitCode
}

/** The L1 contracts a service reads, and where on L1 their events begin. */
export interface L1Addresses {
  inbox: `0x${string}`
  forcedInclusionStore: string | undefined
  /**
   * The deployment's first L1 block (`startBlock.number` of the deploy script's file): no event of
   * the suite is older, so a scan for proposals starts there. Undefined when the file has none, or
   * when `--l1.inbox` names another Inbox than the file's.
   */
  startBlock: number | undefined
}

/**
 * The Inbox (and, if known, ForcedInclusionStore) address from `--l1.inbox`/`--l1.forced-inclusion-store`,
 * else from the deploy script's output file `--l1.deployment`, with the file's start block.
 */
export function resolveL1Addresses(settings: {
  l1Deployment?: string | undefined
  l1Inbox?: string | undefined
  l1ForcedInclusionStore?: string | undefined
}): L1Addresses {
  let deployment: { inbox?: string; forcedInclusionStore?: string; startBlock?: { number?: unknown } } = {}
  if (settings.l1Deployment !== undefined) {
    try {
      deployment = JSON.parse(readFileSync(settings.l1Deployment, 'utf8'))
    } catch (error) {
      throw new ConfigError(`cannot read --l1.deployment ${settings.l1Deployment}: ${(error as Error).message}`)
    }
  }
  const inbox = settings.l1Inbox ?? deployment.inbox
  if (inbox === undefined || !/^0x[0-9a-fA-F]{40}$/.test(inbox)) {
    throw new ConfigError(
      settings.l1Deployment === undefined
        ? 'the Inbox address is required: set --l1.deployment FILE or --l1.inbox ADDRESS'
        : `--l1.deployment ${settings.l1Deployment} has no valid "inbox" address`,
    )
  }
  const startBlock = deployment.startBlock?.number
  if (startBlock !== undefined && !(Number.isSafeInteger(startBlock) && (startBlock as number) >= 0)) {
    throw new ConfigError(
      `--l1.deployment ${settings.l1Deployment} has an invalid "startBlock": {"number": ${JSON.stringify(startBlock)}} (want a block number); fix it, or remove it and set --l1.start-block N`,
    )
  }
  const sameInbox = inbox.toLowerCase() === deployment.inbox?.toLowerCase()
  return {
    inbox: inbox as `0x${string}`,
    forcedInclusionStore: settings.l1ForcedInclusionStore ?? deployment.forcedInclusionStore,
    startBlock: sameInbox ? (startBlock as number | undefined) : undefined,
  }
}

/**
 * Waits for SIGINT (Ctrl-C) or SIGTERM (a supervisor), then stops the service loop before closing
 * what it uses, in the order given, so the loop never writes to a closed store.
 */
export async function stopOnSignal(options: {
  service: { stop(): Promise<void> }
  logger: { info(fields: object, message: string): void; flush(): void }
  /** Closed after the loop stopped; `undefined` for what was never opened (metrics off). */
  close: readonly ({ close(): unknown } | undefined)[]
}): Promise<void> {
  const { logger } = options
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down')
      resolve()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  await options.service.stop()
  for (const resource of options.close) await resource?.close()
  logger.flush()
}
