import { describe, expect, it } from 'vitest'
import { isActiveRun, statusColor, statusLabel, statusTone, TONE_COLORS, usualDuration } from './status'

describe('statusTone', () => {
  it.each([
    ['completed', 'success'],
    ['failed', 'danger'],
    ['running', 'info'],
    ['queued', 'queued'],
    ['missed', 'warning'],
    ['cancelled', 'muted'],
    ['paused', 'neutral'],
    ['idle', 'muted'],
    ['online', 'success'],
    ['lost', 'danger'],
    ['offline', 'muted'],
  ])('%s → %s', (status, tone) => {
    expect(statusTone(status)).toBe(tone)
  })

  it('falls back for unknown and empty statuses', () => {
    expect(statusTone('something-new')).toBe('neutral')
    expect(statusTone(null)).toBe('muted')
  })

  it('maps to colours and labels', () => {
    expect(statusColor('failed')).toBe(TONE_COLORS.danger)
    expect(statusLabel('running')).toBe('Running')
    expect(statusLabel('idle')).toBe('Never ran')
    expect(isActiveRun('queued')).toBe(true)
    expect(isActiveRun('completed')).toBe(false)
  })
})

describe('usualDuration', () => {
  const run = (duration: number | null, status = 'completed') => ({ status, duration })
  it('is the median of the successful runs', () => {
    expect(usualDuration([run(10), run(30), run(20)])).toBe(20)
    expect(usualDuration([run(10), run(20), run(30), run(40)])).toBe(25)
  })
  it('ignores failed runs and says nothing from too few', () => {
    expect(usualDuration([run(10), run(500, 'failed'), run(20)])).toBeNull()
    expect(usualDuration([run(10), run(20), run(null), run(30, 'failed')], 2)).toBe(15)
  })
})
