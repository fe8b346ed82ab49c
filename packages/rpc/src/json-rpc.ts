/** JSON-RPC 2.0 message pieces shared by the dispatcher and the front-end thread (no imports: the thread loads it). */

/** A numeric id as the request spelled it, for one JSON.parse cannot hold exactly (beyond 2^53, say). */
export class SourceId {
  constructor(readonly json: string) {}
}

export type JsonRpcId = string | number | null | SourceId

export function isValidId(id: unknown): id is JsonRpcId {
  return (
    id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id)) || id instanceof SourceId
  )
}

/** An id as it goes back: geth echoes the request's id as sent. */
export function idJson(id: JsonRpcId): string {
  return id instanceof SourceId ? id.json : JSON.stringify(id)
}

export function resultResponse(id: JsonRpcId, resultJson: string): string {
  return `{"jsonrpc":"2.0","id":${idJson(id)},"result":${resultJson}}`
}

/** A number id that JSON.parse may not have kept as sent: not an integer, or one beyond 2^53. */
export function isInexactId(id: unknown): boolean {
  return typeof id === 'number' && !Number.isSafeInteger(id)
}

/**
 * geth echoes an id as sent, and JSON.parse rounds a number beyond 2^53, which a client then cannot
 * match: this puts back, as `text` spells it, the id of each request in `message` (the parse of
 * `text`: one request object, or a batch of them) that is such a number. An exact id costs a check.
 */
export function restoreSourceIds(message: unknown, text: string): void {
  if (Array.isArray(message)) {
    if (!message.some((item) => isRequest(item) && isInexactId(item.id))) return
    let i = skipSpace(text, skipSpace(text, 0) + 1)
    for (const item of message) {
      const end = skipValue(text, i)
      if (isRequest(item) && isInexactId(item.id)) item.id = sourceIdOf(text, i)
      i = skipSpace(text, skipSpace(text, end) + 1)
    }
  } else if (isRequest(message) && isInexactId(message.id)) {
    message.id = sourceIdOf(text, skipSpace(text, 0))
  }
}

function isRequest(value: unknown): value is { id?: unknown } {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/*
 * A scanner over text JSON.parse has accepted: it finds where values end, it does not validate.
 */

function skipSpace(text: string, i: number): number {
  let at = i
  while (at < text.length && (text[at] === ' ' || text[at] === '\t' || text[at] === '\n' || text[at] === '\r')) at++
  return at
}

function skipString(text: string, i: number): number {
  let at = i + 1
  while (text[at] !== '"') at += text[at] === '\\' ? 2 : 1
  return at + 1
}

function skipValue(text: string, i: number): number {
  const first = text[i]
  if (first === '"') return skipString(text, i)
  if (first === '{' || first === '[') {
    let depth = 0
    let at = i
    for (;;) {
      const c = text[at]
      if (c === '"') {
        at = skipString(text, at)
        continue
      }
      if (c === '{' || c === '[') depth++
      else if ((c === '}' || c === ']') && --depth === 0) return at + 1
      at++
    }
  }
  let at = i
  while (at < text.length && !',}] \t\n\r'.includes(text[at]!)) at++
  return at
}

/** The `id` member of the object at `i` as written (the last one, as JSON.parse keeps). */
function sourceIdOf(text: string, i: number): SourceId {
  let id = ''
  let at = skipSpace(text, i + 1)
  while (text[at] === '"') {
    const keyEnd = skipString(text, at)
    const key = text.slice(at, keyEnd)
    const valueStart = skipSpace(text, skipSpace(text, keyEnd) + 1)
    const valueEnd = skipValue(text, valueStart)
    if (key === '"id"' || (key.includes('\\') && JSON.parse(key) === 'id')) id = text.slice(valueStart, valueEnd)
    at = skipSpace(text, valueEnd)
    if (text[at] === ',') at = skipSpace(text, at + 1)
  }
  return new SourceId(id)
}
