import type { JobFilters, RunFilters } from './endpoints'

// Query keys: the first element names the resource so live events can invalidate by prefix.
export const keys = {
  whoami: ['whoami'] as const,
  stats: ['stats'] as const,
  jobs: (f?: JobFilters) => (f ? (['jobs', f] as const) : (['jobs'] as const)),
  job: (id?: string) => (id ? (['job', id] as const) : (['job'] as const)),
  jobRuns: (id?: string, f?: object) => (id ? (['job-runs', id, f ?? {}] as const) : (['job-runs'] as const)),
  runs: (f?: RunFilters) => (f ? (['runs', f] as const) : (['runs'] as const)),
  run: (id?: string) => (id ? (['run', id] as const) : (['run'] as const)),
  workers: ['workers'] as const,
  deadLetters: (resolved?: string, offset = 0) => (resolved !== undefined ? (['dead-letters', resolved, offset] as const) : (['dead-letters'] as const)),
  dag: ['dag'] as const,
  audit: (f?: object) => (f ? (['audit', f] as const) : (['audit'] as const)),
  events: (job?: string) => (job ? (['events', job] as const) : (['events'] as const)),
  preview: (schedule: string, tz: string) => ['schedule-preview', schedule, tz] as const,
}
