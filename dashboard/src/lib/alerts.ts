import type { Alert, AlertChannel, AlertRule, LiveEvent } from '../api/types'
import { formatDuration } from './format'
import type { Tone } from './status'

/** The events an alert rule may name (the server's list, in its order). */
export const ALERT_EVENTS = [
  'run.failed',
  'run.dead_lettered',
  'run.missed',
  'run.retrying',
  'sla.breached',
  'job.silent',
  'worker.lost',
  'queue.backlog',
] as const

const ALERT_TONES: Record<string, Tone> = {
  sent: 'success',
  digested: 'success',
  pending: 'queued',
  held: 'warning',
  failed: 'danger',
}

/** An alert's delivery status as a badge tone. */
export function alertTone(status: string): Tone {
  return ALERT_TONES[status] ?? 'neutral'
}

/** What an alert's status means, for its badge's title. */
export function alertStatusHint(a: Pick<Alert, 'status' | 'attempts' | 'next_attempt_at'>): string {
  switch (a.status) {
    case 'pending':
      return a.attempts ? `tried ${a.attempts}×, trying again` : 'waiting to be sent'
    case 'held':
      return 'over its rule’s rate limit: goes out in the next digest'
    case 'digested':
      return 'sent within a digest'
    case 'failed':
      return `gave up after ${a.attempts} tries`
    default:
      return 'delivered'
  }
}

/** Where a channel sends, as shown (the server never returns a url's path or a secret). */
export function channelTarget(c: AlertChannel): string {
  if (c.type === 'email') return c.to.join(', ')
  if (c.url && typeof c.url === 'object') return `secret ${Object.values(c.url)[0]}`
  return c.url ?? '—'
}

/** A rule in one line: `run.failed, sla.breached of tag:payroll → ops, mail`. */
export function describeRule(r: AlertRule): string {
  const jobs = r.jobs.includes('*') ? 'every job' : r.jobs.join(', ')
  return `${r.events.join(', ')} of ${jobs} → ${r.channels.join(', ')}`
}

export interface SlaBadge {
  label: string
  tone: Tone
  title: string
}

interface SlaJob {
  sla?: { finish_within?: number | null; max_duration?: number | null } | null
  expect_every?: string | null
}

/**
 * A job's SLA badges: one per limit it sets, red while a breach of that kind is among the
 * recent events (the server keeps events for its retention period), else green.
 */
export function slaBadges(job: SlaJob, events: readonly LiveEvent[]): SlaBadge[] {
  const breached = (kind: string) =>
    events.filter((e) => (kind === 'silent' ? e.type === 'job.silent' : e.type === 'sla.breached' && e.data?.sla === kind))
  const out: SlaBadge[] = []
  const limits: [string, string, number | null | undefined][] = [
    ['finish_within', 'finish within', job.sla?.finish_within],
    ['max_duration', 'run at most', job.sla?.max_duration],
  ]
  for (const [kind, words, seconds] of limits) {
    if (!seconds) continue
    const hits = breached(kind)
    out.push({
      label: `${hits.length ? 'SLA breached' : 'SLA'}: ${words} ${formatDuration(seconds)}`,
      tone: hits.length ? 'danger' : 'success',
      title: hits.length ? `${hits.length} recent breach${hits.length === 1 ? '' : 'es'}` : 'no recent breach',
    })
  }
  if (job.expect_every) {
    const hits = breached('silent')
    out.push({
      label: `${hits.length ? 'Silent' : 'Heartbeat'}: expects a success every ${job.expect_every}`,
      tone: hits.length ? 'danger' : 'success',
      title: hits.length ? 'no successful run within the window' : 'succeeding on time',
    })
  }
  return out
}
