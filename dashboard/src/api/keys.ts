import type { JobFilters, PipelineFilters, RunFilters } from './endpoints'
import { namespaceChoice } from '../lib/namespace'

// Query keys: the first element names the resource so live events can invalidate by prefix. Keys of
// what depends on the chosen namespace end with it, so two namespaces never share a cache entry.
const ns = () => namespaceChoice() ?? ''

export const keys = {
  whoami: ['whoami'] as const,
  namespaces: ['namespaces'] as const,
  stats: ['stats'] as const,
  jobs: (f?: JobFilters) => (f ? (['jobs', f, ns()] as const) : (['jobs'] as const)),
  job: (id?: string) => (id ? (['job', id, ns()] as const) : (['job'] as const)),
  jobRuns: (id?: string, f?: object) => (id ? (['job-runs', id, f ?? {}, ns()] as const) : (['job-runs'] as const)),
  runs: (f?: RunFilters) => (f ? (['runs', f, ns()] as const) : (['runs'] as const)),
  run: (id?: string) => (id ? (['run', id] as const) : (['run'] as const)),
  workers: ['workers'] as const,
  deadLetters: (resolved?: string, offset = 0) => (resolved !== undefined ? (['dead-letters', resolved, offset, ns()] as const) : (['dead-letters'] as const)),
  get dag() {
    return ['dag', ns()] as const
  },
  audit: (f?: object) => (f ? (['audit', f] as const) : (['audit'] as const)),
  events: (job?: string) => (job ? (['events', job, ns()] as const) : (['events'] as const)),
  preview: (schedule: string, tz: string, calendar = '', policy = '', namespace = '') =>
    ['schedule-preview', schedule, tz, calendar, policy, namespace] as const,
  calendars: (namespace?: string) => (namespace !== undefined ? (['calendars', namespace] as const) : (['calendars'] as const)),
  calendar: (name: string, namespace: string) => ['calendar', name, namespace] as const,
  pipelines: (f?: PipelineFilters) => (f ? (['pipelines', f, ns()] as const) : (['pipelines'] as const)),
  pipeline: (ref?: string) => (ref ? (['pipeline', ref, ns()] as const) : (['pipeline'] as const)),
  pipelineRuns: (ref?: string, f?: object) => (ref ? (['pipeline-runs', ref, f ?? {}, ns()] as const) : (['pipeline-runs'] as const)),
  pipelineRun: (id?: string) => (id ? (['pipeline-run', id] as const) : (['pipeline-run'] as const)),
  alerts: (f?: object) => (f ? (['alerts', f, ns()] as const) : (['alerts'] as const)),
  alertConfig: (what?: string) => (what ? (['alert-config', what, ns()] as const) : (['alert-config'] as const)),
}
