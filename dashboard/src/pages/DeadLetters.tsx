import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useSearchParams, Link } from 'react-router'
import { CheckCheck, RotateCcw } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage } from '../api/errors'
import { keys } from '../api/keys'
import type { DeadLetter } from '../api/types'
import { Pagination } from '../components/Pagination'
import { useToast } from '../components/Toasts'
import { Button, EmptyState, ErrorState, LoadingBlock, PageHeader, TimeAgo } from '../components/ui'
import { shortId } from '../lib/format'
import { useDocumentTitle } from '../lib/hooks'

const VIEWS = [
  { value: 'false', label: 'Unresolved' },
  { value: 'true', label: 'Resolved' },
]
const LIMIT = 50

function Row({ dl }: { dl: DeadLetter }) {
  const qc = useQueryClient()
  const toast = useToast()
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['dead-letters'] })
    void qc.invalidateQueries({ queryKey: ['runs'] })
    void qc.invalidateQueries({ queryKey: ['stats'] })
  }
  const replay = useMutation({
    mutationFn: () => endpoints.replayDeadLetter(dl.id),
    onSuccess: (run) => {
      toast.push({ tone: 'success', title: `Replaying ${dl.job_name}`, message: `Run ${shortId(run.id)} is ${run.status}.`, link: { to: `/runs/${run.id}`, label: 'View run' } })
      refresh()
    },
    onError: (e) => toast.error(`Could not replay ${dl.job_name}`, errorMessage(e)),
  })
  const resolve = useMutation({
    mutationFn: () => endpoints.resolveDeadLetter(dl.id),
    onSuccess: () => {
      toast.success(`Resolved ${dl.job_name}`, 'Marked as handled without running it again.')
      refresh()
    },
    onError: (e) => toast.error(`Could not resolve ${dl.job_name}`, errorMessage(e)),
  })
  const busy = replay.isPending || resolve.isPending
  const denied = useDenied()
  return (
    <tr data-testid={`dead-letter-${dl.id}`}>
      <td data-label="Job" className="cell-primary">
        <Link to={`/jobs/${encodeURIComponent(dl.job_id)}`} className="row-link">
          {dl.job_name}
        </Link>
        <span className="cell-sub">
          run{' '}
          <Link to={`/runs/${encodeURIComponent(dl.run_id)}`} className="mono">
            {shortId(dl.run_id)}
          </Link>
        </span>
      </td>
      <td data-label="Error" className="cell-error">
        <span className="mono error-line" title={dl.error ?? ''}>
          {(dl.error ?? '—').split('\n').filter(Boolean).pop()}
        </span>
      </td>
      <td data-label="Attempts" className="mono">
        {dl.attempts}
      </td>
      <td data-label="Failed">
        <TimeAgo iso={dl.created_at} past />
      </td>
      <td data-label="Resolution">{dl.resolved_at ? <span className="muted">{dl.resolution ?? 'resolved'} · <TimeAgo iso={dl.resolved_at} /></span> : <span className="pill pill-danger">open</span>}</td>
      <td className="cell-actions">
        {!dl.resolved_at && (
          <div className="row-actions">
            <Button size="sm" variant="primary" icon={<RotateCcw size={14} />} pending={replay.isPending} disabled={busy} onClick={() => replay.mutate()} data-testid={`replay-${dl.id}`} denied={denied('operate', 'replaying a run')}>
              Replay
            </Button>
            <Button size="sm" icon={<CheckCheck size={14} />} pending={resolve.isPending} disabled={busy} onClick={() => resolve.mutate()} data-testid={`resolve-${dl.id}`} denied={denied('operate', 'resolving a dead letter')}>
              Resolve
            </Button>
          </div>
        )}
      </td>
    </tr>
  )
}

export default function DeadLetters() {
  useDocumentTitle('Dead letters')
  const [params, setParams] = useSearchParams()
  const view = params.get('resolved') === 'true' ? 'true' : 'false'
  const offset = Math.max(0, Number(params.get('offset')) || 0)
  const query = useQuery({
    queryKey: keys.deadLetters(view, offset),
    queryFn: ({ signal }) => endpoints.deadLetters(view === 'true', { limit: LIMIT, offset }, signal),
    placeholderData: keepPreviousData,
  })
  const goto = (nextOffset: number) => {
    const p = new URLSearchParams(params)
    if (nextOffset > 0) p.set('offset', String(nextOffset))
    else p.delete('offset')
    setParams(p)
  }
  const list = query.data?.dead_letters
  return (
    <div className="page">
      <PageHeader title="Dead letters" subtitle="Runs that failed with no retries left. Replay one to run it again with the same idempotency key, or resolve it once handled." />
      <div className="filters">
        <div className="segmented" role="tablist" aria-label="Which dead letters">
          {VIEWS.map((v) => (
            <button key={v.value} type="button" role="tab" aria-selected={view === v.value} className={`segment${view === v.value ? ' active' : ''}`} onClick={() => setParams(v.value === 'false' ? {} : { resolved: v.value })}>
              {v.label}
              {v.value === view && query.data && <span className="segment-count">{query.data.total}</span>}
            </button>
          ))}
        </div>
      </div>
      <div className="card table-card">
        {query.error && !list ? (
          <ErrorState error={query.error} onRetry={() => void query.refetch()} />
        ) : !list ? (
          <LoadingBlock rows={6} />
        ) : list.length === 0 ? (
          <EmptyState title={view === 'false' ? 'Nothing in the dead-letter queue' : 'No dead letters'}>{view === 'false' ? 'Every failed run has been replayed or resolved.' : undefined}</EmptyState>
        ) : (
          <div className="table-scroll">
            <table className="table table-stack" data-testid="dead-letters-table">
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Error</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Resolution</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.map((dl) => (
                  <Row key={dl.id} dl={dl} />
                ))}
              </tbody>
            </table>
          </div>
        )}
        {list && query.data && (list.length > 0 || offset > 0) && (
          <Pagination
            page={Math.floor(offset / LIMIT)}
            limit={LIMIT}
            count={list.length}
            total={query.data.total}
            nextCursor={offset + list.length < query.data.total ? String(offset + LIMIT) : null}
            onNext={(next) => goto(Number(next))}
            onPrev={() => goto(Math.max(0, offset - LIMIT))}
            hasPrev={offset > 0}
            fetching={query.isFetching}
            noun="dead letters"
          />
        )}
      </div>
    </div>
  )
}
