import type { PipelineFilters } from '../api/endpoints'

export const PIPELINE_LIMIT = 50

/** The pipeline list's filters as the URL gives them (the page and its prefetch share this). */
export function pipelineFiltersFrom(params: URLSearchParams): PipelineFilters {
  return { q: params.get('q') ?? '', limit: PIPELINE_LIMIT, cursor: params.get('cursor') ?? '' }
}

/** A pipeline's page, by id (unique across namespaces). */
export function pipelineLink(pipeline: { id: string }): string {
  return `/pipelines/${encodeURIComponent(pipeline.id)}`
}

export function pipelineRunLink(id: string): string {
  return `/pipeline-runs/${encodeURIComponent(id)}`
}
