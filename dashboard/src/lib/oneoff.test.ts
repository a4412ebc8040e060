import { describe, expect, it } from 'vitest'
import { jobCell } from './oneoff'

describe('jobCell', () => {
  it('links a job run to its job', () => {
    expect(jobCell({ id: 'run-1', job_id: 'job-a b', job_name: 'etl', one_off: false })).toEqual({ kind: 'job', to: '/jobs/job-a%20b', label: 'etl' })
  })
  it('marks a one-off run instead of linking its hidden definition, with its label', () => {
    const cell = jobCell({ id: 'run-2', job_id: 'job-hidden', job_name: 'backfill', one_off: true })
    expect(cell.kind).toBe('one-off')
    expect(cell).toMatchObject({ label: 'backfill' })
    expect(JSON.stringify(cell)).not.toContain('job-hidden')
  })
  it('shows no label when the run has none (its name is its id)', () => {
    expect(jobCell({ id: 'run-3', job_id: 'job-h', job_name: 'run-3', one_off: true })).toMatchObject({ kind: 'one-off', label: null })
  })
  it('treats a run from an older server (no one_off field) as a job run', () => {
    expect(jobCell({ id: 'run-4', job_id: 'job-x', job_name: 'x' }).kind).toBe('job')
  })
})
