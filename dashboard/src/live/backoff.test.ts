import { describe, expect, it } from 'vitest'
import { backoffDelay } from './backoff'

const noJitter = { base: 500, max: 15_000, factor: 2, jitter: 0 }

describe('backoffDelay', () => {
  it('grows exponentially up to the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10, 100].map((n) => backoffDelay(n, noJitter))).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000, 15000])
  })
  it('jitters downwards within the spread', () => {
    const opts = { ...noJitter, jitter: 0.5 }
    expect(backoffDelay(3, opts, () => 0)).toBe(4000)
    expect(backoffDelay(3, opts, () => 1)).toBe(2000)
    expect(backoffDelay(3, opts, () => 0.5)).toBe(3000)
  })
  it('treats negative or fractional attempts sanely', () => {
    expect(backoffDelay(-2, noJitter)).toBe(500)
    expect(backoffDelay(1.7, noJitter)).toBe(1000)
  })
  it('uses jittered defaults that never exceed the cap', () => {
    for (let i = 0; i < 50; i++) {
      const d = backoffDelay(i)
      expect(d).toBeGreaterThan(0)
      expect(d).toBeLessThanOrEqual(15_000)
    }
  })
})
