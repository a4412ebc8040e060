import { afterEach, describe, expect, it } from 'vitest'
import { createElement, type ComponentType } from 'react'
import { renderToString } from 'react-dom/server'
import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { MemoryRouter, Route, Routes } from 'react-router'
import { endpoints } from '../api/endpoints'
import { keys } from '../api/keys'
import type { Pipeline, PipelineRun, PipelineRunSummary, TaskRun } from '../api/pipelineTypes'
import { ToastProvider } from '../components/Toasts'
import { LiveProvider } from '../live/LiveProvider'
import PipelineDetail from './PipelineDetail'
import PipelineRunDetail from './PipelineRunDetail'
import Pipelines from './Pipelines'

// The pipeline pages drawn from the API's answers (a fetch that serves them), as the server
// renders them: what each shows, and which actions a token's role leaves enabled.

const T0 = Date.parse('2026-12-02T06:00:00Z')
const at = (s: number) => new Date(T0 + s * 1000).toISOString()

const task = (name: string, status: TaskRun['status'], times: [number, number, number | null] | null, depends_on: TaskRun['depends_on'] = [], reason: string | null = null): TaskRun => ({
  name,
  job_id: `job-${name}`,
  job_name: `etl.${name}`,
  run_id: times ? `run-${name}` : null,
  status,
  reason,
  attempt: times ? 1 : null,
  queued_at: times ? at(times[0]) : null,
  started_at: times ? at(times[1]) : null,
  finished_at: times && times[2] !== null ? at(times[2]) : null,
  duration: times && times[2] !== null ? times[2] - times[1] : null,
  depends_on,
  trigger_rule: 'all',
})

const RUN: PipelineRun = {
  id: 'prun-1',
  pipeline_id: 'pipe-1',
  pipeline_name: 'etl',
  namespace: 'default',
  status: 'failed',
  trigger: 'manual',
  scheduled_for: null,
  queued_at: at(0),
  started_at: at(0),
  finished_at: at(12),
  duration: 12,
  error: 'task transform failed',
  task_counts: { completed: 2, failed: 1, skipped: 1 },
  tasks: [
    task('extract', 'completed', [0, 1, 4]),
    task('transform', 'failed', [4, 5, 8], ['extract']),
    task('load', 'skipped', null, ['transform'], 'upstream failed'),
    task('cleanup', 'completed', [8, 9, 12], [{ job: 'transform', on: 'failure' }]),
  ],
}

const SUMMARY: PipelineRunSummary = { ...RUN, task_counts: RUN.task_counts ?? {} }

const PIPELINE: Pipeline = {
  id: 'pipe-1',
  name: 'etl',
  namespace: 'default',
  description: 'Nightly load',
  schedule: '0 2 * * *',
  timezone: 'UTC',
  calendar: null,
  calendar_policy: 'skip',
  on_overlap: 'skip',
  catchup: 'latest',
  enabled: true,
  tags: [],
  next_run: at(3600),
  created_at: at(-60),
  updated_at: at(-60),
  tasks: RUN.tasks.map((t) => ({ name: t.name, job_id: t.job_id, job_name: t.job_name, type: 'python', depends_on: t.depends_on, trigger_rule: 'all' })),
  last_run: SUMMARY,
}

const realFetch = globalThis.fetch
afterEach(() => {
  globalThis.fetch = realFetch
})

/** Serves `routes` (path without query → body); records every URL asked for. */
function serve(routes: Record<string, unknown>): string[] {
  const asked: string[] = []
  globalThis.fetch = (async (url: string) => {
    asked.push(String(url))
    const path = String(url).split('?')[0] as string
    const body = routes[path]
    return body === undefined ? new Response('{"error":{"code":"not_found","message":"no"}}', { status: 404 }) : new Response(JSON.stringify(body), { status: 200 })
  }) as typeof fetch
  return asked
}

async function render(page: ComponentType, path: string, pattern: string, load: (qc: QueryClient) => Promise<unknown>, role = 'admin'): Promise<string> {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } })
  qc.setQueryData(keys.whoami, { name: 't', role, auth: true })
  await load(qc)
  const html = renderToString(
    createElement(
      QueryClientProvider,
      { client: qc },
      createElement(MemoryRouter, { initialEntries: [path] }, createElement(ToastProvider, null, createElement(LiveProvider, null, createElement(Routes, null, createElement(Route, { path: pattern, element: createElement(page) }))))),
    ),
  )
  // React's markers between adjacent text parts
  return html.replace(/<!-- -->/g, '')
}

const attr = (html: string, testid: string, name: string): string | null => {
  const m = new RegExp(`<[^>]*data-testid="${testid}"[^>]*>`).exec(html)
  if (!m) return null
  const a = new RegExp(`${name}="([^"]*)"`).exec(m[0])
  return a ? (a[1] as string) : null
}

describe('the pipeline run page', () => {
  const load = (qc: QueryClient) => qc.prefetchQuery({ queryKey: keys.pipelineRun('prun-1'), queryFn: () => endpoints.pipelineRun('prun-1') })

  it('draws each task with its status, the skip reason, edges by condition and the Gantt', async () => {
    const asked = serve({ '/api/pipeline-runs/prun-1': RUN })
    const html = await render(PipelineRunDetail, '/pipeline-runs/prun-1', '/pipeline-runs/:id', load)
    expect(asked).toEqual(['/api/pipeline-runs/prun-1'])
    expect(attr(html, 'pipeline-run-status', 'data-status')).toBe('failed')
    expect(attr(html, 'pipeline-node-extract', 'data-status')).toBe('completed')
    expect(attr(html, 'pipeline-node-transform', 'data-status')).toBe('failed')
    expect(attr(html, 'pipeline-node-load', 'data-status')).toBe('skipped')
    expect(html).toContain('Skipped · upstream failed')
    expect(attr(html, 'pipeline-edge-transform-cleanup', 'data-on')).toBe('failure')
    expect(attr(html, 'pipeline-edge-extract-transform', 'data-on')).toBe('success')
    // a node with a run links to it; the skipped one has no run to open
    expect(html).toMatch(/<a [^>]*data-testid="pipeline-node-transform"/)
    expect(attr(html, 'pipeline-node-transform', 'href')).toBe('/runs/run-transform')
    expect(html).toMatch(/<div [^>]*data-testid="pipeline-node-load"/)
    expect(attr(html, 'pipeline-node-load', 'href')).toBeNull()
    // Gantt: bars on one axis for the tasks that ran, none for the skipped one
    expect(html).toMatch(/data-testid="gantt-bar-extract"/)
    expect(html).toMatch(/left:41\.667%;width:max\(3px, 25\.000%\)[^>]*data-testid="gantt-bar-transform"/)
    expect(html).not.toContain('gantt-bar-load')
    expect(html).toContain('load: skipped, upstream failed')
    expect(html).toContain('1 failed')
    // failed: Retry, not Cancel
    expect(html).toContain('data-testid="pipeline-retry-button"')
    expect(html).not.toContain('pipeline-cancel-button')
    expect(html).toContain('task transform failed')
  })

  it('offers Cancel, not Retry, while the pipeline run is active', async () => {
    serve({ '/api/pipeline-runs/prun-1': { ...RUN, status: 'running', finished_at: null, error: null, tasks: [task('extract', 'running', [0, 1, null]), task('transform', 'pending', null, ['extract'])] } })
    const html = await render(PipelineRunDetail, '/pipeline-runs/prun-1', '/pipeline-runs/:id', load)
    expect(html).toContain('data-testid="pipeline-cancel-button"')
    expect(html).not.toContain('pipeline-retry-button')
    expect(attr(html, 'pipeline-node-extract', 'data-status')).toBe('running')
    expect(html).toContain('waiting for upstream tasks')
  })

  it('links the runs a task had before a retry', async () => {
    const retried = { ...task('transform', 'completed', [4, 5, 8], ['extract']), run_id: 'run-new', runs: ['run-old', 'run-new'] }
    serve({ '/api/pipeline-runs/prun-1': { ...RUN, status: 'completed', error: null, tasks: [RUN.tasks[0], retried] } })
    const html = await render(PipelineRunDetail, '/pipeline-runs/prun-1', '/pipeline-runs/:id', load)
    expect(attr(html, 'task-link-transform', 'href')).toBe('/runs/run-new')
    expect(html).toMatch(/data-testid="task-earlier-transform">before the retry: <span><a [^>]*href="\/runs\/run-old"/)
    expect(html).not.toContain('task-earlier-extract')
  })

  it('says a queued pipeline run waits to start, not for upstream tasks', async () => {
    serve({ '/api/pipeline-runs/prun-1': { ...RUN, status: 'queued', started_at: null, finished_at: null, error: null, tasks: [task('extract', 'pending', null)] } })
    const html = await render(PipelineRunDetail, '/pipeline-runs/prun-1', '/pipeline-runs/:id', load)
    expect(html).toContain('waiting for the pipeline run to start')
    expect(html).toContain('data-testid="pipeline-cancel-button"')
  })

  it('leaves a viewer the page but not its actions', async () => {
    serve({ '/api/pipeline-runs/prun-1': RUN })
    const html = await render(PipelineRunDetail, '/pipeline-runs/prun-1', '/pipeline-runs/:id', load, 'viewer')
    expect(attr(html, 'pipeline-retry-button', 'aria-disabled')).toBe('true')
    expect(attr(html, 'pipeline-retry-button', 'title')).toContain('Viewer tokens are read-only')
  })
})

describe('the pipeline page', () => {
  const load = (qc: QueryClient) =>
    Promise.all([
      qc.prefetchQuery({ queryKey: keys.pipeline('pipe-1'), queryFn: () => endpoints.pipeline('pipe-1') }),
      qc.prefetchQuery({ queryKey: keys.pipelineRuns('pipe-1', { status: '', limit: 20, cursor: '' }), queryFn: () => endpoints.pipelineRuns('pipe-1', { status: '', limit: 20, cursor: '' }, 'default') }),
    ])

  it('shows the definition, the conditions and the runs, with the actions an admin may take', async () => {
    const asked = serve({ '/api/pipelines/pipe-1': PIPELINE, '/api/pipelines/pipe-1/runs': { items: [SUMMARY], next_cursor: null, total: 1 } })
    const html = await render(PipelineDetail, '/pipelines/pipe-1', '/pipelines/:ref', load)
    expect(asked.sort()).toEqual(['/api/pipelines/pipe-1', '/api/pipelines/pipe-1/runs?namespace=default&limit=20'])
    expect(attr(html, 'pipeline-enabled', 'data-enabled')).toBe('true')
    expect(html).toContain('transform · failure')
    expect(attr(html, 'pipeline-edge-transform-cleanup', 'data-on')).toBe('failure')
    expect(html).toContain('data-testid="pipeline-run-row-prun-1"')
    expect(html).toContain('2 completed · 1 failed · 1 skipped')
    for (const b of ['pipeline-trigger-button', 'pipeline-pause-button', 'pipeline-delete-button']) expect(attr(html, b, 'aria-disabled')).toBeNull()
  })

  it('disables trigger and pause for a viewer and delete for an operator', async () => {
    serve({ '/api/pipelines/pipe-1': PIPELINE, '/api/pipelines/pipe-1/runs': { items: [], next_cursor: null, total: 0 } })
    const viewer = await render(PipelineDetail, '/pipelines/pipe-1', '/pipelines/:ref', load, 'viewer')
    expect(attr(viewer, 'pipeline-trigger-button', 'aria-disabled')).toBe('true')
    expect(attr(viewer, 'pipeline-pause-button', 'aria-disabled')).toBe('true')
    const operator = await render(PipelineDetail, '/pipelines/pipe-1', '/pipelines/:ref', load, 'operator')
    expect(attr(operator, 'pipeline-trigger-button', 'aria-disabled')).toBeNull()
    expect(attr(operator, 'pipeline-delete-button', 'aria-disabled')).toBe('true')
    expect(operator).toContain('No runs yet')
  })
})

describe('the pipelines list', () => {
  it('lists each pipeline with its schedule, last run and whether it is enabled', async () => {
    const f = { q: 'et', limit: 50, cursor: '' }
    const asked = serve({ '/api/pipelines': { items: [PIPELINE, { ...PIPELINE, id: 'pipe-2', name: 'reports', enabled: false, schedule: null, last_run: null }], next_cursor: 'c2', total: 3 } })
    const html = await render(Pipelines, '/pipelines?q=et', '/pipelines', (qc) => qc.prefetchQuery({ queryKey: keys.pipelines(f), queryFn: () => endpoints.pipelines(f) }))
    expect(asked).toEqual(['/api/pipelines?q=et&limit=50'])
    expect(html).toContain('data-testid="pipeline-row-etl"')
    expect(attr(html, 'pipeline-last-etl', 'data-status')).toBe('failed')
    expect(attr(html, 'pipeline-enabled-reports', 'data-enabled')).toBe('false')
    expect(html).toContain('never ran')
    expect(html).toContain('0 2 * * *')
    expect(html).toContain('3 matching')
  })
})
