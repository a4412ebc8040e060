// The namespace the dashboard shows (issue 10): one the token may read, or every one (ALL) when it
// may read `*`. Remembered in localStorage and carried in the URL (`?ns=`, none for ALL), the URL
// winning, so a link opens on the namespace it was copied from. Requests read it from here (api/endpoints.ts).

/** "All namespaces": lists unfiltered; job names are looked up in `default`. */
export const ALL = '*'
export const NS_KEY = 'tickwork.ns'
export const NS_PARAM = 'ns'
export const DEFAULT_NAMESPACE = 'default'

function stored(): string | null {
  try {
    return localStorage.getItem(NS_KEY)
  } catch {
    return null
  }
}

function fromUrl(): string | null {
  if (typeof window === 'undefined') return null
  return new URLSearchParams(window.location.search).get(NS_PARAM)
}

/** The choice on load: the URL's, else the remembered one, else none yet (see `resolveNamespace`). */
export function initialNamespace(url: string | null = fromUrl(), remembered: string | null = stored()): string | null {
  return url || remembered || null
}

let current: string | null = typeof window === 'undefined' ? null : initialNamespace()
const listeners = new Set<() => void>()

export function namespaceChoice(): string | null {
  return current
}

/** Choose a namespace (or ALL); remembered for the next visit. */
export function setNamespaceChoice(ns: string): void {
  if (ns === current) return
  current = ns
  try {
    localStorage.setItem(NS_KEY, ns)
  } catch {
    /* private mode: lasts for this page */
  }
  for (const l of listeners) l()
}

export function subscribeNamespace(listener: () => void): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

/** What `?namespace=` a list sends for a choice: none for ALL (or before one is known). */
export function listNamespace(choice: string | null = current): string | undefined {
  return choice && choice !== ALL ? choice : undefined
}

/**
 * The namespace a choice may settle on, given those the token may read (GET /api/namespaces)
 * and whether it may read every one: the choice when it is still offered, else ALL where the
 * token may read `*`, else `default` when offered, else the first.
 */
export function resolveNamespace(choice: string | null, readable: readonly string[], mayReadAll: boolean): string | null {
  if (choice === ALL && mayReadAll) return ALL
  if (choice && choice !== ALL && (mayReadAll || readable.includes(choice))) return choice
  if (mayReadAll) return ALL
  if (readable.includes(DEFAULT_NAMESPACE)) return DEFAULT_NAMESPACE
  return readable[0] ?? null
}

/** The `?ns=` a choice shows in the URL: none for ALL (a link without one opens on the
 * namespace its reader chose last), none before a choice is known. */
export function urlNamespace(choice: string | null): string | null {
  return choice && choice !== ALL ? choice : null
}

/** `search` with `?ns=` set to the choice (taken out for ALL; left alone when there is none). */
export function searchWithNamespace(search: string, choice: string | null): string {
  if (!choice) return search
  const params = new URLSearchParams(search)
  const want = urlNamespace(choice)
  if (params.get(NS_PARAM) === want) return search
  if (want) params.set(NS_PARAM, want)
  else params.delete(NS_PARAM)
  const s = params.toString()
  return s ? `?${s}` : ''
}

/** A link to a job by name in its namespace (`/jobs/nightly?ns=payments`); a name of another
 * namespace comes as `namespace/name` (a cross-namespace dependency). */
export function jobLink(ref: string, namespace?: string | null): string {
  const slash = ref.indexOf('/')
  const name = slash > 0 ? ref.slice(slash + 1) : ref
  if (slash > 0) namespace = ref.slice(0, slash)
  const path = `/jobs/${encodeURIComponent(name)}`
  return namespace ? `${path}?${NS_PARAM}=${encodeURIComponent(namespace)}` : path
}
