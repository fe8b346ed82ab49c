import { type Abi, BaseError, decodeErrorResult, type Hex, type PublicClient, type TransactionReceipt } from 'viem'

/**
 * The custom error a failed L1 call or transaction reverted with, decoded against `abi`
 * (`'unknown_revert'` for revert data `abi` does not know, `'reverted'` when the node said it
 * reverted without data), or undefined when the failure was not a revert (a network error).
 */
export function revertName(error: unknown, abi: Abi): string | undefined {
  let data: Hex | undefined
  let reverted = false
  if (error instanceof BaseError) {
    error.walk((e) => {
      const candidate = (e as { data?: unknown }).data
      if (typeof candidate === 'string' && /^0x[0-9a-fA-F]*$/.test(candidate) && candidate.length >= 10) {
        data = candidate as Hex
        return true
      }
      if (typeof candidate === 'object' && candidate !== null) {
        const nested = (candidate as { data?: unknown }).data
        if (typeof nested === 'string') {
          data = nested as Hex
          return true
        }
        if (typeof (candidate as { errorName?: unknown }).errorName === 'string') reverted = true
      }
      if (/revert/i.test((e as Error).message ?? '')) reverted = true
      return false
    })
  }
  if (data !== undefined) {
    try {
      return decodeErrorResult({ abi, data }).errorName
    } catch {
      return 'unknown_revert'
    }
  }
  return reverted ? 'reverted' : undefined
}

/** The metric label of a failed driver round: the L2 node (errors coded `L2_…`) or the L1 RPC. */
export function rpcFailureReason(error: unknown): string {
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && code.startsWith('L2_')) return 'l2_rpc'
  return 'l1_rpc'
}

/**
 * The error a mined transaction reverted with: its call replayed on the state before its block (with
 * its blob versioned hashes, so `blobhash` answers as it did), decoded against `abi`; `'reverted'`
 * when the replay names nothing.
 */
export async function replayRevertName(l1: PublicClient, receipt: TransactionReceipt, abi: Abi): Promise<string> {
  const tx = await l1.getTransaction({ hash: receipt.transactionHash })
  try {
    await l1.request({
      method: 'eth_call',
      params: [
        {
          from: tx.from,
          to: tx.to ?? undefined,
          data: tx.input,
          blobVersionedHashes: tx.blobVersionedHashes,
        } as never,
        `0x${(receipt.blockNumber - 1n).toString(16)}`,
      ],
    })
  } catch (error) {
    return revertName(error, abi) ?? 'reverted'
  }
  return 'reverted'
}
