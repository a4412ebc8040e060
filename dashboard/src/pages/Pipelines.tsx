import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { Link, useNavigate } from 'react-router'
import { Play, Workflow } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage } from '../api/errors'
import { keys } from '../api/keys'
import type { Pipeline } from '../api/pipelineTypes'
import { DebouncedInput, useFilterParams } from '../components/Filters'
import { NamespaceBadge, useAllNamespaces } from '../components/NamespaceSwitch'
import { Pagination, useCursorPagination } from '../components/Pagination'
import { useToast } from '../components/Toasts'
import { Button, EmptyState, ErrorState, LoadingBlock, PageHeader, StatusBadge, TimeAgo } from '../components/ui'
import { formatTotal, shortId } from '../lib/format'
import { useDocumentTitle } from '../lib/hooks'
import { countsText } from '../lib/pipeline'
import { pipelineFiltersFrom, pipelineLink, pipelineRunLink } from '../lib/pipelineRoutes'
import { rowClickProps } from '../lib/rowClick'
import '../components/pipelines.css'

function TriggerCell({ pipeline }: { pipeline: Pipeline }) {
  const toast = useToast()
  const denied = useDenied()
  const qc = useQueryClient()
  const m = useMutation({
    mutationFn: () => endpoints.triggerPipeline(pipeline.id, pipeline.namespace),
    onSuccess: (r) => {
      toast.push(
        r.created === false
          ? { tone: 'info', title: `${pipeline.name} is already ${r.status}`, message: 'Its overlap policy returned the active pipeline run.', link: { to: pipelineRunLink(r.id), label: 'View pipeline run' } }
          : { tone: 'success', title: `Triggered ${pipeline.name}`, message: `Pipeline run ${shortId(r.id)} is ${r.status}.`, link: { to: pipelineRunLink(r.id), label: 'View pipeline run' } },
      )
      void qc.invalidateQueries({ queryKey: ['pipelines'] })
    },
    onError: (e) => toast.error(`Could not trigger ${pipeline.name}`, errorMessage(e)),
  })
  return (
    <Button size="sm" variant="ghost" icon={<Play size={14} />} pending={m.isPending} onClick={() => m.mutate()} aria-label={`Run ${pipeline.name} now`} data-testid={`pipeline-trigger-${pipeline.name}`} denied={denied('operate', 'triggering', pipeline.namespace)}>
      Run
    </Button>
  )
}

function LastRun({ pipeline }: { pipeline: Pipeline }) {
  const last = pipeline.last_run
  if (!last) return <span className="muted">never ran</span>
  const counts = countsText(last.task_counts)
  return (
    <span className="name-text">
      <Link to={pipelineRunLink(last.id)} className="plain-link inline-flex" aria-label={`Last run: ${last.status}${counts ? `, ${counts}` : ''}`}>
        <StatusBadge status={last.status} size="sm" testId={`pipeline-last-${pipeline.name}`} />
      </Link>
      <span className="cell-sub">
        {counts && <>{counts} · </>}
        <TimeAgo iso={last.finished_at ?? last.started_at ?? last.queued_at} past />
      </span>
    </span>
  )
}

export default function Pipelines() {
  useDocumentTitle('Pipelines')
  const { params, set, clear } = useFilterParams()
  const pager = useCursorPagination()
  const filters = pipelineFiltersFrom(params)
  const query = useQuery({
    queryKey: keys.pipelines(filters),
    queryFn: ({ signal }) => endpoints.pipelines(filters, signal),
    placeholderData: keepPreviousData,
  })
  const filtered = !!filters.q
  const items = query.data?.items
  const navigate = useNavigate()
  const allNs = useAllNamespaces()

  return (
    <div className="page">
      <PageHeader
        title="Pipelines"
        subtitle={query.data ? `${formatTotal(query.data.total, query.data.total_exact)} ${filtered ? 'matching' : 'defined'}` : 'Groups of tasks defined, triggered and watched as one unit.'}
      />
      <div className="filters" role="search" aria-label="Filter pipelines">
        <DebouncedInput id="pipeline-search" label="Search pipelines by name" placeholder="Search by name…" value={filters.q ?? ''} onCommit={(v) => set({ q: v }, true)} testId="pipeline-search" />
        {filtered && (
          <Button variant="ghost" size="sm" onClick={() => clear(['q'])}>
            Clear search
          </Button>
        )}
      </div>

      <div className="card table-card">
        {query.error && !items ? (
          <ErrorState error={query.error} onRetry={() => void query.refetch()} />
        ) : !items ? (
          <LoadingBlock rows={6} />
        ) : items.length === 0 ? (
          filtered ? (
            <EmptyState title="No pipelines match this search">Try another name or clear the search.</EmptyState>
          ) : (
            <EmptyState title="No pipelines yet" icon={<Workflow size={28} />}>
              Define one with <code>POST /api/pipelines</code> or <code>tickwork apply -f pipeline.yaml</code>.
            </EmptyState>
          )
        ) : (
          <div className="table-scroll">
            <table className="table table-stack" data-testid="pipelines-table" aria-busy={query.isFetching}>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  {allNs && <th scope="col">Namespace</th>}
                  <th scope="col">Schedule</th>
                  <th scope="col">Next run</th>
                  <th scope="col">Last run</th>
                  <th scope="col">Enabled</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {items.map((p) => (
                  <tr key={p.id} data-testid={`pipeline-row-${p.name}`} {...rowClickProps(navigate, pipelineLink(p), p.enabled ? undefined : 'row-disabled')}>
                    <td data-label="Name" className="cell-primary">
                      <div className="name-text">
                        <Link to={pipelineLink(p)} className="row-link">
                          {p.name}
                        </Link>
                        <span className="cell-sub">
                          {p.tasks.length} task{p.tasks.length === 1 ? '' : 's'}
                          {p.description ? ` · ${p.description}` : ''}
                        </span>
                      </div>
                    </td>
                    {allNs && (
                      <td data-label="Namespace">
                        <NamespaceBadge namespace={p.namespace} />
                      </td>
                    )}
                    <td data-label="Schedule">
                      {p.schedule ? (
                        <span className="schedule-cell pipelines-schedule">
                          <code className="mono">{p.schedule}</code>
                          {p.calendar && <span className="pill" title={`calendar ${p.calendar}`}>{p.calendar}</span>}
                        </span>
                      ) : (
                        <span className="muted">manual</span>
                      )}
                    </td>
                    <td data-label="Next run">{p.enabled ? <TimeAgo iso={p.next_run} /> : <span className="muted">paused</span>}</td>
                    <td data-label="Last run">
                      <LastRun pipeline={p} />
                    </td>
                    <td data-label="Enabled">
                      <span className={`badge badge-sm badge-${p.enabled ? 'success' : 'neutral'}`} data-testid={`pipeline-enabled-${p.name}`} data-enabled={p.enabled}>
                        <span className="badge-dot" aria-hidden />
                        {p.enabled ? 'Enabled' : 'Paused'}
                      </span>
                    </td>
                    <td className="cell-actions">
                      <TriggerCell pipeline={p} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {items && (items.length > 0 || pager.hasPrev) && (
          <Pagination
            page={pager.page}
            limit={filters.limit ?? 50}
            count={items.length}
            total={query.data?.total}
            nextCursor={query.data?.next_cursor}
            onNext={pager.next}
            onPrev={pager.prev}
            hasPrev={pager.hasPrev}
            fetching={query.isFetching}
            exact={pager.exact}
            noun="pipelines"
          />
        )}
      </div>
    </div>
  )
}
