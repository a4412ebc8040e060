import { describe, expect, it } from 'vitest'
import { holidaysLabel, previewRows, skippedCount, weekdayLabel } from './calendar'

describe('weekdayLabel', () => {
  it.each([
    [[1, 2, 3, 4, 5], 'Mon–Fri'],
    [[5, 1, 2, 3, 4], 'Mon–Fri'],
    [[1, 2, 3, 4, 5, 6, 7], 'every day'],
    [[], 'no weekday'],
    [[1, 3], 'Mon, Wed'],
    [[1, 2, 4, 5, 6], 'Mon, Tue, Thu–Sat'],
    [[6, 7], 'Sat, Sun'],
  ])('%j → %s', (days, label) => {
    expect(weekdayLabel(days)).toBe(label)
  })
})

describe('holidaysLabel', () => {
  it('names the country and the subdivision', () => {
    expect(holidaysLabel({ holidays: { country: 'DE', subdivision: 'BY' } })).toBe('DE-BY')
    expect(holidaysLabel({ holidays: { country: 'US', subdivision: null } })).toBe('US')
    expect(holidaysLabel({ holidays: null })).toBe('none')
  })
})

describe('previewRows', () => {
  it('keeps the closed days with their reasons and tick counts', () => {
    const rows = previewRows({
      next: ['2026-12-23T08:00:00Z', '2026-12-28T08:00:00Z'],
      ticks: [
        { at: '2026-12-23T08:00:00Z', fires: true, reason: null, count: 1 },
        { at: '2026-12-25T08:00:00Z', fires: false, reason: 'holiday: Christmas Day', count: 1 },
        { at: '2026-12-26T23:00:00Z', fires: false, reason: 'weekend', count: 24 },
        { at: '2026-12-28T08:00:00Z', fires: true, reason: null, count: 1 },
      ],
    })
    expect(rows.map((r) => [r.fires, r.reason, r.detail])).toEqual([
      [true, null, ''],
      [false, 'holiday: Christmas Day', ''],
      [false, 'weekend', '24 ticks'],
      [true, null, ''],
    ])
    expect(skippedCount(rows)).toBe(2)
  })

  it('falls back to the fire times without ticks', () => {
    const rows = previewRows({ next: ['2026-12-23T08:00:00Z'] })
    expect(rows).toEqual([{ at: '2026-12-23T08:00:00Z', fires: true, reason: null, detail: '' }])
  })
})
