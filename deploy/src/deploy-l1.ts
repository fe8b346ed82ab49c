// CLI: npm run deploy:l1 -w @cairn/deploy -- --config config/local.json --rpc http://127.0.0.1:8545 [--dry-run] [--out FILE]
// The deployer key comes from CAIRN_DEPLOYER_KEY, never from a flag (flags end up in shell history).
import { isCairnError } from '@cairn/primitives'
import { basename, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { Hex } from 'viem'
import { loadDeployConfig } from './config.ts'
import { deployL1 } from './l1.ts'
import { deployConfigProblems, isLocalConfig } from './preflight.ts'

const USAGE = `Usage: deploy-l1 --config FILE --rpc URL [--out FILE] [--dry-run]
  --config   deploy config (see deploy/config/local.json)
  --rpc      L1 JSON-RPC URL
  --out      addresses JSON, read to skip what exists (default: out/l1-<l1ChainId>.json)
  --dry-run  list every transaction a run would send (deployments, wiring, ownership), send nothing
Refused before anything is sent (a dry run too): a "genesis" that is not block 0 of the L2 genesis the
config's l2Genesis gives (genesis:l2 --update-config writes it; not checked for a local config, l1ChainId
31337 without l2Genesis), and a role or l2Genesis.alloc address at most 0x…ffff (zero, the precompiles).
Environment: CAIRN_DEPLOYER_KEY  0x-prefixed private key paying for the deployment`

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      rpc: { type: 'string' },
      out: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  if (!values.config || !values.rpc) {
    console.error(`--config and --rpc are required.\n${USAGE}`)
    process.exit(2)
  }
  const deployerKey = process.env.CAIRN_DEPLOYER_KEY
  if (!deployerKey || !/^0x[0-9a-fA-F]{64}$/.test(deployerKey)) {
    console.error('CAIRN_DEPLOYER_KEY must be set to a 0x-prefixed 32-byte private key.')
    process.exit(2)
  }
  const config = loadDeployConfig(values.config)
  if (!isLocalConfig(config))
    console.log(`Checking that "genesis" is block 0 of the L2 genesis ${values.config} gives (a cairn node hashes it)…`)
  const problems = await deployConfigProblems(config, values.config)
  if (problems.length > 0) {
    for (const problem of problems) console.error(`${problem.code}: ${problem.message}`)
    // Fixed in place, the template would no longer be one (genesis:l2 --update-config writes into it).
    const fix =
      basename(values.config) === 'testnet.template.json'
        ? `copy ${values.config} to a config of your own, fill that in and deploy it (docs/contracts.md, "A public testnet")`
        : `fix ${values.config} and run deploy:l1 again`
    console.error(`Nothing was sent: ${fix}.`)
    process.exit(1)
  }
  const outFile = resolve(values.out ?? `out/l1-${config.l1ChainId}.json`)
  const result = await deployL1(config, {
    rpcUrl: values.rpc,
    deployerKey: deployerKey as Hex,
    outFile,
    dryRun: values['dry-run'],
    log: (line) => console.log(line),
  })
  if (result.actions.length === 0) console.log('Everything already deployed and matching; nothing to do.')
  if (result.deployment) {
    console.log(JSON.stringify(result.deployment, null, 2))
    if (!values['dry-run'])
      console.log(`Addresses written to ${outFile} (${result.transactionsSent} transactions sent).`)
    const start = result.deployment.startBlock
    if (start !== undefined)
      console.log(
        `The deployment starts at L1 block ${start.number} (${start.hash}): nodes and provers read L1 logs from there (--l1.start-block ${start.number}).`,
      )
  }
}

main().catch((error: unknown) => {
  if (isCairnError(error)) {
    console.error(`${error.code}: ${error.message}`)
  } else {
    console.error(error)
  }
  process.exit(1)
})
