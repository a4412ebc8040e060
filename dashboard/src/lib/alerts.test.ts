import { describe, expect, it } from 'vitest'
import type { Alert, AlertChannel, AlertRule, LiveEvent } from '../api/types'
import { alertStatusHint, alertTone, channelTarget, describeRule, slaBadges } from './alerts'

const event = (type: string, data: Record<string, unknown> = {}): LiveEvent => ({ id: 1, type, ts: '2026-01-01T00:00:00Z', job_id: 'job-1', run_id: 'run-1', data })

describe('alerts', () => {
  it('gives each delivery status a tone and a hint', () => {
    expect(alertTone('sent')).toBe('success')
    expect(alertTone('failed')).toBe('danger')
    expect(alertTone('held')).toBe('warning')
    expect(alertStatusHint({ status: 'pending', attempts: 2, next_attempt_at: null } as Alert)).toBe('tried 2×, trying again')
    expect(alertStatusHint({ status: 'failed', attempts: 8, next_attempt_at: null } as Alert)).toBe('gave up after 8 tries')
  })

  it('shows where a channel sends without its secrets', () => {
    const hook = { type: 'webhook', url: 'https://hooks.example.com/…', to: [] } as unknown as AlertChannel
    const ref = { type: 'slack', url: { $secret: 'SLACK_HOOK' }, to: [] } as unknown as AlertChannel
    const mail = { type: 'email', url: null, to: ['a@x.io', 'b@x.io'] } as unknown as AlertChannel
    expect(channelTarget(hook)).toBe('https://hooks.example.com/…')
    expect(channelTarget(ref)).toBe('secret SLACK_HOOK')
    expect(channelTarget(mail)).toBe('a@x.io, b@x.io')
  })

  it('describes a rule in one line', () => {
    const r = { name: 'r', namespace: 'default', events: ['run.failed'], jobs: ['*'], channels: ['ops', 'mail'] } as AlertRule
    expect(describeRule(r)).toBe('run.failed of every job → ops, mail')
    expect(describeRule({ ...r, jobs: ['tag:pay'] })).toBe('run.failed of tag:pay → ops, mail')
  })

  it('badges each SLA, red while a breach of its kind is recent', () => {
    const job = { sla: { finish_within: 600, max_duration: null }, expect_every: '26h' }
    expect(slaBadges(job, []).map((b) => [b.label, b.tone])).toEqual([
      ['SLA: finish within 10m', 'success'],
      ['Heartbeat: expects a success every 26h', 'success'],
    ])
    const breaches = [event('sla.breached', { sla: 'finish_within' }), event('sla.breached', { sla: 'max_duration' }), event('job.silent')]
    expect(slaBadges(job, breaches).map((b) => [b.label, b.tone, b.title])).toEqual([
      ['SLA breached: finish within 10m', 'danger', '1 recent breach'],
      ['Silent: expects a success every 26h', 'danger', 'no successful run within the window'],
    ])
    expect(slaBadges({}, breaches)).toEqual([])
  })
})
