export {
  type BatchPlan,
  type PlanInput,
  type ProposeTrigger,
  planBatch,
  toBatchBlock,
  type WaitReason,
} from './batch-plan.ts'
export { type BlobBundle, type BlobTxFields, bundleBlobs, signBlobTransaction } from './blob-tx.ts'
export { ChainStoreBlockSource, type LocalChain } from './chain-store-source.ts'
export { type ProposerRole, readForcedInclusionStore, readProposerRole } from './inbox-role.ts'
export { decodeRawBlock, type L2Block, type L2BlockSource, RpcL2BlockSource } from './l2-source.ts'
export { ProposerMetrics } from './metrics.ts'
export { type Attempt, type InFlight, ProgressStore, type ProposerProgress } from './progress-store.ts'
export { Proposer, type ProposerOptions } from './proposer.ts'
export {
  KEY_ENV,
  type ProposerConfig,
  type ProposerSettingsConfig,
  proposerServiceSettings,
  proposerSettings,
  proposerTuning,
  readProposerKey,
} from './settings.ts'
