/** JSON-RPC 2.0 message pieces shared by the dispatcher and the front-end thread (no imports: the thread loads it). */

export type JsonRpcId = string | number | null

export function isValidId(id: unknown): id is JsonRpcId {
  return id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))
}

export function resultResponse(id: JsonRpcId, resultJson: string): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${resultJson}}`
}
