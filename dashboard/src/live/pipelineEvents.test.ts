import { describe, expect, it } from 'vitest'
import { QueryClient } from '@tanstack/react-query'
import type { PipelineRun } from '../api/pipelineTypes'
import type { LiveEvent } from '../api/types'
import { applyPatches } from './cache'
import { eventToKeys } from './events'
import { eventPipelineRunId, patchPipelineRun, pipelineEventKeys } from './pipelineEvents'

const ev = (type: string, extra: Partial<LiveEvent> = {}): LiveEvent => ({ id: 1, type, ts: '2026-12-02T06:00:05Z', job_id: 'job-1', run_id: 'run-1', data: {}, ...extra })

const task = (name: string, run_id: string | null, status: PipelineRun['tasks'][0]['status']) => ({
  name,
  job_id: `job-${name}`,
  job_name: `etl.${name}`,
  run_id,
  status,
  reason: null,
  attempt: null,
  queued_at: null,
  started_at: null,
  finished_at: null,
  duration: null,
  depends_on: [],
})

const prun = (): PipelineRun => ({
  id: 'prun-1',
  pipeline_id: 'pipe-1',
  pipeline_name: 'etl',
  namespace: 'default',
  status: 'running',
  trigger: 'manual',
  scheduled_for: null,
  queued_at: '2026-12-02T06:00:00Z',
  started_at: '2026-12-02T06:00:01Z',
  finished_at: null,
  duration: null,
  error: null,
  tasks: [task('extract', 'run-1', 'queued'), task('load', null, 'pending')],
})

describe('pipelineEventKeys', () => {
  it('refreshes the pipeline run, its lists and pipelines on pipeline run events', () => {
    expect(pipelineEventKeys(ev('pipeline_run.finished', { run_id: null, data: { pipeline_run_id: 'prun-1', status: 'failed' } }))).toEqual([
      ['pipeline-run', 'prun-1'],
      ['pipeline-runs'],
      ['pipelines'],
      ['pipeline'],
    ])
    expect(eventToKeys(ev('pipeline_run.started', { run_id: 'prun-2' }))).toContainEqual(['pipeline-run', 'prun-2'])
  })
  it('refreshes the pipeline run a task run belongs to, and nothing for runs of no pipeline', () => {
    expect(eventToKeys(ev('run.completed', { data: { pipeline_run_id: 'prun-1' } }))).toContainEqual(['pipeline-run', 'prun-1'])
    expect(pipelineEventKeys(ev('run.completed', { data: { pipeline_run_id: null } }))).toEqual([])
    expect(pipelineEventKeys(ev('run.log', { data: { pipeline_run_id: 'prun-1' } }))).toEqual([])
  })
  it('refreshes any open pipeline run when a run event does not say', () => {
    expect(pipelineEventKeys(ev('run.failed'))).toEqual([['pipeline-run']])
    expect(eventToKeys(ev('run.failed'))).toContainEqual(['runs'])
  })
  it('reads the pipeline run id from the event', () => {
    expect(eventPipelineRunId(ev('pipeline_run.queued', { run_id: null, data: { id: 'prun-9' } }))).toBe('prun-9')
    expect(eventPipelineRunId(ev('run.started'))).toBeNull()
  })
})

describe('patchPipelineRun', () => {
  it('moves a task to the status of its run at once', () => {
    const before = prun()
    const after = patchPipelineRun(before, ev('run.started'))
    expect(after?.tasks[0]?.status).toBe('running')
    expect(after?.tasks[0]?.started_at).toBe('2026-12-02T06:00:05Z')
    expect(before.tasks[0]?.status).toBe('queued')
    expect(patchPipelineRun(after, ev('run.failed'))?.tasks[0]?.status).toBe('failed')
  })
  it('leaves the run alone for other runs and other pipeline runs', () => {
    const before = prun()
    expect(patchPipelineRun(before, ev('run.completed', { run_id: 'run-other' }))).toBe(before)
    expect(patchPipelineRun(before, ev('pipeline_run.finished', { data: { pipeline_run_id: 'prun-2', status: 'failed' } }))).toBe(before)
    expect(patchPipelineRun(before, ev('run.log'))).toBe(before)
  })
  it('skips a task the moment the server says so, with the reason', () => {
    const after = patchPipelineRun(prun(), ev('pipeline_run.task_skipped', { run_id: null, data: { pipeline_run_id: 'prun-1', task: 'load', reason: 'upstream failed' } }))
    expect(after?.tasks[1]).toMatchObject({ status: 'skipped', reason: 'upstream failed' })
    const other = prun()
    expect(patchPipelineRun(other, ev('pipeline_run.task_skipped', { data: { pipeline_run_id: 'prun-2', task: 'load' } }))).toBe(other)
  })
  it('takes the pipeline run status from its own events', () => {
    expect(patchPipelineRun(prun(), ev('pipeline_run.finished', { data: { pipeline_run_id: 'prun-1', status: 'failed' } }))?.status).toBe('failed')
  })
  it('is applied to the cached pipeline run page', () => {
    const qc = new QueryClient()
    qc.setQueryData(['pipeline-run', 'prun-1'], prun())
    applyPatches(qc, [ev('run.started'), ev('run.completed')])
    expect(qc.getQueryData<PipelineRun>(['pipeline-run', 'prun-1'])?.tasks[0]?.status).toBe('completed')
  })
})
