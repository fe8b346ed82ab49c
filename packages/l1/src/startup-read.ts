import { CairnError } from '@cairn/primitives'
import { BaseError, ContractFunctionZeroDataError, HttpRequestError, TimeoutError, WebSocketRequestError } from 'viem'

/** What a service reads from the L1 before it can start, for the error when it cannot. */
export interface StartupReadTarget {
  /** What is read, as a person would name it ("the Inbox's config"). */
  what: string
  /** The L1 JSON-RPC URL, as configured. */
  l1Rpc: string
  /** The contract read from. */
  address: string
  /** The settings that give that address ("--l1.inbox or --l1.deployment"). */
  addressSettings: string
}

export type StartupReadErrorCode = 'L1_UNREACHABLE' | 'L1_CONTRACT_MISSING' | 'L1_READ_FAILED'

/**
 * Runs a read a service cannot start without. An L1 that does not answer, or an address with no such
 * contract, becomes a {@link CairnError} that names the URL or the address and the settings to check,
 * instead of viem's error and a stack trace.
 */
export async function readAtStartup<T>(target: StartupReadTarget, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (error) {
    throw startupReadError(error, target)
  }
}

function startupReadError(error: unknown, target: StartupReadTarget): unknown {
  if (!(error instanceof BaseError)) return error
  const cannot = `cannot read ${target.what}`
  const unreachable = error.walk(
    (e) => e instanceof HttpRequestError || e instanceof WebSocketRequestError || e instanceof TimeoutError,
  )
  if (unreachable !== null) {
    return new CairnError<StartupReadErrorCode>(
      'L1_UNREACHABLE',
      `${cannot}: the L1 at ${target.l1Rpc} did not answer (${shortReason(unreachable as BaseError)}); check --l1.rpc and that the L1 node is running`,
      { cause: error },
    )
  }
  if (error.walk((e) => e instanceof ContractFunctionZeroDataError) !== null) {
    return new CairnError<StartupReadErrorCode>(
      'L1_CONTRACT_MISSING',
      `${cannot}: ${target.address} on the L1 at ${target.l1Rpc} returned no data (no contract there, or not the expected one); check ${target.addressSettings}`,
      { cause: error },
    )
  }
  return new CairnError<StartupReadErrorCode>(
    'L1_READ_FAILED',
    `${cannot} from ${target.address} on the L1 at ${target.l1Rpc}: ${shortReason(error)}`,
    { cause: error },
  )
}

function shortReason(error: BaseError): string {
  return error.shortMessage.replace(/\.$/, '')
}
