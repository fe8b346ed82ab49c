#!/usr/bin/env -S node --max-semi-space-size=64
// Runs the TypeScript sources directly through tsx, so `npm ci` is all a checkout needs.
//
// The flag above is part of the node (docs/node.md, "Node.js flags"; `npm run bench` runs under it
// too): a young generation of 2 × 64 MiB instead of 2 × 16. Each scavenge copies the pool's pending
// transactions again; under load they fall from ~27 to ~8 a second (main-thread GC time ~-35%).
// Launchers that start this file with `node` pass it too (deploy's `shebangNodeFlags`).
import { register } from 'tsx/esm/api'

register()
await import('@cairn/primitives/polyfills')
const { main } = await import('../src/main.ts')
process.exitCode = await main(process.argv.slice(2))
