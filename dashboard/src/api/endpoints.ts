import type { Identity } from '../lib/access'
import { buildQuery } from '../lib/query'
import { api } from './client'
import type {
  AuditEntry,
  BulkCount,
  Dag,
  DeadLetter,
  DeadLetterBulk,
  DeadLetterGroups,
  DeadLetterList,
  Job,
  JobDetail,
  LiveEvent,
  JobList,
  JobSpec,
  Run,
  RunBulk,
  RunDetail,
  RunList,
  RunLogs,
  SchedulePreview,
  Stats,
  TriggerResult,
  Worker,
} from './types'

const enc = encodeURIComponent

export interface JobFilters {
  status?: string
  tag?: string
  schedule_type?: string
  q?: string
  limit?: number
  cursor?: string
}

export interface RunFilters {
  status?: string
  job?: string
  since?: string
  until?: string
  limit?: number
  cursor?: string
  /** queued_at (default), started_at or duration; runs without the value come last */
  sort?: string
  order?: string
}

export const endpoints = {
  whoami: (signal?: AbortSignal) => api<Identity>('/api/auth/whoami', { signal }),
  audit: (f: { actor?: string; action?: string; before?: number; limit?: number }, signal?: AbortSignal) =>
    api<AuditEntry[]>(`/api/audit${buildQuery({ ...f })}`, { signal }),
  events: (f: { job?: string; type?: string[]; limit?: number }, signal?: AbortSignal) =>
    api<LiveEvent[]>(`/api/events${buildQuery({ job: f.job, limit: f.limit })}${(f.type ?? []).map((t) => `&type=${enc(t)}`).join('')}`, { signal }),
  stats: (signal?: AbortSignal) => api<Stats>('/api/stats', { signal }),

  jobs: (f: JobFilters, signal?: AbortSignal) => api<JobList>(`/api/jobs${buildQuery({ ...f })}`, { signal }),
  job: (id: string, signal?: AbortSignal) => api<JobDetail>(`/api/jobs/${enc(id)}`, { signal }),
  createJob: (spec: Partial<JobSpec>) => api<Job>('/api/jobs', { method: 'POST', body: spec }),
  updateJob: (id: string, spec: Partial<JobSpec>) => api<Job>(`/api/jobs/${enc(id)}`, { method: 'PUT', body: spec }),
  deleteJob: (id: string, force = false) =>
    api<unknown>(`/api/jobs/${enc(id)}${force ? '?force=true' : ''}`, { method: 'DELETE' }),
  triggerJob: (id: string, parameters?: Record<string, unknown>) =>
    api<TriggerResult>(`/api/jobs/${enc(id)}/trigger`, {
      method: 'POST',
      body: parameters ? { parameters } : undefined,
    }),
  pauseJob: (id: string) => api<Job>(`/api/jobs/${enc(id)}/pause`, { method: 'POST' }),
  resumeJob: (id: string) => api<Job>(`/api/jobs/${enc(id)}/resume`, { method: 'POST' }),
  jobRuns: (id: string, f: { limit?: number; cursor?: string }, signal?: AbortSignal) =>
    api<RunList>(`/api/jobs/${enc(id)}/runs${buildQuery({ ...f })}`, { signal }),

  runs: (f: RunFilters, signal?: AbortSignal) => api<RunList>(`/api/runs${buildQuery({ ...f })}`, { signal }),
  run: (id: string, signal?: AbortSignal) => api<RunDetail>(`/api/runs/${enc(id)}`, { signal }),
  runLogs: (id: string, signal?: AbortSignal) => api<RunLogs>(`/api/runs/${enc(id)}/logs`, { signal }),
  cancelRun: (id: string) => api<Run>(`/api/runs/${enc(id)}/cancel`, { method: 'POST' }),
  retryRun: (id: string) => api<Run>(`/api/runs/${enc(id)}/retry`, { method: 'POST' }),

  workers: (signal?: AbortSignal) => api<Worker[]>('/api/workers', { signal }),

  deadLetters: (resolved: boolean, page: { limit?: number; offset?: number } = {}, signal?: AbortSignal) =>
    api<DeadLetterList>(`/api/dead-letters${buildQuery({ resolved, limit: page.limit, offset: page.offset || undefined })}`, { signal }),
  replayDeadLetter: (id: string) => api<Run>(`/api/dead-letters/${enc(id)}/replay`, { method: 'POST' }),
  resolveDeadLetter: (id: string) => api<DeadLetter>(`/api/dead-letters/${enc(id)}/resolve`, { method: 'POST' }),
  deadLetterGroups: (signal?: AbortSignal) => api<DeadLetterGroups>('/api/dead-letters/groups', { signal }),
  deadLettersBulk: (body: DeadLetterBulk) => api<BulkCount>('/api/dead-letters/bulk', { method: 'POST', body }),
  bulkCancelRuns: (body: RunBulk) => api<BulkCount>('/api/runs/bulk-cancel', { method: 'POST', body }),
  bulkRetryRuns: (body: RunBulk) => api<BulkCount>('/api/runs/bulk-retry', { method: 'POST', body }),

  dag: (signal?: AbortSignal) => api<Dag>('/api/dag', { signal }),

  schedulePreview: (schedule: string, timezone: string, n = 5, signal?: AbortSignal) =>
    api<SchedulePreview>(`/api/schedules/preview${buildQuery({ schedule, timezone, n })}`, { signal }),
}
