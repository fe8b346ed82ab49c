export {
  ConfigError,
  loadConfig,
  parse,
  renderHelp,
  setting,
  type ConfigOf,
  type ConfigSources,
  type Setting,
  type SettingsTable,
} from './config.ts'
