import { describe, expect, it } from 'vitest'
import { isActiveRun, statusColor, statusLabel, statusTone, TONE_COLORS } from './status'

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
