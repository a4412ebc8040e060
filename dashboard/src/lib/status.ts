import type { JobStatus, RunStatus, WorkerStatus } from '../api/types'

export type Tone = 'success' | 'danger' | 'info' | 'warning' | 'queued' | 'neutral' | 'muted'

const TONES: Record<string, Tone> = {
  completed: 'success',
  online: 'success',
  failed: 'danger',
  lost: 'danger',
  running: 'info',
  queued: 'queued',
  retrying: 'warning',
  missed: 'warning',
  paused: 'neutral',
  cancelled: 'muted',
  idle: 'muted',
  offline: 'muted',
}

/** Maps any run / job / worker status to a colour tone used by badges and charts. */
export function statusTone(status: JobStatus | RunStatus | WorkerStatus | string | null | undefined): Tone {
  if (!status) return 'muted'
  return TONES[status] ?? 'neutral'
}

/** Colours per tone, for charts and the DAG (CSS uses the same values as variables). */
export const TONE_COLORS: Record<Tone, string> = {
  success: '#16a34a',
  danger: '#dc2626',
  info: '#2563eb',
  warning: '#d97706',
  queued: '#7c3aed',
  neutral: '#64748b',
  muted: '#94a3b8',
}

export function statusColor(status: string | null | undefined): string {
  return TONE_COLORS[statusTone(status)]
}

const LABELS: Record<string, string> = {
  idle: 'Never ran',
  cancelled: 'Cancelled',
}

export function statusLabel(status: string | null | undefined): string {
  if (!status) return 'Unknown'
  return LABELS[status] ?? status.charAt(0).toUpperCase() + status.slice(1)
}

/** A run in one of these states can still change. */
export function isActiveRun(status: string | null | undefined): boolean {
  return status === 'queued' || status === 'running'
}

/**
 * A job's usual duration in seconds: the median of its recent successful runs (at least
 * `minSamples` of them), or null when there are too few to say.
 */
export function usualDuration(runs: readonly { status: string; duration: number | null }[], minSamples = 3): number | null {
  const d = runs.filter((r) => r.status === 'completed' && typeof r.duration === 'number').map((r) => r.duration as number)
  if (d.length < minSamples) return null
  d.sort((a, b) => a - b)
  const mid = Math.floor(d.length / 2)
  return d.length % 2 ? (d[mid] as number) : ((d[mid - 1] as number) + (d[mid] as number)) / 2
}
