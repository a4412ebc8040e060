import { describe, expect, it } from 'vitest'
import { canWiden, deadLetterBulkBody, isSelected, NONE, runBulkBody, selectedCount, toggle, togglePage, type Selection } from './selection'

const page = ['a', 'b', 'c']

describe('selection', () => {
  it('ticks rows one by one and the page at once', () => {
    let s = toggle(NONE, 'a', page)
    expect(selectedCount(s, 99)).toBe(1)
    s = togglePage(s, page)
    expect(selectedCount(s, 99)).toBe(3)
    expect(togglePage(s, page)).toEqual(NONE)
  })
  it('offers all matching once the page is ticked and more match', () => {
    const all = togglePage(NONE, page)
    expect(canWiden(all, page, 30)).toBe(true)
    expect(canWiden(all, page, 3)).toBe(false)
    const matching: Selection = { kind: 'matching' }
    expect(selectedCount(matching, 30)).toBe(30)
    expect(isSelected(matching, 'zzz')).toBe(true)
    // unticking one row of "all matching" keeps the rest of the page
    const back = toggle(matching, 'b', page)
    expect(back.kind === 'ids' && [...back.ids].sort()).toEqual(['a', 'c'])
  })
})

describe('bulk bodies', () => {
  it('sends ids, or the filter for all matching', () => {
    expect(runBulkBody(toggle(NONE, 'r1', []), {}, ['queued', 'running'])).toEqual({ ids: ['r1'] })
    expect(runBulkBody({ kind: 'matching' }, { job: 'etl', status: '' }, ['queued', 'running'])).toEqual({ filter: { job: 'etl', status: ['queued', 'running'] } })
    // a status filter narrows what the action may touch
    expect(runBulkBody({ kind: 'matching' }, { status: 'queued' }, ['queued', 'running'])).toEqual({ filter: { status: ['queued'] } })
  })
  it('dead letters carry the action and a note when given', () => {
    expect(deadLetterBulkBody('resolve', toggle(NONE, 'd1', []), {}, '  handled upstream ')).toEqual({ action: 'resolve', note: 'handled upstream', ids: ['d1'] })
    expect(deadLetterBulkBody('replay', { kind: 'matching' }, { job: 'etl', error: 'HTTP 503' })).toEqual({ action: 'replay', filter: { job: 'etl', error: 'HTTP 503' } })
  })
})
