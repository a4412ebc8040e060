// Wire types of the pipeline API (issue 11 §2): GET /api/pipelines, /api/pipelines/{ref},
// /api/pipelines/{ref}/runs and /api/pipeline-runs/{id}. The closed sets the server sends as
// plain strings (statuses, conditions, rules) are narrowed here.

export type PipelineRunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled'
export type TaskStatus = 'pending' | 'queued' | 'running' | 'completed' | 'failed' | 'cancelled' | 'skipped'
export type Condition = 'success' | 'failure' | 'done'
export type TriggerRule = 'all' | 'any'

export const PIPELINE_RUN_STATUSES: PipelineRunStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled']
export const TASK_STATUSES: TaskStatus[] = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled', 'skipped']

/** A `depends_on` entry: a task's name (its success) or the task and the outcome waited for. */
export type Dependency = string | { job: string; on?: Condition | string | null }

export interface PipelineTask {
  name: string
  job_id: string
  job_name: string
  type: string
  depends_on: Dependency[]
  trigger_rule?: TriggerRule | string | null
  /** every other job field (command, function, timeout, retries …) */
  [field: string]: unknown
}

export interface PipelineRunSummary {
  id: string
  pipeline_id: string
  pipeline_name: string
  namespace: string
  status: PipelineRunStatus
  trigger: string
  scheduled_for: string | null
  queued_at: string
  started_at: string | null
  finished_at: string | null
  duration: number | null
  error: string | null
  task_counts: Partial<Record<TaskStatus, number>>
}

export interface TaskRun {
  /** every run the task had in this pipeline run (more than one after a retry) */
  runs?: string[]
  name: string
  job_id: string
  job_name: string
  run_id: string | null
  status: TaskStatus
  reason: string | null
  attempt: number | null
  queued_at: string | null
  started_at: string | null
  finished_at: string | null
  duration: number | null
  depends_on: Dependency[]
  trigger_rule?: TriggerRule | string | null
}

export interface PipelineRun extends Omit<PipelineRunSummary, 'task_counts'> {
  task_counts?: Partial<Record<TaskStatus, number>>
  tasks: TaskRun[]
}

export interface Pipeline {
  id: string
  name: string
  namespace: string
  description: string | null
  schedule: string | null
  timezone: string
  calendar: string | null
  calendar_policy: string | null
  on_overlap: string
  catchup: string
  enabled: boolean
  tags: string[]
  next_run: string | null
  created_at: string
  updated_at: string
  tasks: PipelineTask[]
  last_run: PipelineRunSummary | null
}

export interface PipelineList {
  items: Pipeline[]
  next_cursor: string | null
  total: number
  total_exact?: boolean
}

export interface PipelineRunList {
  items: PipelineRunSummary[]
  next_cursor: string | null
  total: number
  total_exact?: boolean
}

/** POST /api/pipelines/{ref}/trigger: `created` false when an active run was returned
 * (on_overlap=skip) or the idempotency key was seen before. */
export interface PipelineTriggered extends PipelineRun {
  created: boolean
}
