import type { Identity } from '../lib/access'
import { listNamespace } from '../lib/namespace'
import { buildQuery } from '../lib/query'
import { api } from './client'
import type {
  AlertChannel,
  AlertList,
  AlertRule,
  AuditEntry,
  ChannelTest,
  BulkCount,
  CalendarDetail,
  CalendarList,
  CalendarPolicy,
  Dag,
  DeadLetter,
  DeadLetterBulk,
  DeadLetterGroups,
  DeadLetterList,
  Job,
  JobDetail,
  LiveEvent,
  NamespaceList,
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
import type { Pipeline, PipelineList, PipelineRun, PipelineRunList, PipelineTriggered } from './pipelineTypes'

const enc = encodeURIComponent

/** The chosen namespace as `?namespace=` (none for all namespaces): lists keep to it, and a job
 * named (not given by id) is looked up in it. */
const ns = () => ({ namespace: listNamespace() })
/** `?namespace=` alone, or with more parameters after it (`&force=true`). */
const inNs = (extra: Record<string, string | boolean | undefined> = {}) => buildQuery({ ...ns(), ...extra })

/** A calendar picked for a schedule preview: its name, the policy and its namespace. */
export interface CalendarChoice {
  name: string
  policy: CalendarPolicy
  namespace?: string
}

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

export interface PipelineFilters {
  q?: string
  limit?: number
  cursor?: string
}

export interface PipelineRunFilters {
  status?: string
  limit?: number
  cursor?: string
}

export const endpoints = {
  whoami: (signal?: AbortSignal) => api<Identity>('/api/auth/whoami', { signal }),
  namespaces: (signal?: AbortSignal) => api<NamespaceList>('/api/namespaces', { signal }),
  audit: (f: { actor?: string; action?: string; before?: number; limit?: number }, signal?: AbortSignal) =>
    api<AuditEntry[]>(`/api/audit${buildQuery({ ...f })}`, { signal }),
  events: (f: { job?: string; type?: string[]; limit?: number }, signal?: AbortSignal) =>
    api<LiveEvent[]>(`/api/events${buildQuery({ ...ns(), job: f.job, limit: f.limit, type: f.type ?? [] })}`, { signal }),
  stats: (signal?: AbortSignal) => api<Stats>('/api/stats', { signal }),

  jobs: (f: JobFilters, signal?: AbortSignal) => api<JobList>(`/api/jobs${buildQuery({ ...ns(), ...f })}`, { signal }),
  job: (id: string, signal?: AbortSignal) => api<JobDetail>(`/api/jobs/${enc(id)}${inNs()}`, { signal }),
  createJob: (spec: Partial<JobSpec>) => api<Job>(`/api/jobs${inNs()}`, { method: 'POST', body: spec }),
  /** `namespace`: the job's own (a job cannot move; the chosen one may be all namespaces). */
  updateJob: (id: string, spec: Partial<JobSpec>, namespace?: string) =>
    api<Job>(`/api/jobs/${enc(id)}${buildQuery({ namespace: namespace ?? listNamespace() })}`, { method: 'PUT', body: spec }),
  deleteJob: (id: string, force = false) =>
    api<unknown>(`/api/jobs/${enc(id)}${inNs({ force: force || undefined })}`, { method: 'DELETE' }),
  triggerJob: (id: string, parameters?: Record<string, unknown>) =>
    api<TriggerResult>(`/api/jobs/${enc(id)}/trigger${inNs()}`, {
      method: 'POST',
      body: parameters ? { parameters } : undefined,
    }),
  pauseJob: (id: string) => api<Job>(`/api/jobs/${enc(id)}/pause${inNs()}`, { method: 'POST' }),
  resumeJob: (id: string) => api<Job>(`/api/jobs/${enc(id)}/resume${inNs()}`, { method: 'POST' }),
  jobRuns: (id: string, f: { limit?: number; cursor?: string }, signal?: AbortSignal) =>
    api<RunList>(`/api/jobs/${enc(id)}/runs${buildQuery({ ...ns(), ...f })}`, { signal }),

  runs: (f: RunFilters, signal?: AbortSignal) => api<RunList>(`/api/runs${buildQuery({ ...ns(), ...f })}`, { signal }),
  run: (id: string, signal?: AbortSignal) => api<RunDetail>(`/api/runs/${enc(id)}`, { signal }),
  runLogs: (id: string, signal?: AbortSignal) => api<RunLogs>(`/api/runs/${enc(id)}/logs`, { signal }),
  cancelRun: (id: string) => api<Run>(`/api/runs/${enc(id)}/cancel`, { method: 'POST' }),
  retryRun: (id: string) => api<Run>(`/api/runs/${enc(id)}/retry`, { method: 'POST' }),

  workers: (signal?: AbortSignal) => api<Worker[]>('/api/workers', { signal }),

  deadLetters: (resolved: boolean, page: { limit?: number; offset?: number } = {}, signal?: AbortSignal) =>
    api<DeadLetterList>(`/api/dead-letters${buildQuery({ ...ns(), resolved, limit: page.limit, offset: page.offset || undefined })}`, { signal }),
  replayDeadLetter: (id: string) => api<Run>(`/api/dead-letters/${enc(id)}/replay`, { method: 'POST' }),
  resolveDeadLetter: (id: string, note?: string) =>
    api<DeadLetter>(`/api/dead-letters/${enc(id)}/resolve`, { method: 'POST', ...(note?.trim() ? { body: { note: note.trim() } } : {}) }),
  deadLetterGroups: (signal?: AbortSignal) => api<DeadLetterGroups>(`/api/dead-letters/groups${inNs()}`, { signal }),
  deadLettersBulk: (body: DeadLetterBulk) => api<BulkCount>(`/api/dead-letters/bulk${inNs()}`, { method: 'POST', body }),
  bulkCancelRuns: (body: RunBulk) => api<BulkCount>(`/api/runs/bulk-cancel${inNs()}`, { method: 'POST', body }),
  bulkRetryRuns: (body: RunBulk) => api<BulkCount>(`/api/runs/bulk-retry${inNs()}`, { method: 'POST', body }),

  /** `namespace`: a job's own (else the chosen one; `default` with all namespaces shown). */
  dag: (signal?: AbortSignal, namespace?: string) => api<Dag>(`/api/dag${buildQuery({ namespace: namespace ?? listNamespace() })}`, { signal }),

  /** Under `calendar` (a calendar of `namespace`, else the chosen one), with its skipped days. */
  schedulePreview: (schedule: string, timezone: string, n = 5, signal?: AbortSignal, calendar?: CalendarChoice) =>
    api<SchedulePreview>(
      `/api/schedules/preview${buildQuery({
        schedule,
        timezone,
        n,
        ...(calendar?.name ? { calendar: calendar.name, calendar_policy: calendar.policy, namespace: calendar.namespace ?? listNamespace() } : {}),
      })}`,
      { signal },
    ),

  calendars: (signal?: AbortSignal, namespace?: string) =>
    api<CalendarList>(`/api/calendars${buildQuery({ namespace: namespace ?? listNamespace() })}`, { signal }),
  calendar: (name: string, namespace: string | undefined, days = 30, signal?: AbortSignal) =>
    api<CalendarDetail>(`/api/calendars/${enc(name)}${buildQuery({ namespace, days })}`, { signal }),

  pipelines: (f: PipelineFilters, signal?: AbortSignal) => api<PipelineList>(`/api/pipelines${buildQuery({ ...ns(), ...f })}`, { signal }),
  pipeline: (ref: string, signal?: AbortSignal) => api<Pipeline>(`/api/pipelines/${enc(ref)}${inNs()}`, { signal }),
  /** `namespace`: the pipeline's own (the chosen one may be all namespaces). */
  /** `force`: cancel its active pipeline runs first (else 409 while one is active). */
  deletePipeline: (ref: string, namespace?: string, force = false) =>
    api<unknown>(`/api/pipelines/${enc(ref)}${buildQuery({ namespace: namespace ?? listNamespace(), force: force || undefined })}`, { method: 'DELETE' }),
  pausePipeline: (ref: string, namespace?: string) =>
    api<Pipeline>(`/api/pipelines/${enc(ref)}/pause${buildQuery({ namespace: namespace ?? listNamespace() })}`, { method: 'POST' }),
  resumePipeline: (ref: string, namespace?: string) =>
    api<Pipeline>(`/api/pipelines/${enc(ref)}/resume${buildQuery({ namespace: namespace ?? listNamespace() })}`, { method: 'POST' }),
  triggerPipeline: (ref: string, namespace?: string) =>
    api<PipelineTriggered>(`/api/pipelines/${enc(ref)}/trigger${buildQuery({ namespace: namespace ?? listNamespace() })}`, { method: 'POST' }),
  pipelineRuns: (ref: string, f: PipelineRunFilters, namespace?: string, signal?: AbortSignal) =>
    api<PipelineRunList>(`/api/pipelines/${enc(ref)}/runs${buildQuery({ namespace: namespace ?? listNamespace(), ...f })}`, { signal }),
  pipelineRun: (id: string, signal?: AbortSignal) => api<PipelineRun>(`/api/pipeline-runs/${enc(id)}`, { signal }),
  cancelPipelineRun: (id: string) => api<PipelineRun>(`/api/pipeline-runs/${enc(id)}/cancel`, { method: 'POST' }),
  retryPipelineRun: (id: string) => api<PipelineRun>(`/api/pipeline-runs/${enc(id)}/retry`, { method: 'POST' }),

  alerts: (f: { status?: string; rule?: string; before?: number; limit?: number }, signal?: AbortSignal) =>
    api<AlertList>(`/api/alerts${buildQuery({ ...ns(), ...f })}`, { signal }),
  alertChannels: (signal?: AbortSignal) => api<{ channels: AlertChannel[] }>(`/api/alert-channels${inNs()}`, { signal }),
  alertRules: (signal?: AbortSignal) => api<{ rules: AlertRule[] }>(`/api/alert-rules${inNs()}`, { signal }),
  /** `namespace`: the channel's own (the chosen one may be all namespaces). */
  testChannel: (name: string, namespace: string) =>
    api<ChannelTest>(`/api/alert-channels/${enc(name)}/test${buildQuery({ namespace })}`, { method: 'POST' }),
}
