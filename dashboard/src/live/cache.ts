import { notifyManager, type QueryCacheNotifyEvent, type QueryClient } from '@tanstack/react-query'
import type { JobDetail, JobList, LiveEvent, RunDetail, RunList } from '../api/types'
import type { QueryKey } from './coalesce'
import { patchJobDetail, patchJobList, patchRun, patchRunList } from './events'
import type { PipelineRun } from '../api/pipelineTypes'
import { patchPipelineRun } from './pipelineEvents'

/** The cached answer under `key`, patched by `event` (the same object when it does not apply). */
export function patchCached(key: QueryKey, data: unknown, event: LiveEvent): unknown {
  if (data === undefined || event.type === 'run.log') return data
  const filter = (key[1] ?? undefined) as { status?: string } | undefined
  switch (key[0]) {
    case 'jobs':
      return patchJobList(data as JobList, event, filter?.status || undefined)
    case 'runs':
      return patchRunList(data as RunList, event, filter?.status || undefined)
    case 'job-runs':
      return patchRunList(data as RunList, event)
    case 'job':
      return patchJobDetail(data as JobDetail, event)
    case 'run':
      return key[1] === event.run_id ? patchRun(data as RunDetail, event) : data
    case 'pipeline-run':
      return patchPipelineRun(data as PipelineRun, event)
    default:
      return data
  }
}

const PATCHED = new Set(['jobs', 'runs', 'job-runs', 'job', 'run', 'pipeline-run'])

/**
 * Patch every cached answer the events change, so a badge moves as soon as they arrive. One
 * update (and so one render) per query for the whole batch, however many events it holds.
 */
export function applyPatches(qc: QueryClient, events: LiveEvent | readonly LiveEvent[]): void {
  const list = (Array.isArray(events) ? events : [events]).filter((e) => e.type !== 'run.log')
  if (list.length === 0) return
  notifyManager.batch(() => {
    for (const query of qc.getQueryCache().getAll()) {
      if (!PATCHED.has(query.queryKey[0] as string)) continue
      const old = query.state.data
      let next = old
      for (const event of list) next = patchCached(query.queryKey, next, event)
      if (next !== old) qc.setQueryData(query.queryKey, next)
    }
  })
}

/**
 * An answer that was on its way when an event arrived may have been computed before it and would
 * put an older status back. Rather than cancel that request (under load every request would be
 * cancelled by the next event and nothing would ever show), let it land and play the events that
 * arrived meanwhile over it. The refetch that follows brings the rest.
 */
export class InflightReplay {
  private inflight = new Map<string, LiveEvent[]>()
  private readonly unsubscribe: () => void

  constructor(private readonly qc: QueryClient) {
    this.unsubscribe = qc.getQueryCache().subscribe((e) => this.onCache(e))
    for (const q of qc.getQueryCache().getAll()) if (q.state.fetchStatus === 'fetching') this.inflight.set(q.queryHash, [])
  }

  /** An event arrived (after its patches were applied to the cache). */
  record(event: LiveEvent): void {
    if (event.type === 'run.log') return
    for (const events of this.inflight.values()) events.push(event)
  }

  dispose(): void {
    this.unsubscribe()
    this.inflight.clear()
  }

  private onCache(e: QueryCacheNotifyEvent) {
    if (e.type === 'removed') {
      this.inflight.delete(e.query.queryHash)
      return
    }
    if (e.type !== 'updated') return
    const { query, action } = e
    if (!PATCHED.has(query.queryKey[0] as string)) return
    if (action.type === 'fetch') {
      if (!this.inflight.has(query.queryHash)) this.inflight.set(query.queryHash, [])
    } else if (action.type === 'error') {
      this.inflight.delete(query.queryHash)
    } else if (action.type === 'success' && !action.manual) {
      const events = this.inflight.get(query.queryHash)
      this.inflight.delete(query.queryHash)
      if (!events?.length) return
      const landed = query.state.data
      let data: unknown = landed
      for (const event of events) data = patchCached(query.queryKey, data, event)
      if (data !== landed) this.qc.setQueryData(query.queryKey, data)
    }
  }
}

/**
 * Refetch the active queries under each key, leaving alone those already fetching (never cancel
 * a request for a newer one). Returns the exact keys of the queries left alone.
 */
export function refetchIdle(qc: QueryClient, keys: QueryKey[]): QueryKey[] {
  const skipped: QueryKey[] = []
  const seen = new Set<string>()
  for (const key of keys) {
    for (const q of qc.getQueryCache().findAll({ queryKey: key })) {
      if (q.state.fetchStatus === 'fetching' && !seen.has(q.queryHash)) {
        seen.add(q.queryHash)
        skipped.push(q.queryKey)
      }
    }
    void qc.invalidateQueries({ queryKey: key, predicate: (q) => q.state.fetchStatus !== 'fetching' }, { cancelRefetch: false })
  }
  return skipped
}
