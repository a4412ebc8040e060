/** An error answered by the API ({"error":{"code","message","details"}}) or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: unknown

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.details = details
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError
}

export function errorMessage(e: unknown): string {
  if (e instanceof ApiError) return e.message
  if (e instanceof Error) return e.message
  return String(e)
}

function fieldName(loc: unknown): string | null {
  if (typeof loc === 'string') return loc.replace(/^body\./, '')
  if (Array.isArray(loc)) {
    const parts = loc.filter((p) => p !== 'body' && p !== 'query' && p !== 'path').map(String)
    return parts.length ? parts.join('.') : null
  }
  return null
}

function messageOf(v: unknown): string | null {
  if (typeof v === 'string') return v
  if (Array.isArray(v)) {
    const msgs = v.map(messageOf).filter((m): m is string => !!m)
    return msgs.length ? msgs.join('; ') : null
  }
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>
    const m = o.msg ?? o.message ?? o.error
    return typeof m === 'string' ? m : null
  }
  return null
}

/**
 * Turns the `details` of a 422 into {field: message}. Accepts the shapes a
 * FastAPI backend is likely to send:
 *   [{"loc": ["body","schedule"], "msg": "..."}]          (pydantic errors)
 *   [{"field": "schedule", "message": "..."}]
 *   {"schedule": "..."} or {"schedule": ["...", "..."]}
 *   {"errors": [...]} / {"fields": {...}}                 (wrapped forms)
 * The top-level field of a nested path (e.g. "request.url") is also filled so
 * the form can show it next to the right input.
 */
export function fieldErrors(details: unknown): Record<string, string> {
  const out: Record<string, string> = {}
  const add = (field: string | null, message: string | null) => {
    if (!field || !message) return
    const clean = message.replace(/^Value error, /, '')
    out[field] = out[field] ? `${out[field]}; ${clean}` : clean
    const top = field.split('.')[0]
    if (top && top !== field && !out[top]) out[top] = clean
  }
  if (Array.isArray(details)) {
    for (const item of details) {
      if (!item || typeof item !== 'object') continue
      const o = item as Record<string, unknown>
      add(fieldName(o.loc ?? o.field ?? o.path ?? o.name), messageOf(o))
    }
    return out
  }
  if (details && typeof details === 'object') {
    const o = details as Record<string, unknown>
    if (Array.isArray(o.errors)) return fieldErrors(o.errors)
    if (o.fields && typeof o.fields === 'object') return fieldErrors(o.fields)
    if (typeof o.field === 'string') {
      add(o.field, messageOf(o.message ?? o.msg ?? o.reason))
      return out
    }
    for (const [k, v] of Object.entries(o)) add(k, messageOf(v))
  }
  return out
}
