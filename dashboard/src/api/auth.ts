// Bearer token kept in localStorage; the API answers 401 when auth is on and the token is missing or wrong.
export const TOKEN_KEY = 'tickwork.token'

type Listener = () => void
const listeners = new Set<Listener>()
let unauthorized = false

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage
  } catch {
    return null
  }
}

export function getToken(): string | null {
  return storage()?.getItem(TOKEN_KEY) || null
}

export function setToken(token: string | null): void {
  const s = storage()
  if (!s) return
  if (token) s.setItem(TOKEN_KEY, token)
  else s.removeItem(TOKEN_KEY)
}

export function isUnauthorized(): boolean {
  return unauthorized
}

export function setUnauthorized(value: boolean): void {
  if (unauthorized === value) return
  unauthorized = value
  for (const l of listeners) l()
}

export function subscribeAuth(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}
