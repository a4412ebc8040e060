// Wire types of the tickwork REST + WebSocket API (DESIGN §7).

export type JobType = 'python' | 'shell' | 'http'
export type ScheduleType = 'cron' | 'interval' | 'once'
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'missed'
export type JobStatus = 'idle' | 'paused' | RunStatus
export type Trigger = 'schedule' | 'manual' | 'dependency' | 'replay'
export type WorkerStatus = 'online' | 'lost' | 'offline'

export const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled', 'missed']
export const JOB_STATUSES: JobStatus[] = ['idle', 'paused', ...RUN_STATUSES]
export const SCHEDULE_TYPES: ScheduleType[] = ['cron', 'interval', 'once']

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
  command: string | null
  request: HttpRequestSpec | null
  schedule: string | null
  timezone: string
  parameters: Record<string, unknown>
  depends_on: string[]
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
  enabled: boolean
  description?: string
}

export interface Job extends JobSpec {
  id: string
  schedule_type: ScheduleType | null
  status: JobStatus
  next_run: string | null
  last_run_at: string | null
  created_at: string
  updated_at: string
}

export interface JobStats {
  total_runs: number
  completed: number
  failed: number
  success_rate: number | null
  avg_duration: number | null
}

export interface JobDetail extends Job {
  stats: JobStats
  recent_runs: Run[]
  dependents: string[]
}

export interface JobList {
  jobs: Job[]
  total: number
  /** false: `total` is the database's estimate (past 10,000 matches) */
  total_exact?: boolean
  next_cursor: string | null
}

export interface Run {
  id: string
  job_id: string
  job_name: string
  trigger: Trigger
  scheduled_for: string | null
  idempotency_key: string
  parameters: Record<string, unknown>
  status: RunStatus
  attempt: number
  max_attempts: number
  worker: string | null
  queued_at: string
  started_at: string | null
  finished_at: string | null
  duration: number | null
  timeout: number
  exit_code: number | null
  result: unknown
  error: string | null
  /** one line saying why it failed ("ERROR: partner API returned 503"), when the server knows */
  error_summary?: string | null
  /** who cancelled the run (a token name), for a cancelled run */
  cancelled_by?: string | null
  output: string
  not_before: string | null
  upstream_run_ids: string[]
  /** set once a cancel was asked for a running run, until the worker stops it */
  cancel_requested?: boolean
}

export interface Attempt {
  number: number
  worker: string | null
  fence: number
  status: string
  started_at: string | null
  finished_at: string | null
  duration: number | null
  exit_code: number | null
  error: string | null
  error_summary?: string | null
  stdout: string
  stderr: string
  stdout_truncated: boolean
  stderr_truncated: boolean
  /** output chunks the text above holds; live run.log chunks with seq >= this come after it */
  stdout_chunks?: number
  stderr_chunks?: number
}

export interface RunDetail extends Run {
  attempts: Attempt[]
}

export interface RunList {
  runs: Run[]
  total: number
  /** false: `total` is the database's estimate (past 10,000 matches) */
  total_exact?: boolean
  next_cursor: string | null
}

export interface RunLogs {
  run_id: string
  attempt: number
  stdout: string
  stderr: string
}

export interface Worker {
  id: string
  hostname: string
  pid: number
  tags: string[]
  concurrency: number
  active_jobs: number
  last_heartbeat: string | null
  status: WorkerStatus
  version: string
  registered_at: string
}

export interface DeadLetter {
  id: string
  run_id: string
  job_id: string
  job_name: string
  error: string | null
  error_summary?: string | null
  attempts: number
  created_at: string
  resolved_at: string | null
  resolution: string | null
}

export interface DeadLetterList {
  dead_letters: DeadLetter[]
  total: number
}

export interface DagNode {
  id: string
  name: string
  status: JobStatus
  enabled: boolean
}

export interface DagEdge {
  source: string
  target: string
}

export interface Dag {
  nodes: DagNode[]
  edges: DagEdge[]
}

export interface SchedulePreview {
  schedule: string
  timezone: string
  schedule_type: ScheduleType
  next: string[]
}

export interface SuccessBucket {
  bucket: string
  completed: number
  failed: number
}

export interface Stats {
  jobs: number
  jobs_enabled: number
  runs: Record<RunStatus, number>
  queue_depth: number
  running: number
  failed_24h: number
  workers: { online: number; total_slots: number; busy_slots: number }
  utilization: number
  scheduler_lag: number | null
  success_rate_series: SuccessBucket[]
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

export interface AuditEntry {
  id: number
  at: string
  actor: string
  role: string | null
  action: string
  target: string | null
  details: Record<string, unknown>
}

/** Bulk actions (POST /api/runs/bulk-cancel, /bulk-retry, /api/dead-letters/bulk): by ids, or
 * everything matching a filter, in one transaction; the answer says how many were changed. */
export interface BulkCount {
  count: number
}

export type RunBulk = { ids: string[] } | { filter: { job?: string; status?: RunStatus[] } }

export type DeadLetterBulk = { action: 'replay' | 'resolve'; note?: string } & ({ ids: string[] } | { filter: { job?: string; error?: string } })

export interface DeadLetterGroup {
  job_id: string
  job_name: string
  error_summary: string | null
  count: number
  latest_at: string
}

export interface DeadLetterGroups {
  items: DeadLetterGroup[]
}
