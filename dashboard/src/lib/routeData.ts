import type { QueryClient } from '@tanstack/react-query'
import { endpoints, type JobFilters, type RunFilters } from '../api/endpoints'
import { keys } from '../api/keys'
import { resolveTime } from './format'
import { pipelineFiltersFrom } from './pipelineRoutes'

export const LIST_LIMIT = 50

export const PAGE_SIZES = [25, 50, 100, 200]

/** The page size the URL asks for (`?limit=`), one of PAGE_SIZES. */
export function pageSize(params: URLSearchParams): number {
  const n = Number(params.get('limit'))
  return PAGE_SIZES.includes(n) ? n : LIST_LIMIT
}

/** The job list's filters as the URL gives them (the Jobs page and its prefetch share this). */
export function jobFiltersFrom(params: URLSearchParams): JobFilters {
  return {
    q: params.get('q') ?? '',
    status: params.get('status') ?? '',
    tag: params.get('tag') ?? '',
    schedule_type: params.get('schedule_type') ?? '',
    limit: LIST_LIMIT,
    cursor: params.get('cursor') ?? '',
  }
}

/** The run list's filters as the URL gives them. */
export function runFiltersFrom(params: URLSearchParams): RunFilters {
  return {
    status: params.get('status') ?? '',
    job: params.get('job') ?? '',
    since: params.get('since') ?? '',
    until: params.get('until') ?? '',
    limit: pageSize(params),
    cursor: params.get('cursor') ?? '',
    sort: params.get('sort') ?? '',
    order: params.get('order') ?? '',
  }
}

/** The run list with relative times (`since=-24h`, `today`) made absolute at the moment of asking. */
export function fetchRuns(f: RunFilters, signal?: AbortSignal) {
  return endpoints.runs({ ...f, since: resolveTime(f.since), until: resolveTime(f.until) }, signal)
}

/**
 * Starts the main query of the page at `pathname` while the page's own code is still loading
 * (pages are split into chunks): the answer and the chunk travel side by side, not one after
 * the other. The page's useQuery then finds the request on its way, with the same key.
 */
export function prefetchRoute(qc: QueryClient, pathname: string, search: string): void {
  const params = new URLSearchParams(search)
  const job = /^\/jobs\/([^/]+)$/.exec(pathname)
  const pipelineRun = /^\/pipeline-runs\/([^/]+)$/.exec(pathname)
  if (pathname === '/jobs') {
    const f = jobFiltersFrom(params)
    void qc.prefetchQuery({ queryKey: keys.jobs(f), queryFn: ({ signal }) => endpoints.jobs(f, signal) })
  } else if (pathname === '/runs') {
    const f = runFiltersFrom(params)
    void qc.prefetchQuery({ queryKey: keys.runs(f), queryFn: ({ signal }) => fetchRuns(f, signal) })
  } else if (pathname === '/pipelines') {
    const f = pipelineFiltersFrom(params)
    void qc.prefetchQuery({ queryKey: keys.pipelines(f), queryFn: ({ signal }) => endpoints.pipelines(f, signal) })
  } else if (pipelineRun) {
    const id = decodeURIComponent(pipelineRun[1] as string)
    void qc.prefetchQuery({ queryKey: keys.pipelineRun(id), queryFn: ({ signal }) => endpoints.pipelineRun(id, signal) })
  } else if (job && job[1] !== 'new') {
    const id = decodeURIComponent(job[1] as string)
    void qc.prefetchQuery({ queryKey: keys.job(id), queryFn: ({ signal }) => endpoints.job(id, signal) })
  }
}
