import { describe, expect, it } from 'vitest'
import { fieldErrors } from './errors'
import { serverErrorsToForm } from '../lib/jobform'

describe('fieldErrors', () => {
  it('reads pydantic-style lists', () => {
    expect(
      fieldErrors([
        { loc: ['body', 'schedule'], msg: 'Value error, invalid cron expression', type: 'value_error' },
        { loc: ['body', 'request', 'url'], msg: 'not a URL' },
      ]),
    ).toEqual({ schedule: 'invalid cron expression', 'request.url': 'not a URL', request: 'not a URL' })
  })
  it('reads field/message lists and objects', () => {
    expect(fieldErrors([{ field: 'name', message: 'already exists' }])).toEqual({ name: 'already exists' })
    expect(fieldErrors({ timezone: 'unknown zone', tags: ['too many', 'bad tag'] })).toEqual({ timezone: 'unknown zone', tags: 'too many; bad tag' })
    expect(fieldErrors({ errors: [{ loc: ['depends_on'], msg: 'cycle: a → b → a' }] })).toEqual({ depends_on: 'cycle: a → b → a' })
    expect(fieldErrors({ field: 'schedule', reason: 'bad' })).toEqual({ schedule: 'bad' })
  })
  it('ignores junk', () => {
    expect(fieldErrors(null)).toEqual({})
    expect(fieldErrors('oops')).toEqual({})
    expect(fieldErrors([1, null, { loc: ['body'] }])).toEqual({})
  })
  it('maps server paths onto form inputs', () => {
    expect(serverErrorsToForm({ 'request.url': 'bad', request: 'bad', 'parameters.x': 'no' })).toEqual({ url: 'bad', parameters: 'no' })
  })
})
