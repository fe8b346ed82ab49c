import { RLP } from '@ethereumjs/rlp'
import { CODEHASH_PREFIX, MerkleStateManager, type MerkleStateManagerOpts } from '@ethereumjs/statemanager'
import {
  Account,
  type Address,
  concatBytes,
  createAccountFromRLP,
  createAddressFromString,
  equalsBytes,
  unpadBytes,
  unprefixedHexToBytes,
} from '@ethereumjs/util'
import { keccak_256 } from '@noble/hashes/sha3.js'
import type { EventLoopTurns } from '@cairn/primitives'
import { DecodedAccount, DecodedAccountCache, copyAccount } from './account-cache.ts'
import { DecodedNodeCache, type TrieNodeStore, type TrieWrite32, applyTrieWrites, readTrie } from './trie-update.ts'

/** A zeroed slot as the storage cache holds it (RLP of the empty string). */
const EMPTY_SLOT = Uint8Array.of(0x80)

/**
 * A MerkleStateManager whose flush writes a block's dirty accounts and slots into the tries in one
 * pass per trie ({@link applyTrieWrites}) instead of one `put` per key. The executor flushes once
 * per block, so this is where the state root of a block of transfers is computed; ethereumjs'
 * per-key path spent most of its time re-encoding and re-hashing the nodes near the root. Reads
 * the caches miss walk the trie directly ({@link readTrie}) and accounts stay decoded in the cache
 * ({@link DecodedAccountCache}). Checkpoints, proofs and the node format are ethereumjs' own: the
 * tries written are the tries it reads. Two ethereumjs storage quirks are fixed on the way (see
 * putStorage and _getStorageTrie); the witness builder and the stateless executor extend this
 * class, so every re-execution agrees with the node.
 */
export class BatchFlushStateManager extends MerkleStateManager {
  private readonly hashKey: (data: Uint8Array) => Uint8Array

  private readonly decodedNodes: DecodedNodeCache
  /** The node database under the account trie, shared by every storage trie (no key prefixes). */
  private readonly nodeStore: TrieNodeStore
  private readonly turns: EventLoopTurns | undefined

  constructor(
    opts: MerkleStateManagerOpts & {
      common: NonNullable<MerkleStateManagerOpts['common']>
      /** Shared between the states of one node store (nodes are content-addressed). */
      decodedNodes?: DecodedNodeCache
      /** Turns the flush gives the event loop while it updates the tries of a large block. */
      turns?: EventLoopTurns
    },
  ) {
    super(opts)
    const caches = this._caches
    if (caches?.account !== undefined && !(caches.account instanceof DecodedAccountCache)) {
      caches.account = new DecodedAccountCache(caches.settings.account)
    }
    this.hashKey = opts.common.customCrypto.keccak256 ?? keccak_256
    this.decodedNodes = opts.decodedNodes ?? new DecodedNodeCache()
    this.turns = opts.turns
    const db = this._trie.database()
    this.nodeStore = { get: (hash) => db.get(hash), put: (hash, encoded) => db.put(hash, encoded) }
  }

  override async getAccount(address: Address): Promise<Account | undefined> {
    const accounts = this._caches?.account
    if (accounts === undefined) return super.getAccount(address)
    const cached = accounts.get(address)
    if (cached === undefined) {
      const rlp = await readTrie(this._trie.root(), this.hashKey(address.bytes), this.nodeStore, this.decodedNodes)
      const account = rlp === undefined ? undefined : createAccountFromRLP(rlp)
      accounts.put(address, account)
      return account
    }
    // A copy: callers change the account they get before putting it back.
    if (cached instanceof DecodedAccount) return copyAccount(cached.account)
    // What the cache's own put stored: an absent account.
    return cached.accountRLP === undefined ? undefined : createAccountFromRLP(cached.accountRLP)
  }

  override async getStorage(address: Address, key: Uint8Array): Promise<Uint8Array> {
    const storage = this._caches?.storage
    // Prefixed storage-trie keys live under other database keys than readTrie looks up.
    if (storage === undefined || this._prefixStorageTrieKeys) return super.getStorage(address, key)
    if (key.length !== 32) throw new Error('Storage key must be 32 bytes long')
    const cached = storage.get(address, key)
    if (cached !== undefined) return RLP.decode(cached) as Uint8Array
    const account = await this.getAccount(address)
    if (account === undefined) return new Uint8Array(0)
    const value = await readTrie(account.storageRoot, this.hashKey(key), this.nodeStore, this.decodedNodes)
    storage.put(address, key, value ?? EMPTY_SLOT)
    return value === undefined ? new Uint8Array(0) : (RLP.decode(value) as Uint8Array)
  }

  /**
   * ethereumjs puts the slot in the storage cache and, because the cache's `put` returns nothing,
   * also writes it through to the storage trie at once: a full trie update per SSTORE that the
   * flush then repeats. Here the cache alone takes it; the flush writes it.
   */
  override async putStorage(address: Address, key: Uint8Array, value: Uint8Array): Promise<void> {
    const storage = this._caches?.storage
    if (storage === undefined) return super.putStorage(address, key, value)
    if (key.length !== 32) throw new Error('Storage key must be 32 bytes long')
    if (value.length > 32) throw new Error('Storage value cannot be longer than 32 bytes')
    if ((await this.getAccount(address)) === undefined) {
      throw new Error('putStorage() called on non-existing account')
    }
    storage.put(address, key, RLP.encode(unpadBytes(value)))
  }

  /**
   * ethereumjs keeps one storage trie object per account and, once made, reads through it
   * whatever the account's storageRoot says: an account deleted (SELFDESTRUCT) and created again
   * would see its old slots. Here the trie is moved to the account's own storage root first.
   */
  protected override _getStorageTrie(
    addressOrHash: Address | { bytes: Uint8Array } | Uint8Array,
    rootAccount?: Account,
  ) {
    const trie = super._getStorageTrie(addressOrHash, rootAccount)
    if (rootAccount !== undefined && !equalsBytes(trie.root(), rootAccount.storageRoot)) {
      trie.root(rootAccount.storageRoot)
    }
    return trie
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
      if (writes === undefined) {
        writes = []
        slotsByAccount.set(addressHex, writes)
      }
      // An RLP-encoded empty string (0x80) is a zeroed slot: it leaves the trie.
      const word = RLP.decode(value ?? new Uint8Array(0)) as Uint8Array
      writes.push({
        key: this.hashKey(unprefixedHexToBytes(keyHex)),
        value: word.length > 0 ? RLP.encode(word) : undefined,
      })
    }
    for (const [addressHex, writes] of slotsByAccount) {
      if (this.turns?.due()) await this.turns.take()
      const address = createAddressFromString(`0x${addressHex}`)
      const account = await this.getAccount(address)
      // Storage of an account deleted in this block goes with it.
      if (account === undefined) continue
      account.storageRoot = await applyTrieWrites(
        account.storageRoot,
        writes,
        this.nodeStore,
        this.hashKey,
        this.decodedNodes,
        this.turns,
      )
      await this.putAccount(address, account)
    }

    const accountWrites: TrieWrite32[] = []
    for (const [addressHex, elem] of caches.account.flush()) {
      if (this.turns?.due()) await this.turns.take()
      accountWrites.push({ key: this.hashKey(unprefixedHexToBytes(addressHex)), value: elem.accountRLP })
    }
    this._trie.root(
      await applyTrieWrites(
        this._trie.root(),
        accountWrites,
        this.nodeStore,
        this.hashKey,
        this.decodedNodes,
        this.turns,
      ),
    )
  }
}
