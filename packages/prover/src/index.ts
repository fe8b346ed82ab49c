export { ProverDriver, type ProverDriverOptions } from './driver.ts'
export {
  type Attestation,
  AuthorityQuoteSource,
  FileQuoteSource,
  loadOrCreateInstanceKey,
  type QuoteSource,
} from './instance.ts'
export { ProverMetrics } from './metrics.ts'
export { type ProverAttempt, type ProverInFlight, type ProverProgress, ProverProgressStore } from './progress-store.ts'
export {
  ATTESTATION_AUTHORITY_KEY_ENV,
  PROVER_KEY_ENV,
  type ProverConfig,
  proverServiceSettings,
  readKey,
  readProverKey,
} from './settings.ts'
export { RpcWitnessSource, type WitnessSource } from './witness-source.ts'
