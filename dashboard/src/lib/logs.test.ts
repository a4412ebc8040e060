import { describe, expect, it } from 'vitest'
import { matchingLines } from './logs'

describe('matchingLines', () => {
  it('keeps the lines holding the text, any case, with their numbers', () => {
    expect(matchingLines('start\nERROR one\nok\nerror two', 'error')).toEqual([
      { n: 2, line: 'ERROR one' },
      { n: 4, line: 'error two' },
    ])
    expect(matchingLines('a\nb', 'zzz')).toEqual([])
  })
})
