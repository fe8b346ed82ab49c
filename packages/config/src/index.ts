export {
  ConfigError,
  loadConfig,
  parse,
  prefixSettings,
  type PrefixedSettings,
  renderHelp,
  setting,
  type ConfigOf,
  type ConfigSources,
  type Setting,
  type SettingsTable,
} from './config.ts'
export { bindFailure, type ListenTarget, listening, metricsListenTarget } from './listen.ts'
export { type UnreadEnvVariable, unreadEnvVariables, warnUnreadEnv } from './unread-env.ts'
export { helpRequested, type L1Addresses, resolveL1Addresses, startupFailure, stopOnSignal } from './service-cli.ts'
