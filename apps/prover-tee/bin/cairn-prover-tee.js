#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npm ci` is all a checkout needs.
import { register } from 'tsx/esm/api'

register()
await import('@cairn/primitives/polyfills')
const { main } = await import('../src/main.ts')
process.exitCode = await main(process.argv.slice(2))
