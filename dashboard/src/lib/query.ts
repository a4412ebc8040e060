export type QueryValue = string | number | boolean | null | undefined

/**
 * Builds a query string ("?a=1&b=x") from a params object, leaving out
 * empty values (undefined, null, "" and whitespace-only strings) so the API
 * never sees `status=&tag=`. Keys keep their insertion order.
 */
export function buildQuery(params: Record<string, QueryValue | QueryValue[]>): string {
  const search = new URLSearchParams()
  for (const [key, raw] of Object.entries(params)) {
    const values = Array.isArray(raw) ? raw : [raw]
    for (const value of values) {
      if (value === undefined || value === null) continue
      const text = String(value)
      if (text.trim() === '') continue
      search.append(key, text)
    }
  }
  const qs = search.toString()
  return qs ? `?${qs}` : ''
}

/** Reads the named keys from URLSearchParams into a plain object (missing → ""). */
export function readParams<K extends string>(search: URLSearchParams, keys: readonly K[]): Record<K, string> {
  const out = {} as Record<K, string>
  for (const key of keys) out[key] = search.get(key) ?? ''
  return out
}
