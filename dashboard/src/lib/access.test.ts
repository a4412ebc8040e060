import { describe, expect, it } from 'vitest'
import { deniedReason, may, type Identity } from './access'

const as = (role: string, auth = true): Identity => ({ name: `${role}-token`, role, auth })

describe('access', () => {
  it('grants each role what the server grants it', () => {
    const table = (['viewer', 'operator', 'admin'] as const).map((role) => [role, may(as(role), 'read'), may(as(role), 'operate'), may(as(role), 'admin')])
    expect(table).toEqual([
      ['viewer', true, false, false],
      ['operator', true, true, false],
      ['admin', true, true, true],
    ])
    expect(may(as('worker'), 'read')).toBe(false)
    expect(may(as('made-up'), 'read')).toBe(false)
  })

  it('lets everyone do everything on an open server, and denies nothing before it knows', () => {
    expect(may(as('admin', false), 'admin')).toBe(true)
    expect(deniedReason(as('viewer', false), 'admin', 'deleting a job')).toBeNull()
    expect(deniedReason(undefined, 'admin', 'deleting a job')).toBeNull()
  })

  it('says why, and what token it takes', () => {
    expect(deniedReason(as('viewer'), 'operate', 'triggering')).toBe('Viewer tokens are read-only: triggering needs an operator token.')
    expect(deniedReason(as('viewer'), 'admin', 'editing a job')).toBe('Viewer tokens are read-only: editing a job needs an admin token.')
    expect(deniedReason(as('operator'), 'admin', 'deleting a job')).toBe('Operator tokens run, pause and cancel jobs but do not change them: deleting a job needs an admin token.')
    expect(deniedReason(as('operator'), 'operate', 'triggering')).toBeNull()
    expect(deniedReason(as('admin'), 'admin', 'deleting a job')).toBeNull()
  })
})
