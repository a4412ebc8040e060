import { describe, expect, it } from 'vitest'
import type { Job, JobList, LiveEvent, RunList } from '../api/types'
import { capLog, eventRunStatus, eventToKeys, mergeLog, overlapLength, patchJobList, patchRunList } from './events'

const ev = (type: string, extra: Partial<LiveEvent> = {}): LiveEvent => ({ id: 1, type, ts: '2026-01-15T12:00:00Z', job_id: 'job-1', run_id: 'run-1', data: {}, ...extra })

describe('eventToKeys', () => {
  it('ignores log chunks', () => {
    expect(eventToKeys(ev('run.log'))).toEqual([])
  })
  it('invalidates run, job and stats views on run events', () => {
    const keys = eventToKeys(ev('run.completed')).map((k) => JSON.stringify(k))
    expect(keys).toContain('["run","run-1"]')
    expect(keys).toContain('["jobs"]')
    expect(keys).toContain('["stats"]')
  })
  it('refreshes the skipped-ticks list on skipped and missed ticks', () => {
    expect(eventToKeys(ev('run.skipped'))).toContainEqual(['events'])
    expect(eventToKeys(ev('run.missed'))).toContainEqual(['events'])
    expect(eventToKeys(ev('run.completed'))).not.toContainEqual(['events'])
  })
  it('invalidates workers on worker events', () => {
    expect(eventToKeys(ev('worker.lost', { job_id: null, run_id: null }))).toEqual([['workers'], ['stats'], ['alerts']])
    expect(eventToKeys(ev('worker.joined', { job_id: null, run_id: null }))).toEqual([['workers'], ['stats']])
    expect(eventToKeys(ev('sla.breached'))).toEqual([['alerts'], ['events'], ['job']])
  })
})

describe('eventRunStatus', () => {
  it('prefers data.status and falls back to the type', () => {
    expect(eventRunStatus(ev('run.started', { data: { status: 'running' } }))).toBe('running')
    expect(eventRunStatus(ev('run.failed'))).toBe('failed')
    expect(eventRunStatus(ev('run.retrying'))).toBe('queued')
    expect(eventRunStatus(ev('run.log'))).toBeNull()
  })
})

describe('patchJobList', () => {
  const job = (id: string, name: string, over: Partial<Job> = {}) => ({ id, name, status: 'queued', enabled: true, ...over }) as Job
  const list: JobList = { jobs: [job('job-1', 'a'), job('job-2', 'b')], total: 2, next_cursor: null }
  it('updates the matching row only', () => {
    const out = patchJobList(list, ev('run.started', { data: { status: 'running' } }))
    expect(out?.jobs.map((j) => j.status)).toEqual(['running', 'queued'])
    expect(out?.jobs[1]).toBe(list.jobs[1])
  })
  it('keeps paused jobs paused', () => {
    const paused: JobList = { ...list, jobs: [job('job-1', 'a', { status: 'paused', enabled: false })] }
    expect(patchJobList(paused, ev('run.completed'))?.jobs[0]?.status).toBe('paused')
  })
  it('returns the same object when nothing matches', () => {
    expect(patchJobList(list, ev('run.completed', { job_id: 'job-9' }))).toBe(list)
  })
})

describe('patchRunList', () => {
  const run = (id: string, status: string) => ({ id, status, attempt: 1 }) as unknown as RunList['runs'][number]
  const list: RunList = { runs: [run('run-1', 'running'), run('run-2', 'running')], total: 2, next_cursor: null }
  it('updates the row in an unfiltered list', () => {
    expect(patchRunList(list, ev('run.completed'))?.runs.map((r) => r.status)).toEqual(['completed', 'running'])
  })
  it('drops a row that left the filtered status', () => {
    const out = patchRunList(list, ev('run.completed'), 'running')
    expect(out?.runs.map((r) => r.id)).toEqual(['run-2'])
    expect(out?.total).toBe(1)
  })
  it('ignores log chunks', () => {
    expect(patchRunList(list, ev('run.log', { data: { chunk: 'x' } }))).toBe(list)
  })
})

describe('overlapLength', () => {
  it('finds the longest suffix/prefix overlap', () => {
    expect(overlapLength('hello wor', 'world')).toBe(3)
    expect(overlapLength('abc', 'xyz')).toBe(0)
    expect(overlapLength('aaaa', 'aa')).toBe(2)
    expect(overlapLength('', 'x')).toBe(0)
    expect(overlapLength('abab', 'ababx')).toBe(4)
  })
})

describe('mergeLog', () => {
  const c = (...chunks: string[]) => chunks.map((chunk) => ({ chunk }))
  it('appends chunks that arrived after the snapshot', () => {
    expect(mergeLog('line 1\n', c('line 2\n', 'line 3\n'))).toBe('line 1\nline 2\nline 3\n')
  })
  it('drops chunks the snapshot already contains', () => {
    expect(mergeLog('line 1\nline 2\n', c('line 2\n', 'line 3\n'))).toBe('line 1\nline 2\nline 3\n')
    expect(mergeLog('a\nb\nc\n', c('b\n', 'c\n'))).toBe('a\nb\nc\n')
  })
  it('handles a snapshot that ends inside a chunk', () => {
    expect(mergeLog('start\none\ntwo\nthr', c('one\n', 'two\n', 'three\n', 'four\n'))).toBe('start\none\ntwo\nthree\nfour\n')
  })
  it('handles a snapshot that is ahead of the socket', () => {
    expect(mergeLog('tick 1\ntick 2\ntick 3\ntick 4\n', c('tick 2\n', 'tick 3\n'))).toBe('tick 1\ntick 2\ntick 3\ntick 4\n')
  })
  it('aligns on the latest agreeing occurrence', () => {
    expect(mergeLog('a\nb\na\nb\n', c('a\n', 'b\n', 'c\n'))).toBe('a\nb\na\nb\nc\n')
  })
  it('is exact with chunk numbers, even when the output repeats itself', () => {
    const dots = (...seqs: number[]) => seqs.map((seq) => ({ chunk: '.\n', seq }))
    // the snapshot already holds chunks 0-4; the socket replayed 0-4 and brought 5
    expect(mergeLog('.\n'.repeat(5), dots(0, 1, 2, 3, 4, 5), 5)).toBe('.\n'.repeat(6))
    // the snapshot is ahead of the socket
    expect(mergeLog('.\n'.repeat(5), dots(2, 3), 5)).toBe('.\n'.repeat(5))
    // out of order or repeated after a reconnect
    expect(mergeLog('a', [{ chunk: 'c', seq: 2 }, { chunk: 'b', seq: 1 }, { chunk: 'b', seq: 1 }], 1)).toBe('abc')
    expect(mergeLog('', [{ chunk: 'x', seq: 0 }], 0)).toBe('x')
  })
  it('aligns by content when chunks are not numbered', () => {
    expect(mergeLog('a\nb\n', [{ chunk: 'b\n' }, { chunk: 'c\n', seq: 2 }], 2)).toBe('a\nb\nc\n')
  })
  it('caps huge logs at a line boundary', () => {
    const text = 'x'.repeat(50) + '\n' + 'y'.repeat(60)
    const out = capLog(text, 70)
    expect(out.startsWith('[…')).toBe(true)
    expect(out.endsWith('y'.repeat(60))).toBe(true)
  })
})

describe('job.status', () => {
  it('patches the job list with the projected status', () => {
    const list: JobList = { jobs: [{ id: 'job-1', name: 'a', status: 'running', enabled: true } as Job], total: 1, next_cursor: null }
    const out = patchJobList(list, ev('job.status', { run_id: null, data: { status: 'completed' } }))
    expect(out?.jobs[0]?.status).toBe('completed')
    expect(patchJobList(list, ev('job.status', { run_id: null, data: { status: 'bogus' } }))).toBe(list)
  })
})
