import { describe, expect, it } from 'vitest'
import { EMPTY_FORM, formToSpec, parseJsonObject, splitList } from './jobform'

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
