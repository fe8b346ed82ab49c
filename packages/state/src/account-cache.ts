import { AccountCache } from '@ethereumjs/statemanager'
import { Account, type Address, bytesToUnprefixedHex } from '@ethereumjs/util'
import { encodeRlp } from '@cairn/primitives'

/**
 * A cached account kept decoded; its RLP is made only when asked for (the flush asks once per
 * block). ethereumjs serialized the account on every put and decoded it on every get, and a
 * transfer puts and gets its sender, recipient and coinbase several times each.
 */
export class DecodedAccount {
  private rlp: Uint8Array | undefined

  constructor(readonly account: Account) {}

  get accountRLP(): Uint8Array {
    // `account.serialize()`, in one allocation.
    this.rlp ??= encodeRlp(this.account.raw())
    return this.rlp
  }
}

/** ethereumjs' account cache (same checkpoints, diffs and flush), holding {@link DecodedAccount}s. */
export class DecodedAccountCache extends AccountCache {
  override put(address: Address, account: Account | undefined, couldBePartialAccount = false): void {
    if (account === undefined || couldBePartialAccount) {
      super.put(address, account, couldBePartialAccount)
      return
    }
    const key = bytesToUnprefixedHex(address.bytes)
    this._saveCachePreState(key)
    // A copy: the caller may go on changing the object it put.
    const element = new DecodedAccount(copyAccount(account))
    if (this._lruCache !== undefined) this._lruCache.set(key, element)
    else this._orderedMapCache!.setElement(key, element)
    this._stats.writes += 1
  }
}

export function copyAccount(account: Account): Account {
  return new Account(account.nonce, account.balance, account.storageRoot, account.codeHash)
}
