import { describe, expect, it } from 'vitest'
import { formatClock, formatDuration, formatPercent, formatRelative, localInputToIso, shortId } from './format'

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
