import { describe, expect, it } from 'vitest'
import { errorLine } from './errorSummary'

describe('errorLine', () => {
  it('prefers the server summary', () => {
    expect(errorLine({ error: 'exit code 3', error_summary: 'ERROR: partner API returned 503' })).toBe('ERROR: partner API returned 503')
  })
  it('takes the last line of a traceback and the first line otherwise', () => {
    expect(errorLine({ error: 'Traceback (most recent call last):\n  File "x"\nRuntimeError: no data\n' })).toBe('RuntimeError: no data')
    expect(errorLine({ error: 'exit code 3\nmore' })).toBe('exit code 3')
  })
  it('clips long lines and never answers an empty string', () => {
    expect(errorLine({ error: 'x'.repeat(300) }, 20)).toHaveLength(20)
    expect(errorLine({ error: null })).toBe('failed')
    expect(errorLine({ error: null, error_summary: '  ' })).toBe('failed')
  })
})
