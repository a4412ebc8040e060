import { describe, expect, it } from 'vitest'
import { chunkOf } from './App'

describe('chunkOf', () => {
  it('names the chunk of the page each route shows, for the preload of a first visit', () => {
    const cases: [string, string | null][] = [
      ['/', 'Overview'],
      ['/jobs', 'Jobs'],
      ['/jobs/', 'Jobs'],
      ['/jobs/new', 'JobEditor'],
      ['/jobs/job-abc/edit', 'JobEditor'],
      ['/jobs/job-abc', 'JobDetail'],
      ['/runs', 'Runs'],
      ['/runs/run-abc', 'RunDetail'],
      ['/pipelines/nightly', 'PipelineDetail'],
      ['/pipeline-runs/prun-1', 'PipelineRunDetail'],
      ['/dead-letters', 'DeadLetters'],
      ['/dag', 'DagPage'],
      ['/no/such/page', null],
    ]
    for (const [path, want] of cases) {
      const load = chunkOf(path)
      expect(load === null ? null : load.toString().match(/pages\/(\w+)/)?.[1] ?? '?', path).toBe(want)
    }
  })
})
