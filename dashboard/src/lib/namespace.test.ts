import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { endpoints } from '../api/endpoints'
import { keys } from '../api/keys'
import { wsUrl } from '../live/socket'
import { deniedReason, may, readsEveryNamespace, roleIn, type Identity } from './access'
import { ALL, initialNamespace, jobLink, listNamespace, namespaceChoice, NS_KEY, resolveNamespace, searchWithNamespace, setNamespaceChoice, subscribeNamespace } from './namespace'

function memoryStorage() {
  const data = new Map<string, string>()
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, String(v)),
    removeItem: (k: string) => void data.delete(k),
    data,
  }
}

describe('the namespace chosen', () => {
  let storage: ReturnType<typeof memoryStorage>
  beforeEach(() => {
    storage = memoryStorage()
    vi.stubGlobal('localStorage', storage)
  })
  afterEach(() => vi.unstubAllGlobals())

  it('is remembered, and listeners hear of a new one (only)', () => {
    const heard: (string | null)[] = []
    const stop = subscribeNamespace(() => heard.push(namespaceChoice()))
    setNamespaceChoice('payments')
    setNamespaceChoice('payments')
    setNamespaceChoice(ALL)
    stop()
    setNamespaceChoice('search')
    expect(heard).toEqual(['payments', ALL])
    expect(storage.data.get(NS_KEY)).toBe('search')
  })

  it('comes from the URL first, then from what was remembered, else waits for the list', () => {
    expect(initialNamespace('payments', 'search')).toBe('payments')
    expect(initialNamespace(null, 'search')).toBe('search')
    expect(initialNamespace('', 'search')).toBe('search')
    expect(initialNamespace(null, null)).toBeNull()
  })

  it('settles on one the token may read', () => {
    const two = ['ops', 'see']
    expect(resolveNamespace('see', two, false)).toBe('see')
    expect(resolveNamespace('payments', two, false)).toBe('ops') // not readable: the first
    expect(resolveNamespace(ALL, two, false)).toBe('ops') // "all" is for tokens that read `*`
    expect(resolveNamespace(null, ['ops', 'default'], false)).toBe('default')
    expect(resolveNamespace(null, ['default', 'ops'], true)).toBe(ALL)
    expect(resolveNamespace('empty-yet', ['default'], true)).toBe('empty-yet') // it may read every one
    expect(resolveNamespace(null, [], false)).toBeNull()
  })

  it('rides in the URL, with the other parameters kept', () => {
    expect(searchWithNamespace('?status=failed', 'payments')).toBe('?status=failed&ns=payments')
    expect(searchWithNamespace('?ns=search&q=x', 'payments')).toBe('?ns=payments&q=x')
    expect(searchWithNamespace('?ns=payments', 'payments')).toBe('?ns=payments')
    expect(searchWithNamespace('?ns=payments&q=x', ALL)).toBe('?q=x') // all namespaces: none
    expect(searchWithNamespace('', ALL)).toBe('')
    expect(searchWithNamespace('?q=x', null)).toBe('?q=x')
  })

  it('goes with links to a job by name, a dependency of another namespace to its own', () => {
    expect(jobLink('nightly', 'payments')).toBe('/jobs/nightly?ns=payments')
    expect(jobLink('search/reindex', 'payments')).toBe('/jobs/reindex?ns=search')
    expect(jobLink('a b')).toBe('/jobs/a%20b')
    expect(listNamespace(ALL)).toBeUndefined()
    expect(listNamespace(null)).toBeUndefined()
    expect(listNamespace('payments')).toBe('payments')
  })
})

describe('the requests a namespace shapes', () => {
  const asked: { url: string; method: string }[] = []
  beforeEach(() => {
    asked.length = 0
    vi.stubGlobal('localStorage', memoryStorage())
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      asked.push({ url, method: init.method ?? 'GET' })
      return new Response('{}', { status: 200 })
    })
  })
  afterEach(() => vi.unstubAllGlobals())

  it('keeps every list, job route and the live stream to the one chosen', async () => {
    setNamespaceChoice('payments')
    await endpoints.jobs({ status: 'failed', limit: 50 })
    await endpoints.runs({ job: 'nightly' })
    await endpoints.deadLetters(false, { limit: 50 })
    await endpoints.deadLetterGroups()
    await endpoints.events({ job: 'nightly', type: ['run.skipped', 'run.missed'] })
    await endpoints.dag()
    await endpoints.job('nightly')
    await endpoints.triggerJob('nightly')
    await endpoints.pauseJob('nightly')
    await endpoints.deleteJob('nightly', true)
    await endpoints.jobRuns('nightly', { limit: 5 })
    await endpoints.bulkCancelRuns({ ids: ['run-1'] } as never)
    expect(asked.map((a) => a.url)).toEqual([
      '/api/jobs?namespace=payments&status=failed&limit=50',
      '/api/runs?namespace=payments&job=nightly',
      '/api/dead-letters?namespace=payments&resolved=false&limit=50',
      '/api/dead-letters/groups?namespace=payments',
      '/api/events?namespace=payments&job=nightly&type=run.skipped&type=run.missed',
      '/api/dag?namespace=payments',
      '/api/jobs/nightly?namespace=payments',
      '/api/jobs/nightly/trigger?namespace=payments',
      '/api/jobs/nightly/pause?namespace=payments',
      '/api/jobs/nightly?namespace=payments&force=true',
      '/api/jobs/nightly/runs?namespace=payments&limit=5',
      '/api/runs/bulk-cancel?namespace=payments',
    ])
    expect(wsUrl({ since: 3, namespace: listNamespace() }, { protocol: 'http:', host: 'h' })).toBe('ws://h/api/ws?since=3&namespace=payments')
  })

  it('sends none with all namespaces shown; a job keeps its own namespace for its edits and DAG', async () => {
    setNamespaceChoice(ALL)
    await endpoints.jobs({ limit: 50 })
    await endpoints.job('job-abc')
    await endpoints.updateJob('job-abc', { name: 'x' }, 'search')
    await endpoints.dag(undefined, 'search')
    expect(asked.map((a) => a.url)).toEqual(['/api/jobs?limit=50', '/api/jobs/job-abc', '/api/jobs/job-abc?namespace=search', '/api/dag?namespace=search'])
    expect(wsUrl({ namespace: listNamespace() }, { protocol: 'http:', host: 'h' })).toBe('ws://h/api/ws')
  })

  it('keeps two namespaces apart in the cache', () => {
    setNamespaceChoice('payments')
    const a = [keys.jobs({}), keys.job('nightly'), keys.runs({}), keys.deadLetters('false'), keys.dag, keys.events('nightly')]
    setNamespaceChoice('search')
    const b = [keys.jobs({}), keys.job('nightly'), keys.runs({}), keys.deadLetters('false'), keys.dag, keys.events('nightly')]
    a.forEach((key, i) => {
      expect(key).not.toEqual(b[i])
      expect(key[0]).toBe(b[i]?.[0]) // live events still invalidate by the resource's prefix
    })
    expect(keys.run('run-1')).toEqual(['run', 'run-1']) // a run by id is the same everywhere
  })
})

describe('roles per namespace', () => {
  const scoped: Identity = { name: 'two', role: 'operator', auth: true, scopes: { ops: 'operator', see: 'viewer' } }
  const everywhere: Identity = { name: 'v', role: 'viewer', auth: true, scopes: { '*': 'viewer', ops: 'admin' } }

  it('follow the token scopes, `*` for the namespaces not named', () => {
    expect(roleIn(scoped, 'ops')).toBe('operator')
    expect(roleIn(scoped, 'see')).toBe('viewer')
    expect(roleIn(scoped, 'other')).toBeNull()
    expect(roleIn(everywhere, 'other')).toBe('viewer')
    expect(roleIn({ name: 'old', role: 'operator', auth: true }, 'any')).toBe('operator') // no scopes: one role
    expect(may(scoped, 'operate', 'ops')).toBe(true)
    expect(may(scoped, 'operate', 'see')).toBe(false)
    expect(may(everywhere, 'admin', 'ops')).toBe(true)
    expect(readsEveryNamespace(scoped)).toBe(false)
    expect(readsEveryNamespace(everywhere)).toBe(true)
    expect(readsEveryNamespace({ name: 'open', role: 'admin', auth: false })).toBe(true)
  })

  it('say why an action is disabled in the namespace shown', () => {
    expect(deniedReason(scoped, 'operate', 'triggering', 'ops')).toBeNull()
    expect(deniedReason(scoped, 'operate', 'triggering', 'see')).toBe("Viewer tokens are read-only in namespace 'see': triggering needs an operator token.")
    expect(deniedReason(scoped, 'operate', 'triggering', 'other')).toBe("This token has no role in namespace 'other': triggering needs an operator token there.")
    const one: Identity = { name: 'v', role: 'viewer', auth: true, scopes: { '*': 'viewer' } }
    expect(deniedReason(one, 'operate', 'triggering', 'default')).toBe('Viewer tokens are read-only: triggering needs an operator token.')
    expect(deniedReason(scoped, 'admin', 'editing a job', 'ops')).toBe("Operator tokens run, pause and cancel jobs but do not change them in namespace 'ops': editing a job needs an admin token.")
  })
})
