import { useEffect, useRef, useSyncExternalStore } from 'react'
import { useLocation, useNavigate } from 'react-router'
import { useQuery } from '@tanstack/react-query'
import { namespacesQuery, useIdentity } from '../api/access'
import { readsEveryNamespace } from '../lib/access'
import { formatNumber } from '../lib/format'
import { ALL, namespaceChoice, NS_PARAM, resolveNamespace, searchWithNamespace, urlNamespace, setNamespaceChoice, subscribeNamespace } from '../lib/namespace'

export function useNamespaceChoice(): string | null {
  return useSyncExternalStore(subscribeNamespace, namespaceChoice, namespaceChoice)
}

function useNamespaces() {
  return useQuery(namespacesQuery)
}

/**
 * Keeps the choice and the URL together: a `?ns=` in the URL (a link followed, back and forward)
 * becomes the choice; a page opened without one gets the choice added (none for all namespaces); a choice the token may
 * not read (or none yet) settles on one it may, once the namespaces are known. Data of the
 * namespace left is not shown under the new one: keys of namespaced data end with the choice
 * (api/keys.ts) and the pages are drawn again when it changes (App.tsx).
 */
export function NamespaceSync() {
  const location = useLocation()
  const navigate = useNavigate()
  const choice = useNamespaceChoice()
  const identity = useIdentity()
  const listed = useNamespaces()
  const namespaces = listed.data?.namespaces
  const failed = listed.isError
  const inUrl = new URLSearchParams(location.search).get(NS_PARAM)

  useEffect(() => {
    // pages wait for a choice (App.tsx): without the list, show what the token may read
    if (failed && !namespaceChoice()) setNamespaceChoice(ALL)
  }, [failed])

  useEffect(() => {
    if (!namespaces || !identity) return
    const settled = resolveNamespace(choice, namespaces.map((n) => n.name), readsEveryNamespace(identity))
    if (settled && settled !== choice) setNamespaceChoice(settled)
  }, [choice, namespaces, identity])

  const seen = useRef(inUrl)
  useEffect(() => {
    const fresh = inUrl !== seen.current
    seen.current = inUrl
    if (fresh && inUrl) {
      if (inUrl !== namespaceChoice()) setNamespaceChoice(inUrl)
      return
    }
    if (choice && inUrl !== urlNamespace(choice)) {
      navigate({ pathname: location.pathname, search: searchWithNamespace(location.search, choice), hash: location.hash }, { replace: true })
    }
  }, [choice, inUrl, location.pathname, location.search, location.hash, navigate])

  return null
}

/** The namespace every page shows: those the token may read (with their job counts), and all of
 * them when it may read every one. Remembered, and carried in the URL (`?ns=`). In the top bar,
 * and on a phone (no room there) in the navigation drawer (`inNav`). */
export function NamespaceSwitch({ inNav = false }: { inNav?: boolean }) {
  const choice = useNamespaceChoice()
  const identity = useIdentity()
  const location = useLocation()
  const navigate = useNavigate()
  const namespaces = useNamespaces().data?.namespaces ?? []
  const all = readsEveryNamespace(identity)
  const value = choice ?? ''
  const listed = namespaces.some((n) => n.name === value) || value === ALL || !value
  const choose = (ns: string) => {
    setNamespaceChoice(ns)
    // a page of one job or run belongs to the namespace left: go to its list
    const list = /^\/(jobs|runs)\/[^/]+/.exec(location.pathname)
    const pathname = list ? `/${list[1]}` : location.pathname
    navigate({ pathname, search: searchWithNamespace(list ? '' : dropPaging(location.search), ns) })
  }
  return (
    <label className={`ns-switch${inNav ? ' ns-switch-nav' : ''}`} title="The namespace shown on every page">
      <span className="ns-switch-label">Namespace</span>
      <select className="select select-sm" aria-label="Namespace shown" value={value} onChange={(e) => choose(e.target.value)} data-testid={inNav ? 'namespace-switch-nav' : 'namespace-switch'}>
        {!value && <option value="">…</option>}
        {all && <option value={ALL}>All namespaces</option>}
        {!listed && <option value={value}>{value}</option>}
        {namespaces.map((n) => (
          <option key={n.name} value={n.name} data-role={n.role ?? ''}>
            {n.name} ({formatNumber(n.jobs)} {n.jobs === 1 ? 'job' : 'jobs'}{n.role ? ` · ${n.role}` : ''})
          </option>
        ))}
      </select>
    </label>
  )
}

/** A list's position (cursor, offset) means nothing in another namespace. */
function dropPaging(search: string): string {
  const params = new URLSearchParams(search)
  params.delete('cursor')
  params.delete('offset')
  params.delete('page')
  const s = params.toString()
  return s ? `?${s}` : ''
}

/** Whether every namespace is shown, so rows name their own. */
export function useAllNamespaces(): boolean {
  return useNamespaceChoice() === ALL
}

/** A row's namespace, where rows of several are listed together. */
export function NamespaceBadge({ namespace }: { namespace: string }) {
  return (
    <span className="pill ns-pill mono" data-testid="ns-badge" title={`Namespace ${namespace}`}>
      {namespace}
    </span>
  )
}
