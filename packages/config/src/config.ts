import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { z } from 'zod'
import { CairnError } from '@cairn/primitives'

/**
 * One setting, defined once: its flag, env name, parser, default and description. Packages
 * export their tables; apps spread them together, and `--help`, env docs and validation all
 * come from the same table.
 */
export interface Setting<T = unknown> {
  /** Command-line flag without dashes, e.g. `http.port`; also the key in a config file. */
  flag: string
  env: string
  description: string
  schema: z.ZodType<T>
  default?: T
  /** Flags that take no value (`--dev`). */
  boolean?: boolean
}

export type SettingsTable = Record<string, Setting>
export type ConfigOf<S extends SettingsTable> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never }

export class ConfigError extends CairnError {
  override readonly name = 'ConfigError'
  constructor(message: string) {
    super('INVALID_CONFIG', message)
  }
}

export function setting<T>(spec: Setting<T>): Setting<T> {
  return spec
}

/** A table's keys and flags under a prefix: `maxBlobs`/`max-blobs` become `proposerMaxBlobs`/`proposer.max-blobs`. */
export type PrefixedSettings<S extends SettingsTable, P extends string> = {
  [K in keyof S & string as `${P}${Capitalize<K>}`]: S[K]
}

/**
 * Spreads a package's table into an app's under a prefix, so one table serves a standalone app
 * (`--max-blobs`) and a host app (`--proposer.max-blobs`). Env names stay as they are: a package
 * already names them for its role (`CAIRN_PROPOSER_MAX_BLOBS`), whichever binary reads them.
 */
export function prefixSettings<S extends SettingsTable, P extends string>(table: S, prefix: P): PrefixedSettings<S, P> {
  const result: Record<string, Setting> = {}
  for (const [key, spec] of Object.entries(table))
    result[`${prefix}${key.charAt(0).toUpperCase()}${key.slice(1)}`] = { ...spec, flag: `${prefix}.${spec.flag}` }
  return result as PrefixedSettings<S, P>
}

/** Zod helpers for values that arrive as strings from flags and env. */
export const parse = {
  port: () => z.coerce.number().int().min(0).max(65535),
  positiveInt: () => z.coerce.number().int().positive(),
  nonNegativeNumber: () => z.coerce.number().min(0),
  positiveNumber: () => z.coerce.number().positive(),
  bool: () =>
    z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
      .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes'),
  string: () => z.string().min(1),
  /**
   * A listen address: an IP address, or a host name (`localhost`) that is resolved when the server
   * binds, as geth takes. A name that does not resolve fails the bind with `LISTEN_FAILED` (listen.ts).
   */
  host: () =>
    z
      .string()
      .refine(
        isHost,
        'must be an IP address (127.0.0.1, 0.0.0.0 for every interface, ::1) or a host name such as localhost, without a port',
      ),
  /** A listen address that must be an IP address (libp2p listens on a multiaddr, which takes no host name). */
  ip: () =>
    z
      .string()
      .refine((value) => isIP(value) !== 0, 'must be an IP address, such as 127.0.0.1 or 0.0.0.0 for every interface'),
  logLevel: () => z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
}

const HOST_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

/** An IP address, or a name made of DNS labels whose last is not all digits (`127.1` and `256.0.0.1` are neither). */
function isHost(value: string): boolean {
  if (isIP(value) !== 0) return true
  const labels = (value.endsWith('.') ? value.slice(0, -1) : value).split('.')
  return value.length <= 253 && labels.every((label) => HOST_LABEL.test(label)) && !/^\d+$/.test(labels.at(-1)!)
}

export interface ConfigSources {
  argv?: string[]
  env?: Record<string, string | undefined>
  /** Path of a JSON config file; `--config FILE` on the command line overrides it. */
  file?: string
}

/**
 * Reads settings with precedence flags > env > config file > defaults, and validates each with
 * its schema; an error names the setting, where the value came from, and what was wrong.
 */
export function loadConfig<S extends SettingsTable>(table: S, sources: ConfigSources = {}): ConfigOf<S> {
  const byFlag = new Map(Object.entries(table).map(([key, spec]) => [spec.flag, key]))
  const flags = parseArgv(sources.argv ?? [], table, byFlag)
  const configFile = (flags.get('config') as string | undefined) ?? sources.file
  const fileValues = configFile === undefined ? {} : readConfigFile(configFile, byFlag)
  const env = sources.env ?? {}
  const result: Record<string, unknown> = {}
  for (const [key, spec] of Object.entries(table)) {
    let raw: unknown
    let origin: string
    if (flags.has(spec.flag)) {
      raw = flags.get(spec.flag)
      origin = `flag --${spec.flag}`
    } else if (env[spec.env] !== undefined && env[spec.env] !== '') {
      raw = env[spec.env]
      origin = `env ${spec.env}`
    } else if (key in fileValues) {
      raw = fileValues[key]
      origin = `config file ${configFile}`
    } else {
      raw = spec.default
      origin = 'default'
    }
    if (raw === undefined) {
      result[key] = undefined
      const check = spec.schema.safeParse(undefined)
      if (!check.success)
        throw new ConfigError(
          `--${spec.flag} is required (${spec.description}); set it with --${spec.flag}, ${spec.env} or the config file`,
        )
      continue
    }
    const parsed = spec.schema.safeParse(raw)
    if (!parsed.success) {
      const reason = parsed.error.issues.map((i) => i.message).join('; ')
      throw new ConfigError(`invalid value ${JSON.stringify(raw)} for --${spec.flag} (from ${origin}): ${reason}`)
    }
    result[key] = parsed.data
  }
  return result as ConfigOf<S>
}

function parseArgv(argv: string[], table: SettingsTable, byFlag: Map<string, string>): Map<string, unknown> {
  const values = new Map<string, unknown>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--'))
      throw new ConfigError(`unexpected argument ${JSON.stringify(arg)}: settings are given as --name value`)
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (name === 'config') {
      const value = eq === -1 ? argv[++i] : arg.slice(eq + 1)
      if (value === undefined) throw new ConfigError('--config needs a file path')
      values.set('config', value)
      continue
    }
    const key = byFlag.get(name)
    if (key === undefined) throw new ConfigError(`unknown flag --${name}; run with --help to list the settings`)
    const spec = table[key]!
    if (eq !== -1) values.set(name, arg.slice(eq + 1))
    else if (
      spec.boolean &&
      (argv[i + 1] === undefined || argv[i + 1]!.startsWith('--') || !/^(true|false|1|0|yes|no)$/.test(argv[i + 1]!))
    )
      values.set(name, true)
    else {
      const value = argv[++i]
      if (value === undefined) throw new ConfigError(`--${name} needs a value`)
      values.set(name, value)
    }
  }
  return values
}

function readConfigFile(path: string, byFlag: Map<string, string>): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(error as Error).message}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new ConfigError(`config file ${path} must hold a JSON object`)
  // Accept flat dotted keys ("http.port") and nested objects ({ "http": { "port": ... } }).
  const flat: Record<string, unknown> = {}
  const walk = (value: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(value)) {
      const name = prefix === '' ? k : `${prefix}.${k}`
      if (byFlag.has(name)) flat[byFlag.get(name)!] = v
      else if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Record<string, unknown>, name)
      else
        throw new ConfigError(
          `config file ${path} has an unknown setting "${name}"; run with --help to list the settings`,
        )
    }
  }
  walk(json as Record<string, unknown>, '')
  return flat
}

/** `--help` text generated from the table. */
export function renderHelp(table: SettingsTable, header: string): string {
  const lines = [
    header,
    '',
    'Settings (flag, env, default). Precedence: flags > env > --config FILE (JSON) > defaults.',
    '',
  ]
  lines.push('  --config FILE'.padEnd(34) + 'read settings from a JSON file (keys are flag names, e.g. "http.port")')
  for (const spec of Object.values(table)) {
    const flag = `  --${spec.flag}${spec.boolean ? '' : ' <value>'}`
    // A flag too long for the column gets its own line, so it never runs into the description.
    if (flag.length >= 33) lines.push(flag, ''.padEnd(34) + spec.description)
    else lines.push(flag.padEnd(34) + spec.description)
    const meta = [`env ${spec.env}`]
    if (spec.default !== undefined) meta.push(`default ${JSON.stringify(spec.default)}`)
    lines.push(''.padEnd(34) + `(${meta.join(', ')})`)
  }
  return lines.join('\n')
}
