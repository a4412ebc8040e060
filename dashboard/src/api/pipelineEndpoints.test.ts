import { afterEach, describe, expect, it } from 'vitest'
import { endpoints } from './endpoints'

// The pipeline pages' requests, against a fetch that records them (the API's contract, issue 11 §2).
const calls: { url: string; method: string }[] = []
const realFetch = globalThis.fetch

function answer(body: unknown, status = 200) {
  globalThis.fetch = (async (url: string, init?: RequestInit) => {
    calls.push({ url: String(url), method: init?.method ?? 'GET' })
    return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
  }) as typeof fetch
}

afterEach(() => {
  globalThis.fetch = realFetch
  calls.length = 0
})

describe('pipeline endpoints', () => {
  it('list pipelines with search and a cursor', async () => {
    answer({ items: [], next_cursor: null, total: 0 })
    const list = await endpoints.pipelines({ q: 'etl', limit: 50, cursor: 'abc' })
    expect(list.total).toBe(0)
    expect(calls).toEqual([{ url: '/api/pipelines?q=etl&limit=50&cursor=abc', method: 'GET' }])
  })
  it('act on a pipeline in its own namespace', async () => {
    answer({ id: 'prun-1', status: 'queued', tasks: [] }, 201)
    const run = await endpoints.triggerPipeline('etl', 'team-a')
    expect(run.id).toBe('prun-1')
    await endpoints.pausePipeline('etl', 'team-a')
    await endpoints.resumePipeline('etl', 'team-a')
    await endpoints.deletePipeline('etl/x', 'team-a')
    await endpoints.pipelineRuns('etl', { status: 'failed', limit: 20 }, 'team-a')
    expect(calls).toEqual([
      { url: '/api/pipelines/etl/trigger?namespace=team-a', method: 'POST' },
      { url: '/api/pipelines/etl/pause?namespace=team-a', method: 'POST' },
      { url: '/api/pipelines/etl/resume?namespace=team-a', method: 'POST' },
      { url: '/api/pipelines/etl%2Fx?namespace=team-a', method: 'DELETE' },
      { url: '/api/pipelines/etl/runs?namespace=team-a&status=failed&limit=20', method: 'GET' },
    ])
  })
  it('read, cancel and retry a pipeline run', async () => {
    answer({ id: 'prun-1', status: 'running', tasks: [] })
    await endpoints.pipelineRun('prun-1')
    await endpoints.cancelPipelineRun('prun-1')
    await endpoints.retryPipelineRun('prun-1')
    expect(calls.map((c) => `${c.method} ${c.url}`)).toEqual(['GET /api/pipeline-runs/prun-1', 'POST /api/pipeline-runs/prun-1/cancel', 'POST /api/pipeline-runs/prun-1/retry'])
  })
  it('turn a refusal into an error with the server message', async () => {
    answer({ error: { code: 'conflict', message: 'the pipeline run has no failed task' } }, 409)
    await expect(endpoints.retryPipelineRun('prun-1')).rejects.toMatchObject({ status: 409, message: 'the pipeline run has no failed task' })
  })
})
