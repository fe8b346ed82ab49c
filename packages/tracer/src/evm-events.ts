import type { EVMInterface } from '@ethereumjs/evm'
import { TracerError } from './errors.ts'

/**
 * The checks every tracer's `attach` makes before it listens: the EVM emits execution events (an
 * @ethereumjs/evm EVM does), the tracer is not attached already, and it has not traced a
 * transaction before (a tracer follows one transaction). Returns the EVM's event emitter.
 */
export function eventsToTrace(
  evm: EVMInterface,
  tracer: { attached: boolean; used: boolean },
): NonNullable<EVMInterface['events']> {
  const events = evm.events
  if (events === undefined) {
    throw new TracerError(
      'TRACER_NOT_SUPPORTED',
      'this EVM does not emit execution events; tracing needs an @ethereumjs/evm EVM',
    )
  }
  if (tracer.attached) throw new TracerError('TRACER_INVALID_CONFIG', 'tracer is already attached to an EVM')
  if (tracer.used)
    throw new TracerError('TRACER_INVALID_CONFIG', 'a tracer follows one transaction; create a new one per trace')
  return events
}

/**
 * Whether a 0x-prefixed lowercase address is one of the EVM's precompiles. An entry without a
 * function is a precompile the chain removed (ethereumjs' custom precompiles), so not one.
 */
export function isPrecompile(precompiles: EVMInterface['precompiles'], address: string): boolean {
  return precompiles.get(address.slice(2)) !== undefined
}
