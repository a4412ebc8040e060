// Wire types of the pipeline API (issue 11 §2): GET /api/pipelines, /api/pipelines/{ref},
// /api/pipelines/{ref}/runs and /api/pipeline-runs/{id}. The shapes come from the OpenAPI
// document (schema.d.ts); the closed sets the server sends as plain strings (task statuses,
// conditions, rules) are narrowed here.
import type { components } from './schema'

type S = components['schemas']

export type PipelineRunStatus = S['PipelineRunOut']['status']
export type TaskStatus = S['TaskRunOut']['status']
export type Condition = 'success' | 'failure' | 'done'
export type TriggerRule = 'all' | 'any'

export const PIPELINE_RUN_STATUSES: PipelineRunStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled']
export const TASK_STATUSES: TaskStatus[] = ['pending', 'queued', 'running', 'completed', 'failed', 'cancelled', 'skipped']

/** A `depends_on` entry: a task's name (its success) or the task and the outcome waited for. */
export type Dependency = string | { job: string; on?: Condition | string | null }

type TaskJobFields = Omit<S['TaskOut'], 'name' | 'job_id' | 'job_name' | 'type' | 'depends_on' | 'trigger_rule'>

/** A task of a pipeline's definition: its name, its job, its edges, and the job's other fields. */
export interface PipelineTask extends Partial<TaskJobFields> {
  name: string
  job_id: string
  job_name: string
  type: string
  depends_on: Dependency[]
  trigger_rule?: TriggerRule | string | null
}

export type PipelineRunSummary = S['PipelineRunSummary']

export interface TaskRun extends Omit<S['TaskRunOut'], 'depends_on' | 'trigger_rule' | 'runs'> {
  depends_on: Dependency[]
  trigger_rule?: TriggerRule | string | null
  /** every run the task had in this pipeline run (more than one after a retry) */
  runs?: string[]
}

export interface PipelineRun extends Omit<S['PipelineRunOut'], 'tasks' | 'task_counts'> {
  task_counts?: S['PipelineRunOut']['task_counts']
  tasks: TaskRun[]
}

export interface Pipeline extends Omit<S['PipelineOut'], 'tasks' | 'schedule_type'> {
  schedule_type?: S['PipelineOut']['schedule_type']
  tasks: PipelineTask[]
}

export interface PipelineList extends Omit<S['PipelineList'], 'items'> {
  items: Pipeline[]
}

export type PipelineRunList = S['PipelineRunList']

/** POST /api/pipelines/{ref}/trigger: `created` false when an active run was returned
 * (on_overlap=skip) or the idempotency key was seen before. */
export interface PipelineTriggered extends PipelineRun {
  created: boolean
}
