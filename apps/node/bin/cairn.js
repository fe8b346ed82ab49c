#!/usr/bin/env -S node --max-semi-space-size=64 --no-minor-gc-task
// Runs the TypeScript sources directly through tsx, so `npm ci` is all a checkout needs.
//
// The flags above are part of the node (docs/node.md, "Node.js flags"; `npm run bench` runs under them
// too): a young generation of 2 × 64 MiB instead of 2 × 16, and scavenges only when it is full. Each
// scavenge copies the pool's pending transactions again; under load they fall from ~27 to ~8 a second
// (main-thread GC time ~-35%). V8's scavenge task would start one at ~80% full whenever the event loop
// turns, which the block builder lets it do every 2 ms: a fifth more scavenges, each as dear.
// Launchers that start this file with `node` pass them too (deploy's `shebangNodeFlags`).
import { register } from 'tsx/esm/api'

register()
await import('@cairn/primitives/polyfills')
const { main } = await import('../src/main.ts')
process.exitCode = await main(process.argv.slice(2))
