#!/usr/bin/env node
// Makes the npm solc (solc-js) look like a native solc binary so forge can compile offline.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

const require = createRequire(import.meta.url)
const solc = require('solc')
const args = process.argv.slice(2)

if (args.includes('--version')) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`)
  process.exit(0)
}

// forge hands over the project's sources but leaves some library files for the compiler to read
// (native solc reads them from disk through --allow-paths); solc-js needs this callback for that.
function readImport(path) {
  for (const candidate of [path, resolve(path)]) {
    if (existsSync(candidate)) return { contents: readFileSync(candidate, 'utf8') }
  }
  return { error: `File not found: ${path}` }
}

if (args.includes('--standard-json')) {
  const chunks = []
  process.stdin.on('data', (chunk) => chunks.push(chunk))
  process.stdin.on('end', () => {
    process.stdout.write(solc.compile(Buffer.concat(chunks).toString('utf8'), { import: readImport }))
  })
} else {
  process.stderr.write('solc-wrapper: only --version and --standard-json are supported\n')
  process.exit(1)
}
