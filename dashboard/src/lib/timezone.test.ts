import { describe, expect, it } from 'vitest'
import { formatDateTime, formatInZone } from './format'
import { setZoneChoice, zoneFor } from './timezone'

describe('zoneFor', () => {
  it('maps the choice to a zone, the job zone only where a job is known', () => {
    expect(zoneFor('utc', 'America/New_York')).toBe('UTC')
    expect(zoneFor('job', 'America/New_York')).toBe('America/New_York')
    expect(zoneFor('job', null)).toBeUndefined()
    expect(zoneFor('local', 'America/New_York')).toBeUndefined()
  })
})

describe('formatDateTime', () => {
  it('says the zone it is in', () => {
    setZoneChoice('utc')
    expect(formatDateTime('2026-12-02T12:30:00Z')).toMatch(/12:30:00.*UTC/)
    setZoneChoice('job')
    expect(formatDateTime('2026-12-02T12:30:00Z', 'America/New_York')).toMatch(/07:30:00.*(EST|GMT-5)/)
    setZoneChoice('local')
  })
  it('formats in a named zone with its name', () => {
    expect(formatInZone('2026-12-02T12:30:00Z', 'Asia/Tokyo')).toMatch(/(09:30:00 PM|21:30:00).*(GMT\+9|JST)/)
  })
})
