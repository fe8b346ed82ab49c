// CLI: npm run genesis:l2 -w @cairn/deploy -- --config config/testnet.json [--out FILE] [--update-config]
// Writes a public chain's L2 genesis (the file its nodes start from with `cairn node --genesis`) from
// the deploy config, and gives block 0's hash and state root, which deploy:l1 initializes the Inbox with.
import { isCairnError } from '@cairn/primitives'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { loadDeployConfig } from './config.ts'
import { configL2Genesis, genesisBlock } from './genesis.ts'

const USAGE = `Usage: genesis-l2 --config FILE [--out FILE] [--update-config]
  --config         deploy config (a copy of config/testnet.template.json): l2ChainId, and l2Genesis's
                   funded accounts and gas limit; the predeploys are always in
  --out            the genesis JSON to write (default: out/genesis-<l2ChainId>.json)
  --update-config  write block 0's hash and state root into the config's "genesis", which deploy:l1
                   initializes the Inbox with (default: print them)`

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: 'string' },
      out: { type: 'string' },
      'update-config': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  })
  if (values.help) {
    console.log(USAGE)
    return
  }
  if (!values.config) {
    console.error(`--config is required.\n${USAGE}`)
    process.exit(2)
  }
  const config = loadDeployConfig(values.config)
  const genesis = configL2Genesis(config)
  const outFile = resolve(values.out ?? `out/genesis-${config.l2ChainId}.json`)
  mkdirSync(dirname(outFile), { recursive: true })
  writeFileSync(outFile, `${JSON.stringify(genesis, null, 2)}\n`)
  console.log(
    `L2 genesis of chain ${config.l2ChainId} written to ${outFile}; its nodes start with --genesis ${outFile}.`,
  )

  const block = await genesisBlock(outFile)
  console.log(`Block 0: hash ${block.blockHash}, state root ${block.stateRoot}.`)
  if (values['update-config']) {
    const raw = JSON.parse(readFileSync(values.config, 'utf8'))
    raw.genesis = { blockHash: block.blockHash, stateRoot: block.stateRoot }
    writeFileSync(values.config, `${JSON.stringify(raw, null, 2)}\n`)
    console.log(`${values.config}: "genesis" set to them; deploy:l1 initializes the Inbox with this genesis.`)
  } else {
    console.log(
      `Put them in ${values.config} before deploy:l1 (or run again with --update-config):\n  "genesis": ${JSON.stringify(block)}`,
    )
  }
}

main().catch((error: unknown) => {
  if (isCairnError(error)) console.error(`${error.code}: ${error.message}`)
  else console.error(error)
  process.exit(1)
})
