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
export { helpRequested, resolveL1Addresses, startupFailure, stopOnSignal } from './service-cli.ts'
