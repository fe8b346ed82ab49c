import { RpcError } from '../errors.ts'

/** The JSON-RPC error `promise` rejects with; fails the test if it resolves or throws something else. */
export async function rejection(promise: unknown): Promise<{ rpcCode: number; message: string }> {
  try {
    await promise
  } catch (error) {
    if (error instanceof RpcError) return { rpcCode: error.rpcCode, message: error.message }
    throw error
  }
  throw new Error('expected a rejection')
}
