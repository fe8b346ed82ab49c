import type { SettingsTable } from './config.ts'

/**
 * Names Cairn's own scripts read: the benchmarks (`CAIRN_BENCH_*`), test harnesses (`CAIRN_TEST_*`)
 * and the L1 deploy script (`CAIRN_DEPLOYER_KEY`). The binaries they start inherit them; they are
 * not misspelt settings.
 */
const SCRIPT_ENV = /^CAIRN_(BENCH_|TEST_|DEPLOYER_KEY$)/

export interface UnreadEnvVariable {
  name: string
  /** The known name closest to it, when one is close enough to be what was meant. */
  closest: string | undefined
}

/**
 * The `CAIRN_*` variables in `env` that this binary does not read: no setting of `table` has the name,
 * nor does `alsoReads` (what the binary reads beside its table: keys, which are never settings).
 */
export function unreadEnvVariables(
  table: SettingsTable,
  env: Record<string, string | undefined>,
  alsoReads: readonly string[] = [],
): UnreadEnvVariable[] {
  const known = [...Object.values(table).map((spec) => spec.env), ...alsoReads]
  const read = new Set(known)
  return Object.keys(env)
    .filter((name) => /^CAIRN_/i.test(name) && !read.has(name) && !SCRIPT_ENV.test(name))
    .sort()
    .map((name) => ({ name, closest: closestName(name, known) }))
}

/**
 * Logs a warning for every `CAIRN_*` variable the binary does not read, with the name it probably
 * meant: a misspelt variable is otherwise ignored without a word, and the default runs instead.
 */
export function warnUnreadEnv(options: {
  binary: string
  table: SettingsTable
  env: Record<string, string | undefined>
  alsoReads?: readonly string[]
  logger: { warn(fields: object, message: string): void }
}): void {
  for (const { name, closest } of unreadEnvVariables(options.table, options.env, options.alsoReads)) {
    const hint =
      closest === undefined ? 'run with --help to list the settings and their env names' : `did you mean ${closest}?`
    options.logger.warn(
      { code: 'UNREAD_ENV', env: name, closest },
      `env ${name} is not read by ${options.binary} and has no effect; ${hint}`,
    )
  }
}

/** The known name nearest `name` by edit distance (a swap counts once), if within a third of its length. */
function closestName(name: string, known: readonly string[]): string | undefined {
  const upper = name.toUpperCase()
  const limit = Math.max(2, Math.floor((upper.length - 'CAIRN_'.length) / 3))
  let best: { name: string; distance: number } | undefined
  for (const candidate of known) {
    const distance = editDistance(upper, candidate)
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name: candidate, distance }
  }
  return best?.name
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1)
      rows[i]![j] = d
    }
  }
  return rows[a.length]![b.length]!
}
