import { getToken, setUnauthorized } from './auth'
import { ApiError } from './errors'
import type { ApiErrorBody } from './types'

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE'
  body?: unknown
  signal?: AbortSignal
  /** Do not flip the app into the sign-in screen on 401 (used by the sign-in check itself). */
  quiet401?: boolean
  token?: string | null
}

function parseError(status: number, statusText: string, payload: unknown): ApiError {
  const body = payload as Partial<ApiErrorBody> | null
  if (body && typeof body === 'object' && body.error && typeof body.error === 'object') {
    const { code, message, details } = body.error
    return new ApiError(status, code ?? String(status), message || statusText || `HTTP ${status}`, details)
  }
  // FastAPI's default shape, in case a route answers before the error handler: {"detail": ...}
  const detail = (payload as { detail?: unknown } | null)?.detail
  if (detail !== undefined) {
    const message = typeof detail === 'string' ? detail : statusText || `HTTP ${status}`
    return new ApiError(status, String(status), message, typeof detail === 'string' ? undefined : detail)
  }
  return new ApiError(status, String(status), statusText || `HTTP ${status}`)
}

/** JSON request against the coordinator's API; throws ApiError on anything but 2xx. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' }
  const token = options.token !== undefined ? options.token : getToken()
  if (token) headers.Authorization = `Bearer ${token}`
  let body: string | undefined
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(options.body)
  }
  let res: Response
  try {
    res = await fetch(path, { method: options.method ?? 'GET', headers, body, signal: options.signal })
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e
    throw new ApiError(0, 'network', 'Cannot reach the tickwork API')
  }
  const text = await res.text()
  let payload: unknown = null
  if (text) {
    try {
      payload = JSON.parse(text)
    } catch {
      payload = null
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !options.quiet401) setUnauthorized(true)
    throw parseError(res.status, res.statusText, payload)
  }
  return payload as T
}
