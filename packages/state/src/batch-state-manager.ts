import { RLP } from '@ethereumjs/rlp'
import { CODEHASH_PREFIX, MerkleStateManager, type MerkleStateManagerOpts } from '@ethereumjs/statemanager'
import { Account, concatBytes, createAddressFromString, unprefixedHexToBytes } from '@ethereumjs/util'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { type TrieNodeStore, type TrieWrite32, applyTrieWrites } from './trie-update.ts'

/**
 * A MerkleStateManager whose flush writes a block's dirty accounts and slots into the tries in one
 * pass per trie ({@link applyTrieWrites}) instead of one `put` per key. The executor flushes once
 * per block, so this is where the state root of a block of transfers is computed; ethereumjs'
 * per-key path spent most of its time re-encoding and re-hashing the nodes near the root.
 * Reads, checkpoints and proofs are ethereumjs' own: the tries it writes are the same tries.
 */
export class BatchFlushStateManager extends MerkleStateManager {
  private readonly hashKey: (data: Uint8Array) => Uint8Array

  constructor(opts: MerkleStateManagerOpts & { common: NonNullable<MerkleStateManagerOpts['common']> }) {
    super(opts)
    this.hashKey = opts.common.customCrypto.keccak256 ?? keccak_256
  }

  override async flush(): Promise<void> {
    const caches = this._caches
    if (
      caches?.account === undefined ||
      caches.storage === undefined ||
      caches.code === undefined ||
      this._prefixStorageTrieKeys
    ) {
      return super.flush()
    }
    const nodes = this.nodeStore()

    for (const [addressHex, { code }] of caches.code.flush()) {
      if (code === undefined) continue
      const address = createAddressFromString(`0x${addressHex}`)
      const codeHash = this.hashKey(code)
      await this._getCodeDB().put(this._prefixCodeHashes ? concatBytes(CODEHASH_PREFIX, codeHash) : codeHash, code)
      if ((await this.getAccount(address)) === undefined) await this.putAccount(address, new Account())
      await this.modifyAccountFields(address, { codeHash })
    }

    // Slots grouped by account (the cache hands them out that way); each storage trie is updated once.
    const slotsByAccount = new Map<string, TrieWrite32[]>()
    for (const [addressHex, keyHex, value] of caches.storage.flush()) {
      let writes = slotsByAccount.get(addressHex)
      if (writes === undefined) slotsByAccount.set(addressHex, (writes = []))
      // An RLP-encoded empty string (0x80) is a zeroed slot: it leaves the trie.
      const word = RLP.decode(value ?? new Uint8Array(0)) as Uint8Array
      writes.push({
        key: this.hashKey(unprefixedHexToBytes(keyHex)),
        value: word.length > 0 ? RLP.encode(word) : undefined,
      })
    }
    for (const [addressHex, writes] of slotsByAccount) {
      const address = createAddressFromString(`0x${addressHex}`)
      const account = await this.getAccount(address)
      // Storage of an account deleted in this block goes with it.
      if (account === undefined) continue
      // Written on top of the storage trie ethereumjs keeps for the account, as its own flush does
      // (that trie, not the account's storageRoot field, is the base when the two disagree).
      const storageTrie = this._getStorageTrie(address, account)
      account.storageRoot = await applyTrieWrites(storageTrie.root(), writes, nodes, this.hashKey)
      storageTrie.root(account.storageRoot)
      await this.putAccount(address, account)
    }

    const accountWrites: TrieWrite32[] = caches.account.flush().map(([addressHex, elem]) => ({
      key: this.hashKey(unprefixedHexToBytes(addressHex)),
      value: elem.accountRLP,
    }))
    this._trie.root(await applyTrieWrites(this._trie.root(), accountWrites, nodes, this.hashKey))
  }

  /** The node database under the account trie, shared by every storage trie (no key prefixes). */
  private nodeStore(): TrieNodeStore {
    const db = this._trie.database()
    return {
      get: async (hash) => db.get(hash),
      put: (hash, encoded) => db.put(hash, encoded),
    }
  }
}
