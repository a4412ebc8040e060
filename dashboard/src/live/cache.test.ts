import { describe, expect, it } from 'vitest'
import { QueryClient, QueryObserver } from '@tanstack/react-query'
import type { Job, JobList, LiveEvent } from '../api/types'
import { applyPatches, InflightReplay, refetchIdle } from './cache'

const ev = (type: string, extra: Partial<LiveEvent> = {}): LiveEvent => ({ id: 1, type, ts: '2026-01-15T12:00:00Z', job_id: 'job-1', run_id: 'run-1', data: {}, ...extra })
const list = (status: string): JobList => ({ jobs: [{ id: 'job-1', name: 'a', status, enabled: true } as Job], total: 1, next_cursor: null })

function deferred<T>() {
  let resolve!: (v: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

function client() {
  return new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } })
}

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('refetchIdle', () => {
  it('refetches idle queries and leaves a query already fetching alone, without cancelling it', async () => {
    const qc = client()
    const calls: string[] = []
    const slow = deferred<JobList>()
    let aborted = false
    const jobsKey = ['jobs', { q: '' }]
    // active observers (a mounted page) so invalidation refetches
    const jobs = new QueryObserver(qc, {
      queryKey: jobsKey,
      queryFn: ({ signal }) => {
        calls.push('jobs')
        signal.addEventListener('abort', () => (aborted = true))
        return slow.promise
      },
    })
    const runs = new QueryObserver(qc, { queryKey: ['runs', {}], queryFn: () => (calls.push('runs'), Promise.resolve({ runs: [], total: 0, next_cursor: null })) })
    const unsub = [jobs.subscribe(() => {}), runs.subscribe(() => {})]
    await tick()
    expect(calls).toEqual(['jobs', 'runs'])
    calls.length = 0

    const skipped = refetchIdle(qc, [['jobs'], ['runs']])
    await tick()
    expect(skipped).toEqual([jobsKey])
    expect(calls).toEqual(['runs'])
    expect(aborted).toBe(false)
    slow.resolve(list('queued'))
    await tick()
    expect(qc.getQueryData(jobsKey)).toEqual(list('queued'))
    unsub.forEach((u) => u())
  })
})

describe('InflightReplay', () => {
  it('plays the events that arrived while a request was on its way over its (older) answer', async () => {
    const qc = client()
    const key = ['jobs', {}]
    qc.setQueryData(key, list('idle'))
    const replay = new InflightReplay(qc)
    const answer = deferred<JobList>()
    const fetching = qc.fetchQuery({ queryKey: key, queryFn: () => answer.promise })
    await tick()
    // the job is paused while the answer (computed before) travels
    const paused = ev('job.paused', { run_id: null })
    applyPatches(qc, paused)
    replay.record(paused)
    expect(qc.getQueryData<JobList>(key)?.jobs[0]?.status).toBe('paused')
    answer.resolve(list('queued'))
    await fetching
    expect(qc.getQueryData<JobList>(key)?.jobs[0]?.status).toBe('paused')
    replay.dispose()
  })

  it('leaves an answer alone when no event arrived while it travelled', async () => {
    const qc = client()
    const key = ['jobs', {}]
    const replay = new InflightReplay(qc)
    replay.record(ev('job.paused', { run_id: null })) // before the request: already in its answer
    await qc.fetchQuery({ queryKey: key, queryFn: () => Promise.resolve(list('running')) })
    expect(qc.getQueryData<JobList>(key)?.jobs[0]?.status).toBe('running')
    replay.dispose()
  })
})
