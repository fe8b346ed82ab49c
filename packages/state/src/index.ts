export { BatchFlushStateManager } from './batch-state-manager.ts'
export { LevelTrieDB, type BytesStore, type TrieWrite } from './trie-db.ts'
export { StateDB, writeGenesisState, type StateBatchOp, type StateDBOptions } from './state-db.ts'
export { type TrieNodeStore, type TrieWrite32, applyTrieWrites } from './trie-update.ts'
