import { describe, expect, it } from 'vitest'
import type { Job, JobSpec } from '../api/types'
import { EMPTY_FORM, formToSpec, jobToForm, parseArgv, parseJsonObject, splitList } from './jobform'

describe('job form', () => {
  it('builds a python job body', () => {
    const { spec, errors } = formToSpec({ ...EMPTY_FORM, name: 'daily-report', function: 'reports.generate_daily', schedule: ' 0 9 * * * ', parameters: '{"recipients": ["team@example.com"]}', tags: 'reports, daily, reports', retries: '2' })
    expect(errors).toEqual({})
    expect(spec).toMatchObject({ name: 'daily-report', type: 'python', function: 'reports.generate_daily', command: null, request: null, schedule: '0 9 * * *', parameters: { recipients: ['team@example.com'] }, tags: ['reports', 'daily'], retries: 2, timeout: 3600, start_deadline: null })
  })
  it('reports every invalid field', () => {
    const { spec, errors } = formToSpec({ ...EMPTY_FORM, name: 'has space', function: '', parameters: '[1]', retries: '1.5', priority: '101' })
    expect(spec).toBeUndefined()
    expect(Object.keys(errors).sort()).toEqual(['function', 'name', 'parameters', 'priority', 'retries'])
  })
  it('builds an http request', () => {
    const { spec } = formToSpec({ ...EMPTY_FORM, name: 'ping', type: 'http', method: 'GET', url: 'https://example.com/x', headers: '{"X-A": "1"}', body: '{"a":1}' })
    expect(spec?.request).toEqual({ method: 'GET', url: 'https://example.com/x', headers: { 'X-A': '1' }, body: { a: 1 } })
    expect(spec?.function).toBeNull()
  })
  it('keeps the delivery through a round trip of the form', () => {
    const { spec } = formToSpec({ ...EMPTY_FORM, name: 'payout', function: 'pay.run', delivery: 'at_most_once' })
    expect(spec?.delivery).toBe('at_most_once')
    const form = jobToForm({ ...(spec as JobSpec), id: 'job-1', namespace: 'default', status: 'idle', schedule_type: null, next_run: null, last_run_at: null, created_at: '', updated_at: '', delivery: 'at_most_once' } as unknown as Job)
    expect(form.delivery).toBe('at_most_once')
    expect(formToSpec({ ...EMPTY_FORM, name: 'x', function: 'a.b' }).spec?.delivery).toBe('at_least_once')
  })
  it('sends back the fields it does not edit, so saving never resets them', () => {
    const job = { name: 'kept', type: 'python', function: 'a.b', command: null, request: null, parameters: {}, schedule: null, timezone: 'UTC', depends_on: [], tags: [], worker_tags: ['default'], timeout: 60, retries: 1, retry_delay: 1, backoff: 'fixed', max_retry_delay: 300, concurrency: 1, on_overlap: 'skip', catchup: 'latest', start_deadline: null, jitter: 0, priority: 50, isolation: 'pool', delivery: 'at_least_once', enabled: true, description: '', retention_days: 7, retention_runs: 100, id: 'job-1', namespace: 'payments', status: 'idle', schedule_type: null, next_run: null, last_run_at: null, created_at: '', updated_at: '' } as unknown as Job
    const form = jobToForm(job)
    expect(form.carried).toEqual({ retention_days: 7, retention_runs: 100 })
    const { spec } = formToSpec({ ...form, retries: '2' })
    expect(spec).toMatchObject({ retention_days: 7, retention_runs: 100, retries: 2 })
    expect(spec).not.toHaveProperty('id')
    expect(spec).not.toHaveProperty('status')
  })
  it('takes a JSON list as an argv and shows one back as such', () => {
    const { spec, errors } = formToSpec({ ...EMPTY_FORM, name: 'sync', type: 'shell', command: '["rsync", "-a", "src dir/", "/backup"]' })
    expect(errors).toEqual({})
    expect(spec?.command).toEqual(['rsync', '-a', 'src dir/', '/backup'])
    expect(formToSpec({ ...EMPTY_FORM, name: 'sync', type: 'shell', command: '[1, 2]' }).errors.command).toMatch(/JSON list of strings/)
    expect(formToSpec({ ...EMPTY_FORM, name: 'sync', type: 'shell', command: 'echo [x]' }).spec?.command).toBe('echo [x]')
    expect(parseArgv('not json')).toBeUndefined()
  })
  it('parses JSON objects with friendly errors', () => {
    expect(parseJsonObject('')).toEqual({ value: {} })
    expect(parseJsonObject('{"a": 1}')).toEqual({ value: { a: 1 } })
    expect(parseJsonObject('null').error).toMatch(/JSON object/)
    expect(parseJsonObject('{a:1}').error).toMatch(/Invalid JSON/)
    expect(splitList(' a, b ,,a\nc')).toEqual(['a', 'b', 'c'])
  })
  it('sends a calendar with its policy, and no policy without one', () => {
    const base = { ...EMPTY_FORM, name: 'j', function: 'a.b', schedule: '0 9 * * *' }
    expect(formToSpec({ ...base, calendar: ' de-business ', calendar_policy: 'next_business_day' }).spec).toMatchObject({ calendar: 'de-business', calendar_policy: 'next_business_day' })
    expect(formToSpec({ ...base, calendar: '', calendar_policy: 'next_business_day' }).spec).toMatchObject({ calendar: null, calendar_policy: 'skip' })
  })
})
