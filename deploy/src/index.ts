export { type DeployConfig, deployConfigSchema, loadDeployConfig, parseDeployConfig } from './config.ts'
export {
  type DeployL1Options,
  type DeployL1Result,
  deployL1,
  type L1Deployment,
  PROXIED_CONTRACTS,
  type ProxiedContract,
  sufficientMasks,
} from './l1.ts'
