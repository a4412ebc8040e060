import { describe, expect, it } from 'vitest'
import { axisWidth, formatClock, formatDuration, formatNumber, formatPercent, formatRelative, formatTotal, isRelativeTime, localInputToIso, resolveTime, RUN_SORTS, runSortParams, shortId } from './format'

describe('formatDuration', () => {
  it.each([
    [null, '—'],
    [undefined, '—'],
    [-1, '—'],
    [Number.NaN, '—'],
    [0, '0ms'],
    [0.35, '350ms'],
    [0.9996, '1.0s'],
    [1.234, '1.23s'],
    [45.2, '45.2s'],
    [59.99, '59.9s'],
    [60, '1m'],
    [125, '2m 5s'],
    [3600, '1h'],
    [3725, '1h 2m'],
    [86400 * 2 + 3600 * 5, '2d 5h'],
  ])('%s → %s', (input, expected) => {
    expect(formatDuration(input as number | null | undefined)).toBe(expected)
  })
})

describe('formatClock', () => {
  it('formats minutes and hours', () => {
    expect(formatClock(5)).toBe('0:05')
    expect(formatClock(65)).toBe('1:05')
    expect(formatClock(3725)).toBe('1:02:05')
    expect(formatClock(-3)).toBe('0:00')
  })
})

describe('formatRelative', () => {
  const now = Date.parse('2026-01-15T12:00:00Z')
  it('describes past and future', () => {
    expect(formatRelative('2026-01-15T11:59:58Z', now)).toBe('just now')
    expect(formatRelative('2026-01-15T11:59:30Z', now)).toBe('30s ago')
    expect(formatRelative('2026-01-15T11:57:00Z', now)).toBe('3m ago')
    expect(formatRelative('2026-01-15T14:00:00Z', now)).toBe('in 2h')
    expect(formatRelative('2026-01-11T12:00:00Z', now)).toBe('4d ago')
    expect(formatRelative(null, now)).toBe('—')
    expect(formatRelative('not a date', now)).toBe('—')
  })
})

describe('small formatters', () => {
  it('formats percentages', () => {
    expect(formatPercent(0.953, 1)).toBe('95.3%')
    expect(formatPercent(null)).toBe('—')
  })
  it('shortens ids but keeps the prefix', () => {
    expect(shortId('run-8f3a2c9d1e7b')).toBe('run-8f3a2c9d')
    expect(shortId('job-123')).toBe('job-123')
  })
  it('converts datetime-local values to UTC ISO', () => {
    expect(localInputToIso('')).toBe('')
    expect(localInputToIso('2026-01-15T09:30')).toBe(new Date(2026, 0, 15, 9, 30).toISOString())
  })
})

describe('resolveTime', () => {
  const now = Date.parse('2026-03-10T15:30:00Z')
  it('keeps relative times relative to the moment of asking', () => {
    expect(resolveTime('-24h', now)).toBe('2026-03-09T15:30:00.000Z')
    expect(resolveTime('-30m', now)).toBe('2026-03-10T15:00:00.000Z')
    expect(resolveTime('-7d', now)).toBe('2026-03-03T15:30:00.000Z')
  })
  it('starts today and yesterday at midnight in the browser zone', () => {
    const today = new Date(resolveTime('today', now))
    expect(today.getHours()).toBe(0)
    expect(today.getTime()).toBeLessThanOrEqual(now)
    expect(now - today.getTime()).toBeLessThan(86_400_000)
    expect(today.getTime() - Date.parse(resolveTime('yesterday', now))).toBeGreaterThanOrEqual(23 * 3_600_000)
  })
  it('passes absolute times through and ignores nothing', () => {
    expect(resolveTime('2026-01-01T00:00:00Z', now)).toBe('2026-01-01T00:00:00Z')
    expect(resolveTime('', now)).toBe('')
    expect(isRelativeTime('-24h')).toBe(true)
    expect(isRelativeTime('2026-01-01T00:00:00Z')).toBe(false)
  })
})

describe('axisWidth', () => {
  it('grows with the labels, so 1,000+ is not cut', () => {
    expect(axisWidth([3, 8])).toBe(36)
    expect(axisWidth([900, 1200])).toBeGreaterThan(axisWidth([90]))
    expect(axisWidth([1200])).toBeGreaterThanOrEqual(14 + 8 * '1,500'.length)
  })
})

describe('list totals and run orders', () => {
  it('says when a total is an estimate', () => {
    expect(formatTotal(42, true)).toBe(formatNumber(42))
    expect(formatTotal(42)).toBe(formatNumber(42))
    expect(formatTotal(1_200_000, false)).toBe(`about ${formatNumber(1_200_000)}`)
  })
  it('maps an order choice to the API parameters', () => {
    expect(runSortParams('')).toEqual({ sort: '', order: '' })
    expect(runSortParams('duration:desc')).toEqual({ sort: 'duration', order: 'desc' })
    expect(runSortParams('started_at:asc')).toEqual({ sort: 'started_at', order: 'asc' })
    expect(RUN_SORTS.map((o) => o.value)).toContain('duration:asc')
  })
})
