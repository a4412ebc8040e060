import { describe, expect, it } from 'vitest'
import { moveRow, shortcutFor } from './shortcuts'

describe('shortcutFor', () => {
  it('reads single keys', () => {
    expect(shortcutFor('/', null, 0)).toBe('search')
    expect(shortcutFor('?', null, 0)).toBe('help')
    expect(shortcutFor('j', null, 0)).toBe('next-row')
    expect(shortcutFor('k', null, 0)).toBe('prev-row')
    expect(shortcutFor('x', null, 0)).toBeNull()
  })
  it('reads g then a letter as a go-to, only in quick succession', () => {
    expect(shortcutFor('g', null, 0)).toBe('prefix')
    expect(shortcutFor('j', { key: 'g', at: 1000 }, 1500)).toBe('go-jobs')
    expect(shortcutFor('r', { key: 'g', at: 1000 }, 1500)).toBe('go-runs')
    expect(shortcutFor('p', { key: 'g', at: 1000 }, 1500)).toBe('go-pipelines')
    expect(shortcutFor('j', { key: 'g', at: 1000 }, 5000)).toBe('next-row')
    expect(shortcutFor('j', { key: 'x', at: 1000 }, 1100)).toBe('next-row')
  })
})

describe('moveRow', () => {
  it('starts at the first (j) or last (k) row and stops at the ends', () => {
    expect(moveRow(-1, 3, 'next-row')).toBe(0)
    expect(moveRow(-1, 3, 'prev-row')).toBe(2)
    expect(moveRow(2, 3, 'next-row')).toBe(2)
    expect(moveRow(0, 3, 'prev-row')).toBe(0)
    expect(moveRow(1, 3, 'next-row')).toBe(2)
    expect(moveRow(0, 0, 'next-row')).toBe(-1)
  })
})
