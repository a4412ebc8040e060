// Wire types of the tickwork REST + WebSocket API (DESIGN §7). The shapes come from the
// OpenAPI document (schema.d.ts is generated from docs/openapi.json by `npm run types`, and
// `make verify` fails when it is stale); only the closed sets the server sends as plain
// strings (statuses, kinds) are narrowed here.
import type { components } from './schema'

type S = components['schemas']

export type JobType = 'python' | 'shell' | 'http'
export type ScheduleType = 'cron' | 'interval' | 'once'
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'missed'
export type JobStatus = 'idle' | 'paused' | RunStatus
export type Trigger = 'schedule' | 'manual' | 'dependency' | 'replay'
export type WorkerStatus = 'online' | 'lost' | 'offline'

export const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled', 'missed']
export const JOB_STATUSES: JobStatus[] = ['idle', 'paused', ...RUN_STATUSES]
export const SCHEDULE_TYPES: ScheduleType[] = ['cron', 'interval', 'once']

/** The upstream outcome an edge waits for (a plain name in depends_on means 'success'). */
export type DependOn = 'success' | 'failure' | 'done'
export const DEPEND_ON: DependOn[] = ['success', 'failure', 'done']
export type TriggerRule = 'all' | 'any'
/** An entry of depends_on: a name (on success) or the edge with its condition. */
export type Dependency = string | { job: string; on?: DependOn }

export interface HttpRequestSpec {
  method: string
  url: string
  headers?: Record<string, string> | null
  body?: unknown
}

export interface JobSpec {
  name: string
  type: JobType
  function: string | null
  command: string | string[] | null
  request: HttpRequestSpec | null
  schedule: string | null
  timezone: string
  parameters: Record<string, unknown>
  depends_on: Dependency[]
  trigger_rule?: TriggerRule
  tags: string[]
  worker_tags: string[]
  timeout: number
  retries: number
  retry_delay: number
  backoff: 'exponential' | 'fixed'
  max_retry_delay: number
  concurrency: number
  on_overlap: 'skip' | 'queue' | 'allow' | 'cancel_previous' | string
  catchup: 'latest' | 'all' | 'none' | string
  start_deadline: number | null
  jitter: number
  priority: number
  isolation: 'pool' | 'process'
  delivery?: Delivery
  enabled: boolean
  description?: string
  /** Fields the dashboard's form does not edit, sent back as they were. */
  [field: string]: unknown
  calendar?: string | null
  calendar_policy?: CalendarPolicy
}

export type Delivery = 'at_least_once' | 'at_most_once'

export interface Job extends Omit<S['JobOut'], 'type' | 'schedule_type' | 'status' | 'backoff' | 'isolation' | 'request' | 'delivery'> {
  delivery: Delivery
  type: JobType
  schedule_type: ScheduleType | null
  status: JobStatus
  backoff: 'exponential' | 'fixed'
  isolation: 'pool' | 'process'
  request: HttpRequestSpec | null
}

export type JobStats = S['JobStatsOut']

export interface JobDetail extends Job {
  stats: JobStats
  recent_runs: Run[]
  dependents: string[]
}

export interface JobList extends Omit<S['JobList'], 'jobs'> {
  jobs: Job[]
}

export interface Run extends Omit<S['RunOut'], 'status' | 'trigger'> {
  status: RunStatus
  trigger: Trigger
}

export type Attempt = S['AttemptOut']

export interface RunDetail extends Run {
  attempts: Attempt[]
  /** Why a queued run waits beyond a free worker (its namespace's running quota, a rate limit). */
  waiting?: S['RunDetail']['waiting']
}

export interface RunList extends Omit<S['RunList'], 'runs'> {
  runs: Run[]
}

export interface RunLogs {
  run_id: string
  attempt: number
  stdout: string
  stderr: string
}

export interface Worker extends Omit<S['WorkerOut'], 'status'> {
  status: WorkerStatus
}

export type DeadLetter = S['DeadLetterOut']

export type DeadLetterList = S['DeadLetterList']

export interface DagNode {
  id: string
  name: string
  status: JobStatus
  enabled: boolean
}

export interface DagEdge {
  source: string
  target: string
  on?: DependOn
}

export interface Dag {
  nodes: DagNode[]
  edges: DagEdge[]
}

export type CalendarPolicy = 'skip' | 'next_business_day'
export const CALENDAR_POLICIES: CalendarPolicy[] = ['skip', 'next_business_day']

export type PreviewTick = S['PreviewTickOut']

export interface SchedulePreview {
  schedule: string
  timezone: string
  schedule_type: ScheduleType
  next: string[]
  calendar?: string | null
  calendar_policy?: string | null
  ticks?: PreviewTick[]
}

export type Calendar = S['CalendarOut']
export type CalendarDetail = S['CalendarDetailOut']
export type CalendarList = S['CalendarList']
export type CalendarDay = S['DayOut']

export interface SuccessBucket {
  bucket: string
  completed: number
  failed: number
}

export interface Stats extends Omit<S['StatsOut'], 'runs'> {
  runs: Record<RunStatus, number>
}

export interface TriggerResult {
  run_id: string
  status: RunStatus
  /** false when an existing queued/running run was returned (on_overlap=skip, same idempotency key) */
  created?: boolean
}

export type EventType =
  | 'run.queued'
  | 'run.started'
  | 'run.log'
  | 'run.completed'
  | 'run.failed'
  | 'run.retrying'
  | 'run.cancelled'
  | 'run.missed'
  | 'run.cancelling'
  | 'run.skipped'
  | 'job.created'
  | 'job.updated'
  | 'job.deleted'
  | 'job.paused'
  | 'job.resumed'
  | 'worker.joined'
  | 'worker.lost'
  | 'worker.left'

export interface LiveEvent {
  id: number
  type: EventType | string
  ts: string
  job_id: string | null
  run_id: string | null
  data: Record<string, unknown>
}

export interface ApiErrorBody {
  error: { code: string; message: string; details?: unknown }
}

export type AuditEntry = S['AuditOut']
export type AlertChannel = S['ChannelOut']
export type AlertRule = S['RuleOut']
export type Alert = S['AlertOut']
export type AlertList = S['AlertList']
export type ChannelTest = S['ChannelTestOut']

/** Bulk actions (POST /api/runs/bulk-cancel, /bulk-retry, /api/dead-letters/bulk): by ids, or
 * everything matching a filter, in one transaction; the answer says how many were changed. */
export type BulkCount = S['BulkCountOut']

export type RunBulk = { ids: string[] } | { filter: { job?: string; status?: RunStatus[] } }

export type DeadLetterBulk = { action: 'replay' | 'resolve'; note?: string } & ({ ids: string[] } | { filter: { job?: string; error?: string } })

export type DeadLetterGroup = S['DeadLetterGroupOut']

export type DeadLetterGroups = S['DeadLetterGroupList']

/** GET /api/namespaces: those the token may read, with their job counts and its role there */
export type Namespace = S['NamespaceOut']
export type NamespaceList = S['NamespaceList']
