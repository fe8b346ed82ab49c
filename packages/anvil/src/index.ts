export { type AnvilInstance, type StartAnvilOptions, anvilBinaryPath, startAnvil } from './anvil.ts'
export { freePort, freePortRun, portIsFree } from './ports.ts'
