import type { PipelineRun, PipelineRunStatus, TaskStatus } from '../api/pipelineTypes'
import { PIPELINE_RUN_STATUSES, TASK_STATUSES } from '../api/pipelineTypes'
import type { LiveEvent } from '../api/types'
import type { QueryKey } from './events'

// Pipeline runs live: the server emits `pipeline_run.queued` / `.started` / `.finished` for the
// pipeline run itself, and the usual run events for its tasks' runs (with `pipeline_run_id` in
// their data when the run belongs to one).

const text = (v: unknown): string | null => (typeof v === 'string' && v ? v : null)

/** The pipeline run an event concerns, when it says so. */
export function eventPipelineRunId(event: LiveEvent): string | null {
  if (event.type.startsWith('pipeline_run.')) return text(event.data?.pipeline_run_id) ?? text(event.data?.id) ?? event.run_id
  return text(event.data?.pipeline_run_id)
}

/** The cached pipeline queries an event makes stale (by key prefix). */
export function pipelineEventKeys(event: LiveEvent): QueryKey[] {
  const t = event.type
  if (t.startsWith('pipeline_run.')) {
    const id = eventPipelineRunId(event)
    return [id ? ['pipeline-run', id] : ['pipeline-run'], ['pipeline-runs'], ['pipelines'], ['pipeline']]
  }
  if (t.startsWith('pipeline.')) return [['pipelines'], ['pipeline']]
  if (!t.startsWith('run.') || t === 'run.log' || t === 'run.skipped') return []
  if (event.data && 'pipeline_run_id' in event.data) {
    const id = text(event.data.pipeline_run_id)
    // a run of no pipeline changes none
    return id ? [['pipeline-run', id], ['pipeline-runs'], ['pipelines'], ['pipeline']] : []
  }
  // a server that does not say: any open pipeline run page may hold the run
  return [['pipeline-run']]
}

const TASK_FROM_TYPE: Record<string, TaskStatus> = {
  'run.queued': 'queued',
  'run.retrying': 'queued',
  'run.started': 'running',
  'run.completed': 'completed',
  'run.failed': 'failed',
  'run.cancelled': 'cancelled',
  'run.missed': 'failed',
}

function taskStatusOf(event: LiveEvent): TaskStatus | null {
  const s = event.data?.status
  if (typeof s === 'string' && (TASK_STATUSES as string[]).includes(s)) return s as TaskStatus
  return TASK_FROM_TYPE[event.type] ?? null
}

function pipelineStatusOf(event: LiveEvent): PipelineRunStatus | null {
  const s = event.data?.status
  if (typeof s === 'string' && (PIPELINE_RUN_STATUSES as string[]).includes(s)) return s as PipelineRunStatus
  if (event.type === 'pipeline_run.queued') return 'queued'
  if (event.type === 'pipeline_run.started') return 'running'
  return null
}

/**
 * The cached pipeline run, patched by one event so a node changes colour the moment the event
 * arrives (the refetch that follows brings the timings). The same object when it does not apply.
 */
export function patchPipelineRun(run: PipelineRun | undefined, event: LiveEvent): PipelineRun | undefined {
  if (!run) return run
  if (event.type === 'pipeline_run.task_skipped') {
    if (eventPipelineRunId(event) !== run.id) return run
    const name = text(event.data?.task)
    const i = run.tasks.findIndex((t) => t.name === name)
    const task = run.tasks[i]
    if (!task || task.status === 'skipped') return run
    const tasks = [...run.tasks]
    tasks[i] = { ...task, status: 'skipped', reason: text(event.data?.reason) ?? task.reason }
    return { ...run, tasks }
  }
  if (event.type.startsWith('pipeline_run.')) {
    if (eventPipelineRunId(event) !== run.id) return run
    const status = pipelineStatusOf(event)
    if (!status || status === run.status) return run
    return { ...run, status, ...(event.type === 'pipeline_run.started' && !run.started_at ? { started_at: event.ts } : {}) }
  }
  if (!event.type.startsWith('run.') || !event.run_id) return run
  const status = taskStatusOf(event)
  if (!status) return run
  const i = run.tasks.findIndex((t) => t.run_id === event.run_id)
  const task = run.tasks[i]
  if (!task || task.status === status) return run
  const tasks = [...run.tasks]
  tasks[i] = { ...task, status, ...(event.type === 'run.started' && !task.started_at ? { started_at: event.ts } : {}) }
  return { ...run, tasks }
}
