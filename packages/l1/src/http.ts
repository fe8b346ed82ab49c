import { BlobSourceError } from './errors.ts'

export const DEFAULT_TIMEOUT_MS = 10_000

export type JsonResponse = { status: number; body: unknown }

/**
 * One HTTP exchange with a timeout, mapping transport failures to {@link BlobSourceError}s:
 * `TIMEOUT`, `UNREACHABLE`, and `BAD_RESPONSE` for a 2xx body that is not JSON. Non-2xx statuses are
 * returned, not thrown, so each caller decides what a 404 means.
 */
export async function requestJson(
  url: string,
  init: { method?: 'GET' | 'POST'; body?: unknown; timeoutMs?: number; source: string },
): Promise<JsonResponse> {
  const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS
  let response: Response
  let text: string
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers:
        init.body === undefined
          ? { accept: 'application/json' }
          : { accept: 'application/json', 'content-type': 'application/json' },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(timeoutMs),
    })
    text = await response.text()
  } catch (cause) {
    const name = (cause as { name?: string }).name
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new BlobSourceError('TIMEOUT', `${init.source} did not answer ${redact(url)} within ${timeoutMs} ms.`, {
        cause,
        details: { source: init.source, url: redact(url), timeoutMs },
      })
    }
    throw new BlobSourceError('UNREACHABLE', `${init.source} at ${redact(url)} is unreachable: ${causeText(cause)}.`, {
      cause,
      details: { source: init.source, url: redact(url) },
    })
  }
  if (!response.ok) return { status: response.status, body: tryParse(text) ?? text.slice(0, 500) }
  const body = tryParse(text)
  if (body === undefined) {
    throw new BlobSourceError('BAD_RESPONSE', `${init.source} answered ${redact(url)} with a body that is not JSON.`, {
      details: { source: init.source, url: redact(url), status: response.status, body: text.slice(0, 200) },
    })
  }
  return { status: response.status, body }
}

export function httpError(source: string, url: string, response: JsonResponse): BlobSourceError {
  const message = (response.body as { message?: unknown } | undefined)?.message
  return new BlobSourceError(
    'HTTP_ERROR',
    `${source} answered ${redact(url)} with HTTP ${response.status}${typeof message === 'string' ? `: ${message}` : ''}.`,
    { details: { source, url: redact(url), status: response.status, body: response.body } },
  )
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

/** Strips credentials and query strings (API keys often ride there) from URLs placed in errors and logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.username = ''
    parsed.password = ''
    const hasQuery = parsed.search !== ''
    parsed.search = ''
    return parsed.toString() + (hasQuery ? '?…' : '')
  } catch {
    return '(invalid URL)'
  }
}

function causeText(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error))
}
