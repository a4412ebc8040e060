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
