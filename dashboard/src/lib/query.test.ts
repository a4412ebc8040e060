import { describe, expect, it } from 'vitest'
import { buildQuery, readParams } from './query'

describe('buildQuery', () => {
  it('drops empty values and keeps order', () => {
    expect(buildQuery({ status: 'failed', tag: '', q: undefined, schedule_type: null, limit: 50, cursor: '  ' })).toBe('?status=failed&limit=50')
  })
  it('returns an empty string when nothing is set', () => {
    expect(buildQuery({ a: '', b: undefined })).toBe('')
  })
  it('encodes values and repeats arrays', () => {
    expect(buildQuery({ q: 'daily report&x', since: '2026-01-15T10:00:00+01:00', tag: ['a', 'b'] })).toBe('?q=daily+report%26x&since=2026-01-15T10%3A00%3A00%2B01%3A00&tag=a&tag=b')
  })
  it('keeps false and zero', () => {
    expect(buildQuery({ resolved: false, n: 0 })).toBe('?resolved=false&n=0')
  })
  it('reads params with defaults', () => {
    expect(readParams(new URLSearchParams('status=failed'), ['status', 'tag'] as const)).toEqual({ status: 'failed', tag: '' })
  })
})
