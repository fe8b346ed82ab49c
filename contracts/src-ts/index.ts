export * from './generated/index.ts'
export * from './protocol.ts'
export * from './anchor.ts'
