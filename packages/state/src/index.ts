export { LevelTrieDB, type BytesStore, type TrieWrite } from './trie-db.ts'
export { StateDB, writeGenesisState, type StateBatchOp, type StateDBOptions } from './state-db.ts'
