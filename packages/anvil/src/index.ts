export { type AnvilInstance, type StartAnvilOptions, anvilBinaryPath, freePort, startAnvil } from './anvil.ts'
