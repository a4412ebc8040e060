import { describe, expect, it } from 'vitest'
import { namespacesWithQuotas, quotaBars } from './quotas'

describe('quotaBars', () => {
  it('is empty for a namespace without quotas', () => {
    expect(quotaBars({ usage: [] })).toEqual([])
  })

  it('orders the quotas and tones them by how full they are', () => {
    const bars = quotaBars({
      usage: [
        { quota: 'max_running', used: 5, limit: 5 },
        { quota: 'max_jobs', used: 3, limit: 10 },
        { quota: 'max_queued', used: 85, limit: 100 },
      ],
    })
    expect(bars.map((b) => [b.quota, b.tone, b.text])).toEqual([
      ['max_jobs', 'info', '3 of 10'],
      ['max_queued', 'warning', '85 of 100'],
      ['max_running', 'danger', '5 of 5'],
    ])
    expect(bars[0]?.fraction).toBeCloseTo(0.3)
  })

  it('caps the bar at full when a namespace is over (scheduled runs are never refused)', () => {
    const bar = quotaBars({ usage: [{ quota: 'max_queued', used: 12, limit: 10 }] })[0]!
    expect(bar.fraction).toBe(1)
    expect(bar.tone).toBe('danger')
    expect(bar.text).toBe('12 of 10')
  })

  it('shows output in bytes, kilobytes and megabytes', () => {
    const bar = quotaBars({ usage: [{ quota: 'max_output_bytes', used: 1536, limit: 10 * 1024 * 1024 }] })[0]!
    expect(bar.text).toBe('1.5 KB of 10.0 MB')
    expect(bar.label).toBe('Output kept')
  })
})

describe('namespacesWithQuotas', () => {
  const all = [
    { name: 'default', usage: [] },
    { name: 'payments', usage: [{ quota: 'max_jobs', used: 1, limit: 2 }] },
    { name: 'mail', usage: [{ quota: 'max_running', used: 0, limit: 4 }] },
  ]

  it('shows every namespace with quotas for all namespaces', () => {
    expect(namespacesWithQuotas(all, '*', '*').map((n) => n.name)).toEqual(['payments', 'mail'])
  })

  it('shows only the chosen namespace, and nothing when it has no quotas', () => {
    expect(namespacesWithQuotas(all, 'mail', '*').map((n) => n.name)).toEqual(['mail'])
    expect(namespacesWithQuotas(all, 'default', '*')).toEqual([])
  })
})
