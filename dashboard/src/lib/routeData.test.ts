import { describe, expect, it } from 'vitest'
import { QueryClient } from '@tanstack/react-query'
import { keys } from '../api/keys'
import { pipelineFiltersFrom } from './pipelineRoutes'
import { jobFiltersFrom, prefetchRoute, runFiltersFrom } from './routeData'

describe('prefetchRoute', () => {
  const started = (path: string, search = '') => {
    const qc = new QueryClient()
    const urls: string[] = []
    const realFetch = globalThis.fetch
    globalThis.fetch = ((url: string) => {
      urls.push(String(url))
      return new Promise(() => {})
    }) as typeof fetch
    try {
      prefetchRoute(qc, path, search)
    } finally {
      globalThis.fetch = realFetch
    }
    return { qc, keys: qc.getQueryCache().getAll().map((q) => q.queryKey) }
  }

  it('starts the job list under the key the Jobs page asks for', () => {
    const { keys: k } = started('/jobs', '?status=failed&q=etl')
    expect(k).toEqual([keys.jobs(jobFiltersFrom(new URLSearchParams('status=failed&q=etl')))])
  })
  it('starts the run list and a job page', () => {
    expect(started('/runs', '?job=x').keys).toEqual([keys.runs(runFiltersFrom(new URLSearchParams('job=x')))])
    expect(started('/jobs/etl%2Fload').keys).toEqual([keys.job('etl/load')])
  })
  it('starts the pipeline list and a pipeline run page', () => {
    expect(started('/pipelines', '?q=etl').keys).toEqual([keys.pipelines(pipelineFiltersFrom(new URLSearchParams('q=etl')))])
    expect(started('/pipeline-runs/prun-1').keys).toEqual([keys.pipelineRun('prun-1')])
  })
  it('leaves other pages alone', () => {
    expect(started('/jobs/new').keys).toEqual([])
    expect(started('/').keys).toEqual([])
  })
})
