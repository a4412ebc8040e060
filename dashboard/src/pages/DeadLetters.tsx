import { useEffect, useMemo, useState } from 'react'
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query'
import { useSearchParams, Link } from 'react-router'
import { CheckCheck, RotateCcw } from 'lucide-react'
import { useDenied } from '../api/access'
import { endpoints } from '../api/endpoints'
import { errorMessage } from '../api/errors'
import { keys } from '../api/keys'
import { namespaceChoice } from '../lib/namespace'
import type { DeadLetter, DeadLetterGroup } from '../api/types'
import { BulkBar, BulkConfirm } from '../components/Bulk'
import { errorLine } from '../lib/errorSummary'
import { canWiden, deadLetterBulkBody, isSelected, NONE, selectedCount, toggle, togglePage, type Selection } from '../lib/selection'
import { Pagination } from '../components/Pagination'
import { JobLink } from '../components/RunsTable'
import { useToast } from '../components/Toasts'
import { Button, EmptyState, ErrorState, LoadingBlock, PageHeader, TimeAgo } from '../components/ui'
import { formatNumber, shortId } from '../lib/format'
import { useDocumentTitle } from '../lib/hooks'

const VIEWS = [
  { value: 'false', label: 'Unresolved' },
  { value: 'true', label: 'Resolved' },
]
const LIMIT = 50

function Row({ dl, selected, onToggle }: { dl: DeadLetter; selected?: boolean; onToggle?: () => void }) {
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
  const [asking, setAsking] = useState(false)
  const resolve = useMutation({
    mutationFn: (note: string) => endpoints.resolveDeadLetter(dl.id, note),
    onSuccess: () => {
      setAsking(false)
      toast.success(`Resolved ${dl.job_name}`, 'Marked as handled without running it again.')
      refresh()
    },
    onError: (e) => toast.error(`Could not resolve ${dl.job_name}`, errorMessage(e)),
  })
  const busy = replay.isPending || resolve.isPending
  const denied = useDenied()
  return (
    <tr data-testid={`dead-letter-${dl.id}`}>
      {onToggle && (
        <td className="cell-check">
          <input type="checkbox" checked={!!selected} onChange={onToggle} aria-label={`Select the dead letter of ${dl.job_name}, run ${shortId(dl.run_id)}`} data-testid={`select-${dl.id}`} />
        </td>
      )}
      <td data-label="Job" className="cell-primary">
        <DeadLetterJob dl={dl} />
        <span className="cell-sub">
          run{' '}
          <Link to={`/runs/${encodeURIComponent(dl.run_id)}`} className="mono">
            {shortId(dl.run_id)}
          </Link>
        </span>
      </td>
      <td data-label="Error" className="cell-error">
        <span className="mono error-line" title={dl.error ?? ''} data-testid={`dl-error-${dl.id}`}>
          {dl.error || dl.error_summary ? errorLine(dl) : '—'}
        </span>
      </td>
      <td data-label="Attempts" className="mono">
        {dl.attempts}
      </td>
      <td data-label="Failed">
        <TimeAgo iso={dl.created_at} past />
      </td>
      <td data-label="Resolution">
        {dl.resolved_at ? <span className="muted">{dl.resolution ?? 'resolved'} · <TimeAgo iso={dl.resolved_at} /></span> : <span className="pill pill-danger">open</span>}
        {dl.note && (
          <span className="cell-sub dl-note" title={dl.note} data-testid={`dl-note-${dl.id}`}>
            {dl.note}
          </span>
        )}
      </td>
      <td className="cell-actions">
        {!dl.resolved_at && (
          <div className="row-actions">
            <Button size="sm" variant="primary" icon={<RotateCcw size={14} />} pending={replay.isPending} disabled={busy} onClick={() => replay.mutate()} data-testid={`replay-${dl.id}`} denied={denied('operate', 'replaying a run', dl.namespace)}>
              Replay
            </Button>
            <Button size="sm" icon={<CheckCheck size={14} />} pending={resolve.isPending} disabled={busy} onClick={() => setAsking(true)} data-testid={`resolve-${dl.id}`} denied={denied('operate', 'resolving a dead letter', dl.namespace)}>
              Resolve
            </Button>
          </div>
        )}
        {asking && (
          <BulkConfirm
            open
            title={`Resolve the dead letter of ${dl.job_name}?`}
            confirmLabel="Resolve"
            withNote
            noteLabel="Note (optional: why, kept with the dead letter)"
            pending={resolve.isPending}
            onClose={() => setAsking(false)}
            onConfirm={(note) => resolve.mutate(note)}
            body={`Run ${shortId(dl.run_id)} leaves the queue as handled, without running again.`}
          />
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
  const total = query.data?.total ?? 0
  const open = view === 'false'
  const pageIds = useMemo(() => (list ?? []).filter((d) => !d.resolved_at).map((d) => d.id), [list])
  const [selection, setSelection] = useState<Selection>(NONE)
  const [confirm, setConfirm] = useState<null | { action: 'replay' | 'resolve'; sel: Selection; filter: { job?: string; error?: string }; count: number; what: string }>(null)
  const [grouped, setGrouped] = useState(false)
  useEffect(() => setSelection(NONE), [view, offset])
  const qc = useQueryClient()
  const toast = useToast()
  const denied = useDenied()
  const bulk = useMutation({
    mutationFn: (v: { action: 'replay' | 'resolve'; sel: Selection; filter: { job?: string; error?: string }; note: string }) => endpoints.deadLettersBulk(deadLetterBulkBody(v.action, v.sel, v.filter, v.note)),
    onSuccess: (r, v) => {
      setConfirm(null)
      setSelection(NONE)
      void qc.invalidateQueries({ queryKey: ['dead-letters'] })
      void qc.invalidateQueries({ queryKey: ['runs'] })
      void qc.invalidateQueries({ queryKey: ['stats'] })
      toast.success(`${v.action === 'replay' ? 'Replayed' : 'Resolved'} ${formatNumber(r.count)} dead letter${r.count === 1 ? '' : 's'}`)
    },
    onError: (e) => toast.error('The bulk action failed', errorMessage(e)),
  })
  const count = selectedCount(selection, total)
  const ask = (action: 'replay' | 'resolve', sel: Selection, filter: { job?: string; error?: string }, n: number, what: string) => setConfirm({ action, sel, filter, count: n, what })
  return (
    <div className="page">
      <PageHeader title="Dead letters" subtitle="Runs that failed with no retries left. Replay one to run it again with the same idempotency key, or resolve it once handled." />
      <div className="filters">
        {open && (
          <label className="check-label">
            <input type="checkbox" checked={grouped} onChange={(e) => setGrouped(e.target.checked)} data-testid="group-toggle" /> Group by job and error
          </label>
        )}
        <div className="segmented" role="tablist" aria-label="Which dead letters">
          {VIEWS.map((v) => (
            <button key={v.value} type="button" role="tab" aria-selected={view === v.value} className={`segment${view === v.value ? ' active' : ''}`} onClick={() => setParams(v.value === 'false' ? {} : { resolved: v.value })}>
              {v.label}
              {v.value === view && query.data && <span className="segment-count">{query.data.total}</span>}
            </button>
          ))}
        </div>
      </div>
      {confirm && (
        <BulkConfirm
          open
          title={`${confirm.action === 'replay' ? 'Replay' : 'Resolve'} ${formatNumber(confirm.count)} dead letter${confirm.count === 1 ? '' : 's'}?`}
          confirmLabel={`${confirm.action === 'replay' ? 'Replay' : 'Resolve'} ${formatNumber(confirm.count)}`}
          withNote={confirm.action === 'resolve'}
          pending={bulk.isPending}
          onClose={() => setConfirm(null)}
          onConfirm={(note) => bulk.mutate({ action: confirm.action, sel: confirm.sel, filter: confirm.filter, note })}
          body={
            confirm.action === 'replay'
              ? `Each of the ${formatNumber(confirm.count)} ${confirm.what} runs again as a new run with its original idempotency key; all of them or none are queued.`
              : `The ${formatNumber(confirm.count)} ${confirm.what} leave the queue as handled, without running again.`
          }
        />
      )}
      {open && grouped ? (
        <Groups onAsk={(action, g) => ask(action, { kind: 'matching' }, { job: g.job_id, error: g.error_summary ?? undefined }, g.count, `dead letters of ${g.job_name} with this error`)} />
      ) : (
      <div className="card table-card">
        {open && list && (
          <BulkBar count={count} total={total} noun="dead letters" widen={canWiden(selection, pageIds, total)} onWiden={() => setSelection({ kind: 'matching' })} onClear={() => setSelection(NONE)}>
            <Button size="sm" variant="primary" icon={<RotateCcw size={14} />} onClick={() => ask('replay', selection, {}, count, 'selected dead letters')} data-testid="bulk-replay" denied={denied('operate', 'replaying runs')}>
              Replay {formatNumber(count)}
            </Button>
            <Button size="sm" icon={<CheckCheck size={14} />} onClick={() => ask('resolve', selection, {}, count, 'selected dead letters')} data-testid="bulk-resolve" denied={denied('operate', 'resolving dead letters')}>
              Resolve {formatNumber(count)}
            </Button>
          </BulkBar>
        )}
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
                  {open && (
                    <th scope="col" className="cell-check">
                      <input type="checkbox" checked={pageIds.length > 0 && pageIds.every((id) => isSelected(selection, id))} onChange={() => setSelection((s) => togglePage(s, pageIds))} aria-label="Select every dead letter on this page" data-testid="select-page" />
                    </th>
                  )}
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
                  <Row key={dl.id} dl={dl} selected={isSelected(selection, dl.id)} onToggle={open ? () => setSelection((s) => toggle(s, dl.id, pageIds)) : undefined} />
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
      )}
    </div>
  )
}

/** Dead letters by job and error (GET /api/dead-letters/groups): one flaky job's 30 in one row. */
function Groups({ onAsk }: { onAsk: (action: 'replay' | 'resolve', g: DeadLetterGroup) => void }) {
  const groups = useQuery({ queryKey: [...keys.deadLetters(), 'groups', namespaceChoice()], queryFn: ({ signal }) => endpoints.deadLetterGroups(signal) })
  const denied = useDenied()
  return (
    <div className="card table-card">
      {groups.error ? (
        <ErrorState error={groups.error} onRetry={() => void groups.refetch()} />
      ) : !groups.data ? (
        <LoadingBlock rows={4} />
      ) : groups.data.items.length === 0 ? (
        <EmptyState title="Nothing in the dead-letter queue" />
      ) : (
        <div className="table-scroll">
          <table className="table table-stack" data-testid="dead-letter-groups">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Error</th>
                <th scope="col">Dead letters</th>
                <th scope="col">Latest</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {groups.data.items.map((g) => (
                <tr key={`${g.job_id}|${g.error_summary ?? ''}`}>
                  <td data-label="Job" className="cell-primary">
                    <Link to={`/jobs/${encodeURIComponent(g.job_id)}`} className="row-link">
                      {g.job_name}
                    </Link>
                  </td>
                  <td data-label="Error" className="cell-error">
                    <span className="mono error-line">{g.error_summary ?? '—'}</span>
                  </td>
                  <td data-label="Dead letters" className="mono">
                    {formatNumber(g.count)}
                  </td>
                  <td data-label="Latest">
                    <TimeAgo iso={g.latest_at} past />
                  </td>
                  <td className="cell-actions">
                    <div className="row-actions">
                      <Button size="sm" variant="primary" icon={<RotateCcw size={14} />} onClick={() => onAsk('replay', g)} denied={denied('operate', 'replaying runs')}>
                        Replay {formatNumber(g.count)}
                      </Button>
                      <Button size="sm" icon={<CheckCheck size={14} />} onClick={() => onAsk('resolve', g)} denied={denied('operate', 'resolving dead letters')}>
                        Resolve {formatNumber(g.count)}
                      </Button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  )
}

/** A dead letter's job: a link to it, or the one-off marker of a one-off run's. */
function DeadLetterJob({ dl }: { dl: DeadLetter }) {
  return <JobLink run={{ id: dl.run_id, job_id: dl.job_id, job_name: dl.job_name, one_off: dl.one_off }} className="row-link" />
}
