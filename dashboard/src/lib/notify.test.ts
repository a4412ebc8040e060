import { describe, expect, it } from 'vitest'
import type { LiveEvent } from '../api/types'
import { deservesToast } from './notify'

const failed = (extra: Partial<LiveEvent> = {}): LiveEvent => ({ id: 1, type: 'run.failed', ts: '2026-01-01T00:00:00Z', job_id: 'job-1', run_id: 'run-1', data: { job_name: 'etl.load' }, ...extra })
const at = (pathname: string, watched: string[] = []) => ({ pathname, watched: new Set(watched) })

describe('deservesToast', () => {
  it('toasts on the page of the run or of its job', () => {
    expect(deservesToast(failed(), at('/runs/run-1'))).toBe(true)
    expect(deservesToast(failed(), at('/jobs/job-1'))).toBe(true)
    expect(deservesToast(failed(), at('/jobs/etl.load'))).toBe(true)
  })
  it('keeps quiet elsewhere: the bell gets it', () => {
    expect(deservesToast(failed(), at('/jobs/new'))).toBe(false)
    expect(deservesToast(failed(), at('/runs/run-2'))).toBe(false)
    expect(deservesToast(failed(), at('/'))).toBe(false)
    expect(deservesToast(failed(), at('/runs'))).toBe(false)
  })
  it('toasts anywhere for a watched job', () => {
    expect(deservesToast(failed(), at('/jobs/new', ['job-1']))).toBe(true)
    expect(deservesToast(failed(), at('/', ['etl.load']))).toBe(true)
  })
  it('a lost worker toasts on the workers page only', () => {
    const lost = failed({ type: 'worker.lost', job_id: null, run_id: null, data: {} })
    expect(deservesToast(lost, at('/workers'))).toBe(true)
    expect(deservesToast(lost, at('/jobs'))).toBe(false)
  })
})
